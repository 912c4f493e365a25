import t from 'tap';
import { PageCache } from '../../../netfs/index.js';

const KiB = 1024;

t.test('constructor checks', async (t) => {
  t.throws(() => new PageCache({ maxBytes: 1024, folioSize: 3000 }));
  t.throws(() => new PageCache({ maxBytes: 0 }));
  t.equal(new PageCache({ maxBytes: 1 << 20 }).folioSize, 256 * KiB, 'default folio size');
});

t.test('lock, fill, lookup; hits, misses and waits', async (t) => {
  const c = new PageCache({ maxBytes: 64 * KiB, folioSize: 4 * KiB });
  t.equal(c.lookup('a', 0), undefined);
  const f = c.lockNew('a', 0);
  t.equal(f.state, 'locked');
  t.equal(f.start, 0);
  t.throws(() => c.lockNew('a', 0), 'a folio cannot be locked twice');
  t.equal(c.lookup('a', 0), f, 'a locked folio is found');
  let woke = false;
  const w = f.wait().then(() => (woke = true));
  await Promise.resolve();
  t.equal(woke, false, 'waiters sleep while locked');
  f.buf.fill(1);
  c.markUptodate(f);
  await w;
  t.equal(woke, true);
  t.equal(c.lookup('a', 0)?.state, 'uptodate');
  t.equal(c.lookup('b', 0), undefined, 'files are separate');
  t.match(c.stats(), { hits: 1, misses: 2, waits: 1, folios: 1, bytes: 4 * KiB, lockedBytes: 0 });
});

t.test('failed folios are dropped and wake waiters', async (t) => {
  const c = new PageCache({ maxBytes: 64 * KiB, folioSize: 4 * KiB });
  const f = c.lockNew('a', 1);
  const w = f.wait();
  c.markFailed(f, -5);
  await w;
  t.equal(f.state, 'failed');
  t.equal(f.error, -5);
  t.equal(c.peek('a', 1), undefined);
  t.equal(c.stats().lockedBytes, 0);
  t.ok(c.lockNew('a', 1), 'can be locked again');
});

t.test('eviction keeps within maxBytes and never drops locked folios', async (t) => {
  const c = new PageCache({ maxBytes: 16 * KiB, folioSize: 4 * KiB });
  const locked = [c.lockNew('a', 100), c.lockNew('a', 101)];
  for (let i = 0; i < 20; i++) {
    c.markUptodate(c.lockNew('a', i));
    t.ok(c.stats().bytes <= 16 * KiB, `within budget after folio ${i}`);
  }
  t.equal(c.stats().folios, 2, 'locked bytes count against the budget');
  t.equal(c.peek('a', 100), locked[0], 'locked folio survives eviction');
  t.ok(c.stats().evictions >= 18);
  for (const f of locked) c.markUptodate(f);
  t.ok(c.stats().bytes <= 16 * KiB);
  t.equal(c.peek('a', 101)?.state, 'uptodate');
});

t.test('LRU order: recently looked-up folios stay', async (t) => {
  const c = new PageCache({ maxBytes: 12 * KiB, folioSize: 4 * KiB });
  for (let i = 0; i < 3; i++) c.markUptodate(c.lockNew('a', i));
  c.lookup('a', 0);
  c.markUptodate(c.lockNew('a', 3));
  t.ok(c.peek('a', 0), 'folio 0 was used recently');
  t.equal(c.peek('a', 1), undefined, 'folio 1 was least recent');
});

t.test('pinned folios are not recycled; unpinned ones are', async (t) => {
  const c = new PageCache({ maxBytes: 8 * KiB, folioSize: 4 * KiB });
  const a = c.lockNew('a', 0);
  a.buf.fill(0xaa);
  c.markUptodate(a);
  c.pin(a);
  const b = c.lockNew('a', 1);
  c.markUptodate(b);
  const n = c.lockNew('a', 2); // evicts a (pinned)
  t.not(n.buf, a.buf, 'pinned buffer not reused');
  t.ok(a.buf.every((x) => x === 0xaa), 'pinned contents intact');
  c.unpin(a);
  c.markUptodate(n);
  const m = c.lockNew('a', 3); // evicts b (unpinned)
  t.equal(m.buf, b.buf, 'unpinned buffer reused');
  t.equal(c.stats().recycled, 1);
});

t.test('invalidateFile and invalidateFrom', async (t) => {
  const c = new PageCache({ maxBytes: 64 * KiB, folioSize: 4 * KiB });
  for (let i = 0; i < 4; i++) {
    c.markUptodate(c.lockNew('a', i));
    c.markUptodate(c.lockNew('b', i));
  }
  const inflight = c.lockNew('a', 9);
  c.invalidateFrom('a', 2);
  t.ok(c.peek('a', 1));
  t.equal(c.peek('a', 2), undefined);
  t.equal(c.peek('a', 9), undefined, 'locked folio detached');
  const again = c.lockNew('a', 9);
  c.markUptodate(inflight);
  t.equal(inflight.state, 'uptodate', 'detached fill completes for its waiters');
  t.equal(c.peek('a', 9), again, 'but does not replace the new lock');
  c.markUptodate(again);
  c.invalidateFile('a');
  t.equal(c.peek('a', 0), undefined);
  t.equal(c.peek('a', 9), undefined);
  t.ok(c.peek('b', 3), 'other files untouched');
  t.equal(c.stats().folios, 4);
  t.equal(c.stats().lockedBytes, 0);
});

// Lent reads: the cached bytes handed out as views of the folios' own
// buffers (lendNow, readLent), pinned until release(): a buffer that is lent
// is never reused for other bytes, even when its folio is dropped meanwhile.
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { FakeReadOps, pseudoRandomBytes, type FakeOpsOptions as FakeReadOptions } from '../../helpers/fake-ops.js';

const KiB = 1024;
const FOLIO = 64 * KiB;

function reader(size: number, maxBytes = 16 * FOLIO, action?: FakeReadOptions['action']) {
  const data = pseudoRandomBytes(size, 7);
  const ops = new FakeReadOps({ data, rsize: 4 * FOLIO, timing: 'immediate', ...(action ? { action } : {}) });
  const cache = new PageCache({ maxBytes, folioSize: FOLIO });
  const inode = new NetfsInode({ key: 'f', size, ops, cache, readaheadMax: 0 });
  return { data, ops, cache, inode };
}

const joined = (pieces: readonly Buffer[]) => Buffer.concat([...pieces]);

t.test('readLent waits for the folios and lends their bytes across folio boundaries', async (t) => {
  const s = reader(5 * FOLIO);
  const pos = FOLIO - 1000;
  const lent = await s.inode.readLent(pos, 2 * FOLIO);
  t.equal(lent.bytes, 2 * FOLIO);
  t.equal(lent.pieces.length, 3, 'one piece per folio');
  t.ok(joined(lent.pieces).equals(s.data.subarray(pos, pos + lent.bytes)), 'the file bytes, in order');
  const f = s.cache.peek('f', 1)!;
  t.equal(f.pins, 1, 'pinned while lent');
  t.equal(lent.pieces[1]!.buffer, f.buf.buffer, 'a view of the folio, not a copy');
  lent.release();
  lent.release();
  t.equal(f.pins, 0, 'released once, however often called');
});

t.test('lendNow lends what is cached, and only that', async (t) => {
  const s = reader(3 * FOLIO + 500);
  t.equal(s.inode.lendNow(0, FOLIO), null, 'nothing cached: read() must do it');
  (await s.inode.readLent(0, 3 * FOLIO + 500)).release();
  const lent = s.inode.lendNow(3 * FOLIO, FOLIO)!;
  t.equal(lent.bytes, 500, 'clamped to the file size');
  t.ok(joined(lent.pieces).equals(s.data.subarray(3 * FOLIO)));
  lent.release();
  const eof = s.inode.lendNow(3 * FOLIO + 500, 10)!;
  t.equal(eof.bytes, 0, 'at EOF: nothing, and nothing pinned');
  t.same(eof.pieces, []);
});

t.test('a lent folio dropped from the cache keeps its bytes: its buffer is not reused', async (t) => {
  const s = reader(4 * FOLIO, 2 * FOLIO); // room for two folios
  (await s.inode.readLent(0, FOLIO)).release();
  const lent = s.inode.lendNow(0, FOLIO)!;
  const lentBuf = lent.pieces[0]!.buffer;
  // Reading the rest evicts folio 0 (the cache holds two); unpinned, its buffer would be recycled.
  for (let i = 1; i < 4; i++) (await s.inode.readLent(i * FOLIO, FOLIO)).release();
  t.equal(s.cache.peek('f', 0), undefined, 'folio 0 was evicted');
  for (let i = 1; i < 4; i++) {
    const f = s.cache.peek('f', i);
    if (f) t.not(f.buf.buffer, lentBuf, `folio ${i} got a buffer of its own`);
  }
  t.ok(joined(lent.pieces).equals(s.data.subarray(0, FOLIO)), 'the lent bytes are unchanged');
  lent.release();
  (await s.inode.readLent(0, FOLIO)).release();
  t.ok(s.cache.stats().recycled > 0, 'released buffers are recycled again');
});

t.test('read() still copies, and unpins at once', async (t) => {
  const s = reader(2 * FOLIO);
  const dst = Buffer.alloc(FOLIO + 10);
  t.equal(await s.inode.read(FOLIO - 5, dst.length, dst), FOLIO + 5);
  t.ok(dst.subarray(0, FOLIO + 5).equals(s.data.subarray(FOLIO - 5)));
  t.equal(s.cache.peek('f', 0)!.pins + s.cache.peek('f', 1)!.pins, 0);
  const now = Buffer.alloc(100);
  t.equal(s.inode.readNow(10, 100, now), 100);
  t.ok(now.equals(s.data.subarray(10, 110)));
  t.equal(s.cache.peek('f', 0)!.pins, 0);
});

t.test('a failed read lends nothing and leaves nothing pinned', async (t) => {
  const s = reader(2 * FOLIO, 16 * FOLIO, () => ({ kind: 'fail', error: -5 }));
  await t.rejects(s.inode.readLent(0, FOLIO));
  const f = s.cache.peek('f', 0);
  t.equal(f?.pins ?? 0, 0);
});

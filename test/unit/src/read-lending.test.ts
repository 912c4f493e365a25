/**
 * Lent READ answers (read-lending.ts): the table shared with the binding, and
 * the read handler over the in-memory tree. The test plays the binding: it
 * takes the pieces a read answers with and marks the slot SENT when it has
 * "written" them; until then the folios stay pinned.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { SmbFs } from '../../../src/fs.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { LentReads, SLOT_FREE, SLOT_LENT, SLOT_SENT, SWEEP_MS } from '../../../src/read-lending.js';
import { FakeTree } from '../../helpers/fake-tree.js';

const FOLIO = 65536;

function lent(bytes = 1) {
  const l = { bytes, pieces: [Buffer.alloc(bytes)], released: 0, release: () => void l.released++ };
  return l;
}

t.test('the table: a slot per answer, freed by a sweep once the binding marked it SENT', async (t) => {
  const lr = new LentReads(Buffer.alloc(3 * 4));
  const words = new Int32Array(lr.table.buffer, lr.table.byteOffset, 3);
  const a = lent();
  const b = lent();
  const sa = lr.lend(a);
  const sb = lr.lend(b);
  t.not(sa, sb);
  t.equal(words[sa], SLOT_LENT);
  t.equal(lr.pending, 2);
  lr.sweep();
  t.equal(a.released + b.released, 0, 'nothing released before the binding wrote it');
  words[sb] = SLOT_SENT;
  lr.sweep();
  t.equal(b.released, 1, 'the sent one is released');
  t.equal(a.released, 0);
  t.equal(words[sb], SLOT_FREE);
  t.same(lr.stats(), { answers: 2, pending: 1 });
  const c = lent();
  const d = lent();
  t.ok(lr.lend(c) >= 0 && lr.lend(d) >= 0);
  t.notOk(lr.canLend, 'all three slots taken');
  t.equal(lr.lend(lent()), -1, 'none free: the caller copies');
  t.throws(() => new LentReads(Buffer.alloc(6)), 'whole words only');
  for (let i = 0; i < 3; i++) words[i] = SLOT_SENT;
  await new Promise((r) => setTimeout(r, 3 * SWEEP_MS));
  t.equal(a.released + c.released + d.released, 3, 'answers still out are released by the timer, with no read to sweep');
  t.equal(lr.pending, 0);
});

function setup(slots = 4) {
  const tree = new FakeTree();
  tree.add('', null);
  const content = Buffer.alloc(3 * FOLIO + 100);
  for (let i = 0; i < content.length; i++) content[i] = (i * 13) & 0xff;
  tree.add('f.bin', Buffer.from(content));
  const pages = new PageCache({ maxBytes: 64 * FOLIO, folioSize: FOLIO });
  const keys: string[] = [];
  const fs = new SmbFs(tree, {
    uid: 1, gid: 2, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, wsize: 1 << 20, cache: 'strict', now: () => 0,
  }, (key, size, ops) => {
    keys.push(key);
    return new NetfsInode({ key, size, ops, cache: pages, readaheadMax: 0, writeOps: ops });
  });
  const lending = new LentReads(Buffer.alloc(slots * 4));
  const words = new Int32Array(lending.table.buffer, lending.table.byteOffset, slots);
  const ops = makeFuseOps(fs, { timeoutMs: 50, lending }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  const pinned = () => keys.reduce((n, k) => n + [0, 1, 2, 3].reduce((m, i) => m + (pages.peek(k, i)?.pins ?? 0), 0), 0);
  return { tree, content, lending, words, call, pinned };
}

t.test('a read answers with the cached bytes themselves, pinned until the binding wrote them', async (t) => {
  const s = setup();
  const [e, fh] = (await s.call('open', '/f.bin', 0)) as [number, number];
  t.equal(e, 0);
  const buf = Buffer.alloc(2 * FOLIO);
  // Not cached yet: answered once the folios are filled, still without a copy.
  const [n, pieces, slot] = (await s.call('read', '/f.bin', fh, buf, buf.length, 1000)) as [number, Buffer[], number];
  t.equal(n, 2 * FOLIO);
  t.ok(Buffer.concat(pieces).equals(s.content.subarray(1000, 1000 + n)), 'the pieces hold the file bytes');
  t.ok(buf.every((b) => b === 0), "libfuse's buffer is not written");
  t.equal(s.words[slot], SLOT_LENT);
  t.ok(s.pinned() > 0, 'folios pinned while the answer is on its way');
  // Cached now: answered in the same turn.
  const [m, again, slot2] = (await s.call('read', '/f.bin', fh, buf, 100, 2 * FOLIO + 50)) as [number, Buffer[], number];
  t.equal(m, 100);
  t.ok(Buffer.concat(again).equals(s.content.subarray(2 * FOLIO + 50, 2 * FOLIO + 150)));
  t.not(slot2, slot);
  s.words[slot] = SLOT_SENT;
  s.words[slot2] = SLOT_SENT;
  s.lending.sweep();
  t.equal(s.pinned(), 0, 'released once written');
  t.same(s.lending.stats(), { answers: 2, pending: 0 });
  const [z, none] = (await s.call('read', '/f.bin', fh, buf, 10, s.content.length)) as [number, unknown];
  t.equal(z, 0, 'at EOF: 0 bytes');
  t.equal(none, undefined, 'and nothing lent');
});

t.test('with no slot free the read is copied into libfuse\'s buffer and nothing stays pinned', async (t) => {
  const s = setup(1);
  const [, fh] = (await s.call('open', '/f.bin', 0)) as [number, number];
  const buf = Buffer.alloc(FOLIO);
  const [, , slot] = (await s.call('read', '/f.bin', fh, buf, 10, 0)) as [number, Buffer[], number];
  t.equal(slot, 0);
  const [n, pieces] = (await s.call('read', '/f.bin', fh, buf, 5000, FOLIO)) as [number, unknown];
  t.equal(n, 5000);
  t.equal(pieces, undefined, 'no pieces: copied');
  t.ok(buf.subarray(0, 5000).equals(s.content.subarray(FOLIO, FOLIO + 5000)));
  s.words[0] = SLOT_SENT;
  s.lending.sweep();
  t.equal(s.pinned(), 0);
});

t.test('a read answered ETIMEDOUT before its folios came lets them go when they come', async (t) => {
  const s = setup();
  const [, fh] = (await s.call('open', '/f.bin', 0)) as [number, number];
  let release!: () => void;
  s.tree.slowIo = new Promise<void>((r) => (release = r));
  const buf = Buffer.alloc(FOLIO);
  const [n] = (await s.call('read', '/f.bin', fh, buf, buf.length, 0)) as [number];
  t.equal(n, -110, 'answered ETIMEDOUT');
  s.tree.slowIo = null;
  release();
  await new Promise((r) => setTimeout(r, 30));
  t.equal(s.pinned(), 0, 'the late result was released');
  t.equal(s.lending.pending, 0, 'and took no slot');
});

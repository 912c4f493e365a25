// The streaming-write fast path: writes answered without a wait
// (NetfsInode.writeNow) and the zeros a new folio past the end of file gets
// lazily (Folio.zeroTail), checked on folio buffers recycled full of junk.
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { FakeReadOps, FakeWriteOps, pseudoRandomBytes } from '../../helpers/fake-ops.js';

const KiB = 1024;
const FOLIO = 16 * KiB;

/** A cache whose free list holds `n` folio buffers full of 0xEE (as after a stream of use-once folios). */
function junkCache(n: number, maxBytes = 4 * 1024 * KiB): PageCache {
  const cache = new PageCache({ maxBytes, folioSize: FOLIO });
  for (let i = 0; i < n; i++) {
    const f = cache.lockNew('junk', i);
    f.buf.fill(0xee);
    cache.markUptodate(f);
  }
  for (let i = 0; i < n; i++) cache.dropBehind(cache.peek('junk', i)!);
  return cache;
}

function setup(cache: PageCache, o: { dirtyThreshold?: number } = {}) {
  const rops = new FakeReadOps({ data: Buffer.alloc(0), timing: 'immediate' });
  const wops = new FakeWriteOps({ server: rops, timing: 'immediate' });
  const inode = new NetfsInode({ key: 'f', size: 0, ops: rops, writeOps: wops, cache, dirtyThreshold: o.dirtyThreshold ?? 2 ** 40, dirtyExpireMs: 2 ** 40 });
  return { rops, wops, inode };
}

async function readAll(inode: NetfsInode): Promise<Buffer> {
  const dst = Buffer.alloc(inode.size);
  const n = await inode.read(0, inode.size, dst);
  return dst.subarray(0, n);
}

t.test('a stream into recycled buffers: the written bytes, zeros elsewhere, and the zeros are written only when needed', async (t) => {
  const cache = junkCache(4);
  const s = setup(cache);
  const a = pseudoRandomBytes(5000, 1);
  t.equal(s.inode.writeNow(0, a), 5000, 'taken at once');
  const f = cache.peek('f', 0)!;
  t.equal(f.zeroTail, FOLIO - 5000, 'the zeros after the bytes are pending, not written');
  t.equal(f.buf[5000], 0xee, 'the recycled buffer still holds junk there');
  // The next write of the stream covers part of the pending zeros, after a gap.
  const b = pseudoRandomBytes(1000, 2);
  t.equal(s.inode.writeNow(6000, b), 1000);
  t.equal(f.zeroTail, FOLIO - 7000, 'pending zeros start after the second write');
  t.ok(f.buf.subarray(5000, 6000).equals(Buffer.alloc(1000)), 'the gap before it got its zeros');
  s.inode.setSize(FOLIO); // the rest of the folio is inside the file now
  const want = Buffer.alloc(FOLIO);
  a.copy(want, 0);
  b.copy(want, 6000);
  const now = Buffer.alloc(FOLIO, 0x11);
  t.equal(s.inode.readNow(0, FOLIO, now), FOLIO, 'readNow takes the whole folio at once');
  t.ok(now.equals(want), 'readNow sees zeros, not junk');
  t.ok((await readAll(s.inode)).equals(want), 'a read sees zeros, not junk');
  await s.inode.flush();
  t.ok(s.rops.data.subarray(0, 7000).equals(want.subarray(0, 7000)), 'the server got the written bytes');
  t.equal(s.rops.issued.length, 0, 'nothing read from the server');
});

t.test('a folio with pending zeros goes to the LRU with them still pending; a read within the file writes none', async (t) => {
  const cache = junkCache(4);
  const s = setup(cache);
  t.equal(s.inode.writeNow(0, Buffer.alloc(3000, 7)), 3000);
  const f = cache.peek('f', 0)!;
  t.ok(f.zeroTail > 0, 'zeros pending while held');
  await s.inode.flush();
  t.equal(f.home, 'lru', 'clean: back in the LRU');
  t.equal(f.zeroTail, FOLIO - 3000, 'the zeros are still pending');
  t.ok((await readAll(s.inode)).equals(Buffer.alloc(3000, 7)), 'a read of the file sees its bytes');
  t.equal(f.zeroTail, FOLIO - 3000, 'a read within the file writes no zeros');
  s.inode.setSize(5000);
  t.ok((await readAll(s.inode)).subarray(3000).equals(Buffer.alloc(2000)), 'grown: the bytes past the old end read as zeros, not junk');
});

t.test('a read reaching pending zeros writes only the zeros it reaches', async (t) => {
  const cache = junkCache(4);
  const s = setup(cache);
  t.equal(s.inode.writeNow(0, Buffer.alloc(3000, 7)), 3000);
  s.inode.setSize(5000); // held (dirty): the folio stays, its zeros pending
  const f = cache.peek('f', 0)!;
  t.equal(f.zeroTail, FOLIO - 3000);
  const got = Buffer.alloc(4000, 0x11);
  t.equal(s.inode.readNow(0, 4000, got), 4000);
  t.ok(got.subarray(3000).equals(Buffer.alloc(1000)), 'zeros past the written bytes, not junk');
  t.equal(f.zeroTail, FOLIO - 4000, 'the zeros up to the end of the read were written, no more');
  t.equal(f.buf[4000], 0xee, 'past it the buffer is untouched');
  t.ok((await readAll(s.inode)).subarray(3000).equals(Buffer.alloc(2000)), 'a read to the end sees zeros');
  t.equal(f.zeroTail, FOLIO - 5000);
});

t.test('a primed small file: its zeros are pending, and a write past its end leaves zeros in the gap', async (t) => {
  const cache = junkCache(4);
  const s = setup(cache);
  const data = pseudoRandomBytes(1000, 5);
  s.inode.setSize(1000);
  t.ok(s.inode.prime(data), 'primed');
  const f = cache.peek('f', 0)!;
  t.equal(f.zeroTail, FOLIO - 1000, 'the folio tail is not written at prime');
  t.equal(f.buf[1000], 0xee, 'the recycled buffer still holds junk there');
  const tail = pseudoRandomBytes(100, 6);
  t.equal(await s.inode.write(2000, tail), 100);
  const want = Buffer.alloc(2100);
  data.copy(want, 0);
  tail.copy(want, 2000);
  t.ok((await readAll(s.inode)).equals(want), 'the old bytes, zeros in the gap, the new bytes');
  await s.inode.flush();
  t.ok(s.rops.data.subarray(2000, 2100).equals(tail), 'the server got the new bytes');
});

t.test('truncate down then up over pending zeros reads zeros', async (t) => {
  const cache = junkCache(4);
  const s = setup(cache);
  s.inode.writeNow(0, Buffer.alloc(8000, 5));
  await s.inode.truncate(100);
  await s.inode.truncate(FOLIO);
  const want = Buffer.alloc(FOLIO);
  want.fill(5, 0, 100);
  t.ok((await readAll(s.inode)).equals(want), 'written bytes up to the cut, zeros after');
});

t.test('writeNow refuses (changing nothing) what must wait; write() then takes it', async (t) => {
  // 4 folios of budget: dirty data past half of it must wait for writeback.
  const cache = new PageCache({ maxBytes: 4 * FOLIO, folioSize: FOLIO });
  const s = setup(cache);
  t.equal(s.inode.writeNow(0, Buffer.alloc(2 * FOLIO + 1, 1)), 2 * FOLIO + 1, 'up to the limit: at once');
  t.ok(cache.overDirtyLimit, 'over the dirty limit now');
  const size = s.inode.size;
  const dirty = s.inode.dirtyBytes;
  t.equal(s.inode.writeNow(size, Buffer.alloc(100, 2)), -1, 'over the limit: refused');
  t.equal(s.inode.size, size, 'size unchanged');
  t.equal(s.inode.dirtyBytes, dirty, 'nothing dirtied');
  t.equal(await s.inode.write(size, Buffer.alloc(100, 2)), 100, 'write() waits for writeback and takes it');
  await s.inode.flush();
  t.equal(s.rops.data.length, size + 100, 'all of it on the server');
});

t.test('threshold writeback starts after the write returns, once per burst', async (t) => {
  const s = setup(new PageCache({ maxBytes: 4 * 1024 * KiB, folioSize: FOLIO }), { dirtyThreshold: 32 * KiB });
  for (let i = 0; i < 4; i++) t.equal(s.inode.writeNow(i * 16 * KiB, Buffer.alloc(16 * KiB, i)), 16 * KiB);
  t.equal(s.wops.issued.length, 0, 'nothing sent while the writer runs');
  await Promise.resolve();
  t.equal(s.wops.issued.length, 1, 'one pass starts in the next microtask, over everything dirty');
  await s.inode.flush();
  t.equal(s.rops.data.length, 64 * KiB);
});

t.test('a write over a missing folio and a cached one, when making the first evicts the second: each folio keeps its own bytes', async (t) => {
  // Room for four folios: the file's folios 1-4 fill it, folio 1 least recently used.
  const cache = new PageCache({ maxBytes: 4 * FOLIO, folioSize: FOLIO });
  const server = pseudoRandomBytes(5 * FOLIO, 3);
  const rops = new FakeReadOps({ data: Buffer.from(server), timing: 'immediate' });
  const wops = new FakeWriteOps({ server: rops, timing: 'immediate' });
  const inode = new NetfsInode({ key: 'f', size: server.length, ops: rops, writeOps: wops, cache, readaheadMax: 0, dirtyThreshold: 2 ** 40, dirtyExpireMs: 2 ** 40 });
  for (let i = 1; i <= 4; i++) await inode.read(i * FOLIO, FOLIO, Buffer.alloc(FOLIO));
  const data = pseudoRandomBytes(200, 4);
  t.equal(inode.writeNow(FOLIO - 100, data), 200, 'taken at once');
  const want = Buffer.from(server);
  data.copy(want, FOLIO - 100);
  t.ok((await readAll(inode)).equals(want), 'the cache reads back the file as written');
  await inode.flush();
  t.ok(rops.data.equals(want), 'the server has the file as written');
});

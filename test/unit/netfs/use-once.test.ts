// Sequential streams: reads handed over out of order stay sequential, and
// folios past the kept start of a long run are dropped (use-once) and their
// buffers reused, for readers and for writers once written back.
import t, { type Test } from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { DROP_BEHIND_LAG } from '../../../netfs/inode.js';
import { FakeReadOps, FakeWriteOps, pseudoRandomBytes, rng } from '../../helpers/fake-ops.js';

const KiB = 1024;
const MiB = 1024 * 1024;

function reader(size: number, maxBytes: number) {
  const data = pseudoRandomBytes(size, 99);
  const ops = new FakeReadOps({ data, rsize: 1 * MiB, timing: 'immediate' });
  const cache = new PageCache({ maxBytes, folioSize: 256 * KiB });
  const inode = new NetfsInode({ key: 'big', size, ops, cache });
  return { data, ops, cache, inode };
}

/** Reads [pos, +len) and fails the test unless it matches `data`. */
async function readOk(t: Test, s: ReturnType<typeof reader>, pos: number, len: number): Promise<void> {
  const dst = Buffer.alloc(len);
  const n = await s.inode.read(pos, len, dst);
  if (n !== len || !dst.equals(s.data.subarray(pos, pos + len))) t.fail(`read(${pos}, ${len}) returned wrong bytes`);
}

t.test('reads handed over two at a time in either order keep the readahead window', async (t) => {
  const s = reader(64 * MiB, 128 * MiB);
  let shrank = 0;
  let prev = 0;
  for (let pos = 0; pos < 32 * MiB; pos += 256 * KiB) {
    // The later read arrives first, as libfuse's threads may hand them over.
    await Promise.all([readOk(t, s, pos + 128 * KiB, 128 * KiB), readOk(t, s, pos, 128 * KiB)]);
    if (s.inode.readaheadWindow < prev) shrank++;
    prev = s.inode.readaheadWindow;
  }
  t.equal(shrank, 0, 'the window never shrank');
  t.equal(s.inode.readaheadWindow, 8 * MiB, 'and reached readaheadMax');
  t.ok(s.ops.maxInFlight >= 8, `READs in flight (${s.ops.maxInFlight})`);
  t.ok(s.ops.issuedBytes() <= 32 * MiB + 8 * MiB, 'each byte fetched once, within a window ahead');
});

t.test('a reader striding 2 MiB is not sequential: nothing is read ahead of it', async (t) => {
  const s = reader(64 * MiB, 128 * MiB);
  let reads = 0;
  for (let pos = 0; pos < 60 * MiB; pos += 2 * MiB, reads++) await readOk(t, s, pos, 128 * KiB);
  // The first read starts a window (128 KiB ahead); after it each read fetches its own folio only.
  t.ok(s.ops.issuedBytes() <= reads * 256 * KiB + 512 * KiB, `fetched ${s.ops.issuedBytes() / KiB} KiB for ${reads} reads`);
});

t.test('a long sequential read drops the folios behind it and keeps the start of the run', async (t) => {
  const size = 64 * MiB;
  const s = reader(size, 64 * MiB); // keeps min(32 MiB, a quarter of the cache) = 16 MiB
  t.equal(s.inode.dropBehindAfter, 16 * MiB);
  let peak = 0;
  for (let pos = 0; pos < size; pos += 128 * KiB) {
    await readOk(t, s, pos, 128 * KiB);
    peak = Math.max(peak, s.cache.stats().bytes);
  }
  const st = s.cache.stats();
  t.ok(st.droppedBehind >= (size - 16 * MiB - DROP_BEHIND_LAG) / (256 * KiB) - 1, `folios dropped behind the reader (${st.droppedBehind})`);
  t.ok(st.recycled > 0.9 * st.droppedBehind - 64, `their buffers reused for the next folios (${st.recycled})`);
  t.equal(st.evictions, 0, 'nothing else was pushed out');
  t.ok(peak <= 16 * MiB + 8 * MiB + DROP_BEHIND_LAG + 512 * KiB, `page cache stayed near the kept start + window (${peak / MiB} MiB)`);
  t.equal(s.ops.issuedBytes(), size, 'each byte fetched once');
  const n = s.ops.issued.length;
  await readOk(t, s, 0, 4 * MiB);
  t.equal(s.ops.issued.length, n, 'the start of the run is still cached');
  await readOk(t, s, 40 * MiB, 128 * KiB);
  t.ok(s.ops.issued.length > n, 'a dropped folio is read from the server again');
});

t.test('random reads drop nothing', async (t) => {
  const size = 64 * MiB;
  const s = reader(size, 64 * MiB);
  const r = rng(5);
  for (let i = 0; i < 300; i++) await readOk(t, s, Math.floor(r() * (size - 256 * KiB)), 1 + Math.floor(r() * 200 * KiB));
  t.equal(s.cache.stats().droppedBehind, 0);
});

t.test('a long sequential write: folios past the kept start leave the cache once written back', async (t) => {
  const size = 48 * MiB;
  const rops = new FakeReadOps({ data: Buffer.alloc(0), rsize: 1 * MiB, timing: 'immediate' });
  const wops = new FakeWriteOps({ server: rops, wsize: 1 * MiB, timing: 'timer' });
  const cache = new PageCache({ maxBytes: 64 * MiB, folioSize: 256 * KiB });
  const inode = new NetfsInode({ key: 'w', size: 0, ops: rops, writeOps: wops, cache, dirtyThreshold: 4 * MiB });
  const src = pseudoRandomBytes(size, 3);
  let peak = 0;
  for (let pos = 0; pos < size; pos += 128 * KiB) {
    await inode.write(pos, src.subarray(pos, pos + 128 * KiB));
    if (pos >= 24 * MiB) peak = Math.max(peak, cache.stats().dirtyBytes);
  }
  // Past the kept start the writer waits for the pass in flight at twice dirtyThreshold (not half the cache, 32 MiB).
  t.ok(peak <= 8 * MiB + 128 * KiB, `dirty bytes of the stream stayed bounded (${peak / MiB} MiB)`);
  await inode.flush();
  t.ok(rops.data.subarray(0, size).equals(src), 'the server has every byte');
  const st = cache.stats();
  t.equal(st.dirtyBytes, 0, 'clean');
  t.ok(st.droppedBehind >= (size - 16 * MiB) / (256 * KiB) - 1, `written folios dropped (${st.droppedBehind})`);
  t.ok(st.cachedBytes <= 16 * MiB, `the kept start stays cached (${st.cachedBytes / MiB} MiB)`);
  t.ok(st.recycled > 0, `buffers reused for new folios (${st.recycled})`);
  const n = rops.issued.length;
  const dst = Buffer.alloc(1 * MiB);
  await inode.read(0, dst.length, dst);
  t.ok(dst.equals(src.subarray(0, 1 * MiB)), 'start read back');
  t.equal(rops.issued.length, n, 'from the cache');
});

import t, { type Test } from 'tap';
import { NetfsInode, PageCache, NetfsError, NETFS_MAX_RETRIES } from '../../../netfs/index.js';
import {
  FakeReadOps,
  FakeWriteOps,
  pseudoRandomBytes,
  rng,
  type FakeTiming,
  type FakeWriteOpsOptions,
} from '../../helpers/fake-ops.js';

const KiB = 1024;
const MiB = 1024 * 1024;

interface WSetup {
  rops: FakeReadOps;
  wops: FakeWriteOps;
  cache: PageCache;
  inode: NetfsInode;
}

interface WOpts extends Partial<Omit<FakeWriteOpsOptions, 'server'>> {
  size?: number;
  folioSize?: number;
  maxBytes?: number;
  dirtyThreshold?: number;
  dirtyExpireMs?: number;
  readTiming?: FakeTiming;
  cache?: PageCache;
  key?: string;
}

function setup(o: WOpts = {}): WSetup {
  const size = o.size ?? 0;
  const rops = new FakeReadOps({ data: pseudoRandomBytes(size, size + 5), timing: o.readTiming ?? 'immediate', rsize: 64 * KiB });
  const wops = new FakeWriteOps({ ...o, server: rops });
  const cache = o.cache ?? new PageCache({ maxBytes: o.maxBytes ?? 64 * MiB, folioSize: o.folioSize ?? 4 * KiB });
  const inode = new NetfsInode({
    key: o.key ?? 'w1',
    size,
    ops: rops,
    writeOps: wops,
    cache,
    dirtyThreshold: o.dirtyThreshold ?? 2 ** 40,
    dirtyExpireMs: o.dirtyExpireMs ?? 2 ** 40,
  });
  return { rops, wops, cache, inode };
}

/** Read [pos, pos+len) through the inode and compare with `ref`. Returns false on mismatch. */
async function same(s: WSetup, ref: Buffer, pos: number, len: number): Promise<boolean> {
  const dst = Buffer.alloc(len);
  const n = await s.inode.read(pos, len, dst);
  const want = Math.max(0, Math.min(len, ref.length - pos));
  return n === want && dst.subarray(0, n).equals(ref.subarray(pos, pos + n));
}

/** Assert that `p` rejects with a NetfsError carrying `errno`. */
async function rejectsErrno(t: Test, p: Promise<unknown>, errno: number): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  t.type(e, NetfsError, 'rejects with NetfsError');
  t.equal((e as NetfsError | null)?.errno, errno, `errno ${errno}`);
}

/** The local reference file: what a correct filesystem must hold. */
class Ref {
  buf: Buffer;
  constructor(init: Buffer) {
    this.buf = Buffer.from(init);
  }
  write(pos: number, src: Buffer): void {
    if (pos + src.length > this.buf.length) this.resize(pos + src.length);
    src.copy(this.buf, pos);
  }
  resize(n: number): void {
    const b = Buffer.alloc(n);
    this.buf.copy(b, 0, 0, Math.min(n, this.buf.length));
    this.buf = b;
  }
}

const stressModes: { name: string; timing: FakeTiming; faults: boolean }[] = [
  { name: 'in order', timing: 'immediate', faults: false },
  { name: 'reordered', timing: 'random', faults: false },
  { name: 'reordered, short writes and retryable failures', timing: 'random', faults: true },
  { name: 'reversed, short writes', timing: 'reverse', faults: true },
  { name: 'timer delays, short writes', timing: 'timer', faults: true },
];

for (const mode of stressModes) {
  t.test(`random writes, reads, truncates and flushes match a reference (${mode.name})`, async (t) => {
    const r = rng(mode.name.length * 7919 + 3);
    const fr = rng(99);
    const s = setup({
      size: 300 * KiB + 17,
      folioSize: 4 * KiB,
      wsize: 9000,
      timing: mode.timing,
      readTiming: mode.timing,
      dirtyThreshold: 48 * KiB,
      dirtyExpireMs: 2,
      maxBytes: 2 * MiB,
      seed: 5,
      action: (_sub, attempt) => {
        if (!mode.faults || attempt > 0) return { kind: 'ok' };
        const x = fr();
        if (x < 0.15) return { kind: 'short', bytes: Math.floor(_sub.len * fr()) + 1 };
        if (x < 0.22) return { kind: 'fail', error: -11, retryable: true, transferred: Math.floor(_sub.len * fr()) };
        return { kind: 'ok' };
      },
    });
    const ref = new Ref(s.rops.data);
    const ops = mode.timing === 'timer' ? 2000 : 5000;
    let mismatches = 0;
    let serverMismatches = 0;
    let flushes = 0;
    for (let i = 0; i < ops; i++) {
      const x = r();
      const size = ref.buf.length;
      if (x < 0.5) {
        const pos = Math.floor(r() * (size + 8 * KiB));
        const len = 1 + Math.floor(r() * (r() < 0.2 ? 20 * KiB : 3000));
        const src = pseudoRandomBytes(len, i + 1);
        const p = s.inode.write(pos, src);
        ref.write(pos, src);
        if ((await p) !== len) mismatches++;
      } else if (x < 0.85) {
        const pos = Math.floor(r() * (size + 100));
        const len = 1 + Math.floor(r() * 12 * KiB);
        if (!(await same(s, ref.buf, pos, len))) mismatches++;
      } else if (x < 0.93) {
        const n = r() < 0.5 ? Math.floor(r() * size) : size + Math.floor(r() * 20 * KiB);
        await s.inode.truncate(n);
        s.wops.truncate(n);
        ref.resize(n);
        if (s.inode.size !== n) mismatches++;
      } else {
        await s.inode.flush();
        flushes++;
        if (!s.rops.data.equals(ref.buf)) serverMismatches++;
      }
      if (s.inode.size !== ref.buf.length) mismatches++;
    }
    await s.inode.flush();
    t.equal(mismatches, 0, 'no mismatch against the reference');
    t.equal(serverMismatches, 0, `server equals the reference after each of ${flushes} flushes`);
    t.ok(s.rops.data.equals(ref.buf), 'server bytes equal the reference at the end');
    t.equal(s.inode.dirtyBytes, 0, 'nothing dirty after the last flush');
    t.equal(s.wops.overlaps, 0, 'no two writes of the same bytes in flight at once');
    t.ok(s.wops.issued.every((w) => w.len <= 9000), 'every write within wsize');
    t.ok(await same(s, ref.buf, 0, ref.buf.length + 10), 'whole file reads back');
  });
}

t.test('wsize limits: a contiguous dirty run is cut into maximal subrequests', async (t) => {
  const s = setup({ folioSize: 16 * KiB, wsize: 64 * KiB, timing: 'random' });
  const src = pseudoRandomBytes(MiB, 3);
  await s.inode.write(0, src);
  t.equal(s.inode.dirtyBytes, MiB, 'all dirty');
  t.equal(s.cache.stats().dirtyBytes, MiB, 'cache counts the dirty bytes');
  await s.inode.flush();
  t.equal(s.wops.issued.length, 16, '16 subrequests of 64 KiB');
  t.ok(s.wops.issued.every((w) => w.len === 64 * KiB), 'all full size');
  t.ok(s.wops.maxInFlight > 1, `many in flight (${s.wops.maxInFlight})`);
  t.ok(s.rops.data.equals(src), 'server has the data');
  t.equal(s.cache.stats().dirtyBytes, 0, 'clean');

  const s2 = setup({ folioSize: 4 * KiB, wsize: 10000 });
  await s2.inode.write(100, pseudoRandomBytes(50000, 4));
  await s2.inode.write(80000, pseudoRandomBytes(3000, 5));
  await s2.inode.flush();
  const sizes = s2.wops.issued.map((w) => w.len);
  t.same(sizes, [10000, 10000, 10000, 10000, 10000, 3000], 'cut at wsize and at the gap between runs');
  t.same(
    s2.wops.issued.map((w) => w.start),
    [100, 10100, 20100, 30100, 40100, 80000],
    'at the right positions',
  );
});

t.test('a pure-write workload never reads from the server', async (t) => {
  const s = setup({ size: 100 * KiB, folioSize: 4 * KiB, wsize: 8 * KiB, timing: 'random', dirtyThreshold: 32 * KiB });
  const ref = new Ref(s.rops.data);
  const r = rng(11);
  for (let i = 0; i < 2000; i++) {
    const pos = Math.floor(r() * 140 * KiB);
    const src = pseudoRandomBytes(1 + Math.floor(r() * 2000), i + 9);
    await s.inode.write(pos, src);
    ref.write(pos, src);
    if (i % 300 === 299) await s.inode.flush();
  }
  await s.inode.flush();
  t.equal(s.rops.issued.length, 0, 'no server reads');
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
});

t.test('partial-folio write, then a read of the not-uptodate folio merges server and written bytes', async (t) => {
  const s = setup({ size: 64 * KiB, folioSize: 16 * KiB, timing: 'random' });
  const ref = new Ref(s.rops.data);
  const src = Buffer.alloc(100, 0xab);
  await s.inode.write(5000, src);
  ref.write(5000, src);
  t.equal(s.rops.issued.length, 0, 'the write read nothing');
  t.ok(await same(s, ref.buf, 0, 16 * KiB), 'folio 0 reads merged');
  t.ok(await same(s, ref.buf, 4900, 300), 'around the written bytes');
  t.equal(s.rops.issued.length, 1, 'one server read filled the folio');
  t.equal(s.inode.dirtyBytes, 100, 'still dirty, only the written range');
  await s.inode.flush();
  t.equal(s.wops.issued.length, 1, 'one write');
  t.same([s.wops.issued[0]!.start, s.wops.issued[0]!.len], [5000, 100], 'of the dirty range only');
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
});

t.test('a read of a partial folio while its writeback is in flight keeps the written bytes', async (t) => {
  let hang = true;
  const s = setup({ size: 32 * KiB, folioSize: 16 * KiB, action: () => (hang ? { kind: 'hang' } : { kind: 'ok' }) });
  const ref = new Ref(s.rops.data);
  const src = Buffer.alloc(300, 0x5a);
  await s.inode.write(1000, src);
  ref.write(1000, src);
  const wb = s.inode.writeback('lease-break');
  t.ok(await same(s, ref.buf, 0, 4 * KiB), 'merged while the write hangs');
  hang = false;
  s.wops.release();
  await wb;
  t.ok(await same(s, ref.buf, 0, 32 * KiB), 'still right after');
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
});

t.test('two unrelated writes in one partial folio: the first is written back first, no read', async (t) => {
  const s = setup({ size: 64 * KiB, folioSize: 16 * KiB });
  const ref = new Ref(s.rops.data);
  for (const [pos, b] of [
    [100, 1],
    [9000, 2],
    [200, 3],
    [101, 4],
  ] as const) {
    const src = Buffer.alloc(50, b);
    await s.inode.write(pos, src);
    ref.write(pos, src);
  }
  t.equal(s.rops.issued.length, 0, 'no reads');
  t.ok(s.wops.issued.length >= 2, 'earlier ranges were written back');
  await s.inode.flush();
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
  t.ok(await same(s, ref.buf, 0, 64 * KiB), 'reads back');
});

t.test('dirty folios are not evicted under cache pressure', async (t) => {
  const cache = new PageCache({ maxBytes: 1 * MiB, folioSize: 16 * KiB });
  let hang = true;
  const s = setup({ cache, size: 0, action: () => (hang ? { kind: 'hang' } : { kind: 'ok' }) });
  const src = pseudoRandomBytes(256 * KiB, 21);
  await s.inode.write(0, src);
  t.equal(cache.stats().dirtyBytes, 256 * KiB, 'dirty bytes counted');
  t.equal(cache.stats().heldBytes, 256 * KiB, 'held');
  const wb = s.inode.writeback('lease-break'); // under writeback, hung
  const other = pseudoRandomBytes(4 * MiB, 8);
  const ro = new FakeReadOps({ data: other, rsize: 64 * KiB });
  const reader = new NetfsInode({ key: 'other', size: other.length, ops: ro, cache });
  const dst = Buffer.alloc(4 * MiB);
  for (let p = 0; p < 4 * MiB; p += 64 * KiB) await reader.read(p, 64 * KiB, dst.subarray(p));
  t.ok(dst.equals(other), 'other file read');
  // Clean folios made room: evicted, or dropped behind the sequential reader (use-once).
  const gone = cache.stats().evictions + cache.stats().droppedBehind;
  t.ok(gone > 0, `clean folios evicted or dropped (${gone})`);
  t.ok(cache.stats().bytes <= 1 * MiB + 16 * KiB, 'budget kept');
  const back = Buffer.alloc(256 * KiB);
  await s.inode.read(0, 256 * KiB, back);
  t.ok(back.equals(src), 'dirty data intact');
  t.equal(s.rops.issued.length, 0, 'and never read from the server');
  hang = false;
  s.wops.release();
  await wb;
  await s.inode.flush();
  t.ok(s.rops.data.equals(src), 'server has it');
  t.equal(cache.stats().dirtyBytes, 0, 'clean');
});

t.test('back-pressure: dirty data past half the cache is written back before more is taken', async (t) => {
  const cache = new PageCache({ maxBytes: 1 * MiB, folioSize: 16 * KiB });
  const s = setup({ cache, wsize: 64 * KiB, timing: 'immediate' });
  let maxDirty = 0;
  const src = pseudoRandomBytes(4 * MiB, 2);
  for (let i = 0; i < 64; i++) {
    await s.inode.write(i * 64 * KiB, src.subarray(i * 64 * KiB, (i + 1) * 64 * KiB));
    maxDirty = Math.max(maxDirty, cache.stats().dirtyBytes);
  }
  t.ok(maxDirty <= 512 * KiB + 64 * KiB, `dirty bytes stayed near half the cache (${maxDirty})`);
  t.ok(s.wops.bytesWritten > 0, 'writeback ran before flush');
  await s.inode.flush();
  t.ok(s.rops.data.equals(src), 'server has it');
});

t.test('sticky error: reported once by flush, data kept dirty and retried', async (t) => {
  let failing = true;
  const s = setup({ folioSize: 4 * KiB, action: () => (failing ? { kind: 'fail', error: -28 } : { kind: 'ok' }) });
  const src = pseudoRandomBytes(10 * KiB, 1);
  await s.inode.write(0, src);
  await rejectsErrno(t, s.inode.flush(), -28);
  t.equal(s.inode.dirtyBytes, 10 * KiB, 'data still dirty');
  const n = s.wops.issued.length;
  failing = false;
  await s.inode.flush();
  t.pass('second flush reports nothing');
  t.ok(s.wops.issued.length > n, 'retried');
  t.ok(s.rops.data.equals(src), 'server has the data');
  await s.inode.flush();
  t.pass('third flush clean');
});

t.test('sticky error from a background writeback is reported by the next flush, once', async (t) => {
  let failing = true;
  const s = setup({
    folioSize: 4 * KiB,
    dirtyThreshold: 8 * KiB,
    action: () => (failing ? { kind: 'fail', error: -5 } : { kind: 'ok' }),
  });
  await s.inode.write(0, pseudoRandomBytes(16 * KiB, 1));
  await new Promise((r) => setTimeout(r, 20));
  t.ok(s.wops.issued.length > 0, 'threshold writeback ran');
  failing = false;
  await rejectsErrno(t, s.inode.flush(), -5);
  await s.inode.flush();
  t.pass('reported once');
});

t.test('a permanent failure: every flush reports it; discard() drops the data', async (t) => {
  const s = setup({ folioSize: 4 * KiB, action: () => ({ kind: 'fail', error: -13 }) });
  await s.inode.write(0, pseudoRandomBytes(5000, 1));
  await rejectsErrno(t, s.inode.flush(), -13);
  await rejectsErrno(t, s.inode.flush(), -13);
  s.inode.discard();
  t.equal(s.inode.dirtyBytes, 0, 'nothing dirty');
  t.equal(s.cache.stats().heldBytes, 0, 'nothing held');
  await s.inode.flush();
  t.pass('flush after discard is clean');
});

t.test('retryable failures are retried within the bound', async (t) => {
  const s = setup({ folioSize: 4 * KiB, action: (_s, a) => (a < 2 ? { kind: 'fail', error: -11, retryable: true } : { kind: 'ok' }) });
  const src = pseudoRandomBytes(9000, 1);
  await s.inode.write(0, src);
  await s.inode.flush();
  t.ok(s.rops.data.equals(src), 'written after retries');

  const s2 = setup({ folioSize: 4 * KiB, action: () => ({ kind: 'fail', error: -11, retryable: true }) });
  await s2.inode.write(0, src);
  await rejectsErrno(t, s2.inode.flush(), -11);
  t.equal(s2.wops.issued.length, NETFS_MAX_RETRIES + 1, 'gave up after the bound');
});

t.test('too much written and no progress are errors', async (t) => {
  const s = setup({ folioSize: 4 * KiB, action: () => ({ kind: 'too-much', extra: 1 }) });
  await s.inode.write(0, Buffer.alloc(100, 1));
  await rejectsErrno(t, s.inode.flush(), -5);
  const s2 = setup({ folioSize: 4 * KiB, action: () => ({ kind: 'short', bytes: 0 }) });
  await s2.inode.write(0, Buffer.alloc(100, 1));
  await rejectsErrno(t, s2.inode.flush(), -5);
  t.equal(s2.wops.issued.length, NETFS_MAX_RETRIES + 1, 'no progress retried within the bound');
  const s3 = setup({
    folioSize: 4 * KiB,
    action: () => {
      throw new Error('boom');
    },
  });
  await s3.inode.write(0, Buffer.alloc(100, 1));
  await rejectsErrno(t, s3.inode.flush(), -5);
});

t.test('a folio written again under writeback stays dirty and its new bytes are written', async (t) => {
  let hang = true;
  const s = setup({ folioSize: 16 * KiB, action: () => (hang ? { kind: 'hang' } : { kind: 'ok' }) });
  await s.inode.write(0, Buffer.alloc(16 * KiB, 1));
  const wb = s.inode.writeback('flush');
  await s.inode.write(100, Buffer.alloc(10, 2));
  hang = false;
  s.wops.release();
  await wb;
  t.equal(s.inode.dirtyBytes, 16 * KiB, 're-dirtied folio still dirty');
  await s.inode.flush();
  const want = Buffer.alloc(16 * KiB, 1);
  want.fill(2, 100, 110);
  t.ok(s.rops.data.equals(want), 'server has the newest bytes');
  t.equal(s.wops.overlaps, 0, 'writes of one range never overlapped');
});

t.test('truncate discards dirty bytes past the end; extending exposes zeros without a read', async (t) => {
  const s = setup({ size: 40 * KiB, folioSize: 16 * KiB });
  const ref = new Ref(s.rops.data);
  await s.inode.write(0, Buffer.alloc(40 * KiB, 7));
  ref.write(0, Buffer.alloc(40 * KiB, 7));
  await s.inode.truncate(20000);
  s.wops.truncate(20000);
  ref.resize(20000);
  t.equal(s.inode.dirtyBytes, 20000, 'dirty bytes past the end discarded');
  await s.inode.truncate(100 * KiB);
  s.wops.truncate(100 * KiB);
  ref.resize(100 * KiB);
  t.ok(await same(s, ref.buf, 0, 100 * KiB), 'zeros past the old end, the tail of the folio too');
  t.equal(s.rops.issued.length, 0, 'no server reads for the hole');
  await s.inode.flush();
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
  t.ok(s.wops.issued.every((w) => w.start + w.len <= 20000), 'nothing past the truncate written');
});

t.test('writes past EOF leave a hole of zeros that is never read from the server', async (t) => {
  const s = setup({ size: 10 * KiB, folioSize: 4 * KiB });
  const ref = new Ref(s.rops.data);
  await s.inode.write(200 * KiB, Buffer.alloc(5000, 9));
  ref.write(200 * KiB, Buffer.alloc(5000, 9));
  t.equal(s.inode.size, 200 * KiB + 5000, 'size visible at once');
  const before = s.rops.issued.length;
  t.ok(await same(s, ref.buf, 12 * KiB, 180 * KiB), 'the hole reads as zeros');
  t.equal(s.rops.issued.length, before, 'without the server');
  t.ok(await same(s, ref.buf, 0, 210 * KiB), 'whole file');
  await s.inode.flush();
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
});

t.test('dirty data older than dirtyExpireMs is written back by the timer', async (t) => {
  const s = setup({ folioSize: 4 * KiB, dirtyExpireMs: 5 });
  await s.inode.write(0, Buffer.alloc(3000, 1));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(s.inode.dirtyBytes, 0, 'clean without a flush');
  t.ok(s.rops.data.equals(Buffer.alloc(3000, 1)), 'server has it');
});

t.test('dirtyThreshold starts writeback', async (t) => {
  const s = setup({ folioSize: 4 * KiB, dirtyThreshold: 20 * KiB });
  await s.inode.write(0, pseudoRandomBytes(64 * KiB, 2));
  await new Promise((r) => setImmediate(r));
  t.ok(s.wops.issued.length > 0, 'writeback started without a flush');
  await s.inode.flush();
});

t.test('writeUnbuffered round trip, and cached folios over it are not stale', async (t) => {
  const s = setup({ size: 64 * KiB, folioSize: 4 * KiB, wsize: 5000, timing: 'random' });
  const ref = new Ref(s.rops.data);
  t.ok(await same(s, ref.buf, 0, 64 * KiB), 'cached the file');
  const src = pseudoRandomBytes(30000, 77);
  t.equal(await s.inode.writeUnbuffered(10000, src), 30000);
  ref.write(10000, src);
  t.ok(s.wops.issued.every((w) => w.len <= 5000), 'within wsize');
  t.ok(s.rops.data.equals(ref.buf), 'on the server at once');
  const dst = Buffer.alloc(30000);
  t.equal(await s.inode.readUnbuffered(10000, 30000, dst), 30000);
  t.ok(dst.equals(src), 'unbuffered read returns it');
  t.ok(await same(s, ref.buf, 0, 64 * KiB), 'buffered read is not stale');
  // Past the end, and over dirty buffered data.
  await s.inode.write(60000, Buffer.alloc(1000, 3));
  const tail = pseudoRandomBytes(9000, 78);
  await s.inode.writeUnbuffered(58000, tail);
  ref.write(60000, Buffer.alloc(1000, 3));
  ref.write(58000, tail);
  await s.inode.flush();
  t.equal(s.inode.size, 67000, 'size grew');
  t.ok(s.rops.data.equals(ref.buf), 'unbuffered write wins over older dirty data');
  const s2 = setup({ action: () => ({ kind: 'fail', error: -28 }) });
  await rejectsErrno(t, s2.inode.writeUnbuffered(0, Buffer.alloc(10)), -28);
});

t.test('an inode without write ops refuses writes', async (t) => {
  const cache = new PageCache({ maxBytes: MiB, folioSize: 4 * KiB });
  const inode = new NetfsInode({ key: 'ro', size: 0, ops: new FakeReadOps({ data: Buffer.alloc(0) }), cache });
  await rejectsErrno(t, inode.write(0, Buffer.alloc(1)), -22);
  await inode.flush();
  t.pass('flush of a read-only inode is a no-op');
});

t.test('concurrent writers and readers of different regions of one file (regions share folios)', async (t) => {
  const region = 40000;
  const regions = 8;
  const fr = rng(3);
  const s = setup({
    size: region * regions,
    folioSize: 4 * KiB,
    wsize: 7000,
    timing: 'random',
    readTiming: 'random',
    dirtyThreshold: 32 * KiB,
    dirtyExpireMs: 1,
    action: (sub, attempt) => (attempt === 0 && fr() < 0.2 ? { kind: 'short', bytes: Math.ceil(sub.len / 3) } : { kind: 'ok' }),
  });
  const ref = new Ref(s.rops.data);
  const r = rng(77);
  let mismatches = 0;
  for (let batch = 0; batch < 400; batch++) {
    const jobs: Promise<void>[] = [];
    for (let g = 0; g < regions; g++) {
      const base = g * region;
      const pos = base + Math.floor(r() * (region - 1));
      const len = 1 + Math.floor(r() * Math.min(6000, base + region - pos - 1));
      if (r() < 0.6) {
        const src = pseudoRandomBytes(len, batch * 16 + g + 1);
        ref.write(pos, src);
        jobs.push(s.inode.write(pos, src).then((n) => void (n !== len && mismatches++)));
      } else {
        const want = Buffer.from(ref.buf.subarray(pos, pos + len));
        const dst = Buffer.alloc(len);
        jobs.push(s.inode.read(pos, len, dst).then((n) => void ((n !== len || !dst.equals(want)) && mismatches++)));
      }
    }
    if (batch % 50 === 49) jobs.push(s.inode.flush());
    await Promise.all(jobs);
  }
  await s.inode.flush();
  t.equal(mismatches, 0, 'every read saw the reference, every write took all bytes');
  t.ok(s.rops.data.equals(ref.buf), 'server equals the reference');
  t.ok(await same(s, ref.buf, 0, ref.buf.length), 'reads back');
  t.equal(s.wops.overlaps, 0, 'no two writes of the same bytes in flight at once');
});

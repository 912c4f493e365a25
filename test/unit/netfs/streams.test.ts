import t from 'tap';
import {
  NetfsInode,
  PageCache,
  NetfsError,
  type NetfsCacheOps,
  type NetfsReadSource,
  type NetfsReadSubrequestView,
  type NetfsWriteSubrequestView,
} from '../../../netfs/index.js';
import { dispatchRequest } from '../../../netfs/issue.js';
import { loadFolio, newReadRequest } from '../../../netfs/read-request.js';
import type { Folio } from '../../../netfs/page-cache.js';
import { FakeReadOps, FakeWriteOps, pseudoRandomBytes } from '../../helpers/fake-ops.js';

const KiB = 1024;
const EIO = -5;

type CacheWriteMode = 'ok' | 'hang' | 'fail' | 'fail-now';
type CacheReadMode = 'ok' | 'fail' | 'short' | 'none';

/**
 * A local cache for the tests: holds byte ranges of one file in `store`,
 * answers prepareRead from them and serves reads and writes on setImmediate
 * (or holds writes until release()).
 */
class FakeCache implements NetfsCacheOps {
  readonly store: Buffer;
  /** Ranges [start, end) the cache holds, sorted, not overlapping. */
  held: [number, number][] = [];
  readMode: CacheReadMode = 'ok';
  writeMode: CacheWriteMode = 'ok';
  rsize = 16 * KiB;
  wsize = 16 * KiB;
  readonly reads: { start: number; len: number }[] = [];
  readonly writes: { start: number; len: number }[] = [];
  /** Writes whose completion is held back (writeMode 'hang'). */
  readonly hung: NetfsWriteSubrequestView[] = [];
  prepareReadAnswer: ((start: number, len: number) => { source: NetfsReadSource; len: number }) | null = null;
  readonly invalidations: [number, number][] = [];

  constructor(size: number) {
    this.store = Buffer.alloc(size);
  }

  prepareRead(start: number, len: number): { source: NetfsReadSource; len: number } {
    if (this.prepareReadAnswer) return this.prepareReadAnswer(start, len);
    for (const [a, b] of this.held) {
      if (start >= a && start < b) return { source: 'cache', len: Math.min(len, b - start) };
      if (a > start) return { source: 'server', len: Math.min(len, a - start) };
    }
    return { source: 'server', len };
  }

  readonly read = {
    maxReadSize: () => this.rsize,
    issueRead: (v: NetfsReadSubrequestView) => {
      this.reads.push({ start: v.start, len: v.len });
      setImmediate(() => {
        if (this.readMode === 'fail') return v.complete({ transferred: 0, error: EIO });
        const n = this.readMode === 'short' ? Math.floor(v.len / 2) : this.readMode === 'none' ? 0 : v.len;
        v.dest.clone().copyIn(this.store, v.start, n);
        v.complete({ transferred: n });
      });
    },
  };

  readonly write = {
    maxWriteSize: () => this.wsize,
    issueWrite: (v: NetfsWriteSubrequestView) => {
      this.writes.push({ start: v.start, len: v.len });
      if (this.writeMode === 'hang') return void this.hung.push(v);
      if (this.writeMode === 'fail-now') return v.complete({ transferred: 0, error: EIO });
      setImmediate(() => this.finishWrite(v));
    },
  };

  invalidate(from: number, to: number): void {
    this.invalidations.push([from, to]);
  }

  private finishWrite(v: NetfsWriteSubrequestView): void {
    if (this.writeMode === 'fail') return v.complete({ transferred: 0, error: EIO });
    v.source.clone().copyOut(this.store, v.start, v.len);
    v.complete({ transferred: v.len });
  }

  /** Complete the first `n` held writes (all by default), in issue order. */
  release(n = this.hung.length): void {
    for (const v of this.hung.splice(0, n)) this.finishWrite(v);
  }

  /** The union of the ranges written, as merged [start, end) pairs. */
  writtenRanges(): [number, number][] {
    const rs = this.writes.map((w) => [w.start, w.start + w.len] as [number, number]).sort((x, y) => x[0] - y[0]);
    const out: [number, number][] = [];
    for (const r of rs) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else out.push([...r]);
    }
    return out;
  }
}

/** A few turns of the event loop, for setImmediate completions and collection. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

function readSetup(size: number, fscache: FakeCache, readaheadMax = 0) {
  const data = pseudoRandomBytes(size, 99);
  const ops = new FakeReadOps({ data, rsize: 16 * KiB });
  const cache = new PageCache({ maxBytes: 8 * 1024 * KiB, folioSize: 16 * KiB });
  const inode = new NetfsInode({ key: 'c1', size, ops, cache, readaheadMax, fscache });
  return { data, ops, cache, inode };
}

/** Is [a, b) covered by none of the server's issues? */
function serverSkipped(ops: FakeReadOps, a: number, b: number): boolean {
  return ops.issued.every((r) => r.start + r.len <= a || r.start >= b);
}

t.test('reads come from the cache where prepareRead says so, from the server elsewhere', async (t) => {
  const size = 256 * KiB;
  const fc = new FakeCache(size);
  const s = readSetup(size, fc);
  s.data.copy(fc.store, 32 * KiB, 32 * KiB, 96 * KiB);
  fc.held = [[32 * KiB, 96 * KiB]];
  const dst = Buffer.alloc(size);
  t.equal(await s.inode.read(0, size, dst), size);
  t.ok(dst.equals(s.data), 'bytes match');
  t.ok(serverSkipped(s.ops, 32 * KiB, 96 * KiB), 'the server was not asked for the cached range');
  t.equal(s.ops.issuedBytes(), size - 64 * KiB, 'the server was asked for the rest, once');
  t.same(
    fc.reads.map((r) => r.start),
    [32, 48, 64, 80].map((k) => k * KiB),
    'the cache served its range in subrequests of its own size',
  );
});

t.test('a cache read that fails, returns nothing or comes up short is continued from the server', async (t) => {
  for (const mode of ['fail', 'none', 'short'] as const) {
    const size = 64 * KiB;
    const fc = new FakeCache(size);
    const s = readSetup(size, fc);
    fc.store.fill(0xaa); // would show if a failed cache read's bytes were used
    s.data.copy(fc.store, 0, 0, size);
    fc.held = [[0, size]];
    fc.readMode = mode;
    const dst = Buffer.alloc(size);
    t.equal(await s.inode.read(0, size, dst), size, `${mode}: whole read`);
    t.ok(dst.equals(s.data), `${mode}: bytes match`);
    const fromServer = s.ops.issuedBytes();
    if (mode === 'short') t.equal(fromServer, size / 2, 'short: only the halves the cache did not give are downloaded');
    else t.equal(fromServer, size, `${mode}: all of it downloaded`);
  }
});

t.test('what came from the server is copied to the cache (stream 1), up to EOF', async (t) => {
  const size = 100 * KiB + 123;
  const fc = new FakeCache(size);
  const s = readSetup(size, fc);
  fc.held = [[48 * KiB, 64 * KiB]];
  s.data.copy(fc.store, 48 * KiB, 48 * KiB, 64 * KiB);
  const dst = Buffer.alloc(size);
  t.equal(await s.inode.read(0, size, dst), size);
  t.ok(dst.equals(s.data), 'bytes match');
  await settle();
  t.same(
    fc.writtenRanges(),
    [
      [0, 48 * KiB],
      [64 * KiB, size],
    ],
    'exactly the downloaded ranges were written to the cache, nothing past EOF',
  );
  t.ok(fc.writes.every((w) => w.len <= fc.wsize), 'in subrequests of the cache write size');
  t.ok(fc.store.equals(s.data), 'the cache now holds the file');
});

t.test('the reader does not wait for stream 1; the request collect cursor is the minimum over streams', async (t) => {
  const fs = 16 * KiB;
  const size = 8 * fs;
  const data = pseudoRandomBytes(size, 3);
  const ops = new FakeReadOps({ data, rsize: fs });
  const cache = new PageCache({ maxBytes: 64 * fs, folioSize: fs });
  const fc = new FakeCache(size);
  fc.writeMode = 'hang';
  const req = newReadRequest({ origin: 'read', start: 0, len: size, ops, fileSize: size, cache, fscache: fc });
  t.equal(req.streams.length, 2, 'a buffered read with a writable cache has two streams');
  const folios: Folio[] = [];
  for (let i = 0; i < 8; i++) folios.push(cache.lockNew('k', i));
  for (const f of folios) loadFolio(req, f);
  t.equal(req.loadedTo, size, 'load cursor at the end of what was loaded');
  dispatchRequest(req);
  t.equal(req.submittedTo, size, 'dispatch cursor reached the load cursor');
  await Promise.all(folios.map((f) => f.wait()));
  t.ok(
    folios.every((f) => f.state === 'uptodate'),
    'every folio is up to date while stream 1 is held',
  );
  await settle();
  t.equal(req.streams[0]!.collectedTo, size, 'stream 0 collected everything');
  t.equal(fc.hung.length, 8, 'stream 1 got one copy per downloaded subrequest');
  t.equal(req.collectedTo, 0, 'the request cursor waits for stream 1');
  t.equal(req.completed, false, 'the request is not complete');
  t.ok(
    folios.every((f) => f.pins === 1),
    'folios stay pinned (their buffers not recycled) while stream 1 reads them',
  );
  fc.release(3);
  await settle();
  t.equal(req.streams[1]!.collectedTo, 3 * fs, 'stream 1 collected what was released');
  t.equal(req.collectedTo, 3 * fs, 'the request cursor is the minimum of the two');
  t.same(
    folios.map((f) => f.pins),
    [0, 0, 0, 1, 1, 1, 1, 1],
    'only the folios both streams passed are unpinned',
  );
  fc.release();
  await req.done;
  t.equal(req.collectedTo, size, 'collected to the end');
  t.equal(req.error, 0, 'no error');
  t.ok(fc.store.equals(data), 'the cache holds the data');
  t.ok(
    folios.every((f) => f.pins === 0),
    'no pins left',
  );
});

t.test('a failing stream 1 does not fail the reader and stops copying', async (t) => {
  for (const mode of ['fail', 'fail-now'] as const) {
    const size = 128 * KiB;
    const fc = new FakeCache(size);
    fc.writeMode = mode;
    const s = readSetup(size, fc, 64 * KiB);
    const dst = Buffer.alloc(16 * KiB);
    for (let pos = 0; pos < size; pos += dst.length) {
      t.equal(await s.inode.read(pos, dst.length, dst), dst.length, `${mode}: read at ${pos}`);
      if (!dst.equals(s.data.subarray(pos, pos + dst.length))) t.fail(`${mode}: bytes at ${pos} differ`);
    }
    await settle();
    t.equal(s.cache.stats().lockedBytes, 0, `${mode}: no folio left locked`);
    const whole = Buffer.alloc(size);
    t.equal(await s.inode.read(0, size, whole), size);
    t.ok(whole.equals(s.data), `${mode}: everything reads back from the page cache`);
    t.ok(fc.writes.length > 0, `${mode}: copies were tried`);
  }
  // One request over eight server subrequests collected one by one: the
  // copy of the first fails at once, so the other seven are never tried.
  const size = 128 * KiB;
  const fc = new FakeCache(size);
  fc.writeMode = 'fail-now';
  const s = readSetup(size, fc);
  const dst = Buffer.alloc(size);
  t.equal(await s.inode.read(0, size, dst), size);
  t.ok(dst.equals(s.data), 'bytes match');
  await settle();
  t.equal(s.ops.issued.length, 8, 'eight server reads');
  t.equal(fc.writes.length, 1, 'copying stopped at the first failure');
});

t.test('an unbuffered read bypasses the cache both ways', async (t) => {
  const size = 64 * KiB;
  const fc = new FakeCache(size);
  const s = readSetup(size, fc);
  s.data.copy(fc.store);
  fc.held = [[0, 32 * KiB]];
  const dst = Buffer.alloc(size);
  t.equal(await s.inode.readUnbuffered(0, size, dst), size);
  t.ok(dst.equals(s.data), 'bytes match');
  t.equal(s.ops.issuedBytes(), size, 'the server served all of it');
  t.equal(fc.reads.length, 0, 'nothing read from the cache');
  await settle();
  t.equal(fc.writes.length, 0, 'nothing copied to the cache');
});

t.test('prepareRead answers that make no sense mean the server', async (t) => {
  const answers: ((start: number, len: number) => { source: NetfsReadSource; len: number })[] = [
    () => ({ source: 'cache', len: 0 }),
    (_s, len) => ({ source: 'cache', len: len + 1 }),
    () => ({ source: 'cache', len: NaN }),
    () => ({ source: 'bogus' as NetfsReadSource, len: 1 }),
    () => {
      throw new Error('cache broke');
    },
  ];
  for (const [i, answer] of answers.entries()) {
    const size = 48 * KiB;
    const fc = new FakeCache(size);
    fc.prepareReadAnswer = answer;
    const s = readSetup(size, fc);
    const dst = Buffer.alloc(size);
    t.equal(await s.inode.read(0, size, dst), size, `answer ${i}: whole read`);
    t.ok(dst.equals(s.data), `answer ${i}: bytes match`);
    t.equal(fc.reads.length, 0, `answer ${i}: the cache was not read`);
    t.equal(s.ops.issuedBytes(), size, `answer ${i}: the server served it all`);
  }
});

t.test('the cache is told what is no longer the file, and reads begun before stop copying', async (t) => {
  const size = 128 * KiB;
  const fc = new FakeCache(size);
  const s = readSetup(size, fc);
  const dst = Buffer.alloc(size);
  const p = s.inode.read(0, size, dst);
  s.inode.invalidate();
  t.equal(await p, size);
  t.ok(dst.equals(s.data), 'the read itself is unaffected');
  await settle();
  t.same(fc.invalidations, [[0, Infinity]], 'invalidate() invalidates the whole file');
  t.equal(fc.writes.length, 0, 'nothing read before the invalidation was copied');
  t.equal(await s.inode.read(0, size, dst), size);
  await settle();
  t.same(fc.writtenRanges(), [[0, size]], 'a read after it is copied again');
  s.inode.setSize(100 * KiB);
  t.same(fc.invalidations[1], [100 * KiB, Infinity], 'a truncate invalidates past the new size');
  s.inode.discard();
  t.same(fc.invalidations[2], [0, Infinity], 'discard invalidates everything');
});

function writeSetup(fc: FakeCache) {
  const rops = new FakeReadOps({ data: Buffer.alloc(0), rsize: 16 * KiB });
  const wops = new FakeWriteOps({ server: rops, wsize: 16 * KiB });
  const cache = new PageCache({ maxBytes: 4 * 1024 * KiB, folioSize: 16 * KiB });
  const inode = new NetfsInode({
    key: 'w',
    size: 0,
    ops: rops,
    writeOps: wops,
    cache,
    fscache: fc,
    dirtyThreshold: 2 ** 40,
    dirtyExpireMs: 2 ** 40,
  });
  return { rops, wops, cache, inode };
}

t.test('writeback goes to the server (stream 0) and the cache (stream 1)', async (t) => {
  const fc = new FakeCache(128 * KiB);
  const s = writeSetup(fc);
  const a = pseudoRandomBytes(40 * KiB, 5);
  const b = pseudoRandomBytes(20 * KiB, 6);
  await s.inode.write(0, a);
  await s.inode.write(80 * KiB, b); // a gap between two dirty runs
  await s.inode.flush();
  t.ok(s.rops.data.subarray(0, a.length).equals(a), 'server has the first run');
  t.ok(s.rops.data.subarray(80 * KiB, 100 * KiB).equals(b), 'server has the second run');
  t.ok(fc.store.subarray(0, a.length).equals(a), 'cache has the first run');
  t.ok(fc.store.subarray(80 * KiB, 100 * KiB).equals(b), 'cache has the second run');
  t.same(
    fc.writtenRanges(),
    [
      [0, 40 * KiB],
      [80 * KiB, 100 * KiB],
    ],
    'no cache write spans the gap',
  );
  t.equal(s.inode.dirtyBytes, 0, 'clean');
});

t.test('a folio stays under writeback until both streams passed it', async (t) => {
  const fc = new FakeCache(64 * KiB);
  fc.writeMode = 'hang';
  const s = writeSetup(fc);
  const a = pseudoRandomBytes(48 * KiB, 7);
  await s.inode.write(0, a);
  let flushed = false;
  const p = s.inode.flush().then(() => (flushed = true));
  await settle();
  t.ok(s.rops.data.subarray(0, a.length).equals(a), 'the server has the data');
  t.equal(flushed, false, 'flush waits for the cache stream');
  t.equal(s.inode.dirtyBytes, a.length, 'folios not yet handed back clean');
  fc.release(1);
  await settle();
  t.equal(s.inode.dirtyBytes, a.length - 16 * KiB, 'the first folio, passed by both streams, is clean');
  fc.release();
  await p;
  t.equal(s.inode.dirtyBytes, 0, 'all clean');
});

t.test('an unbuffered write invalidates its range in the cache and is not copied', async (t) => {
  const fc = new FakeCache(64 * KiB);
  const s = writeSetup(fc);
  const a = pseudoRandomBytes(20 * KiB, 10);
  t.equal(await s.inode.writeUnbuffered(4 * KiB, a), a.length);
  t.ok(s.rops.data.subarray(4 * KiB, 24 * KiB).equals(a), 'the server has it');
  t.same(fc.invalidations, [[4 * KiB, 24 * KiB]], 'the range was invalidated');
  t.equal(fc.writes.length, 0, 'nothing written to the cache');
});

t.test('a cache write failure leaves writeback clean; a server failure does not', async (t) => {
  {
    const fc = new FakeCache(64 * KiB);
    fc.writeMode = 'fail';
    const s = writeSetup(fc);
    await s.inode.write(0, pseudoRandomBytes(32 * KiB, 8));
    await s.inode.flush();
    t.equal(s.inode.dirtyBytes, 0, 'cache failed: clean, flush reports nothing');
  }
  {
    const fc = new FakeCache(64 * KiB);
    const s = writeSetup(fc);
    s.wops.action = () => ({ kind: 'fail', error: EIO });
    await s.inode.write(0, pseudoRandomBytes(32 * KiB, 9));
    const e = await s.inode.flush().then(
      () => null,
      (err: unknown) => err,
    );
    t.type(e, NetfsError, 'server failed: flush rejects');
    t.equal((e as NetfsError).errno, EIO, 'with the server error');
    t.equal(s.inode.dirtyBytes, 32 * KiB, 'the data stays dirty although the cache took it');
  }
});

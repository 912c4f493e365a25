import t, { type Test } from 'tap';
import diagnostics_channel from 'node:diagnostics_channel';
import {
  NetfsInode,
  PageCache,
  NetfsError,
  NETFS_TRACE_CHANNEL,
  NETFS_MAX_RETRIES,
  type NetfsTraceEvent,
} from '../../../netfs/index.js';
import { FakeReadOps, pseudoRandomBytes, rng, type FakeOpsOptions } from '../../helpers/fake-ops.js';

const KiB = 1024;
const MiB = 1024 * 1024;

interface Setup {
  data: Buffer;
  ops: FakeReadOps;
  cache: PageCache;
  inode: NetfsInode;
}

function setup(
  size: number,
  o: Partial<FakeOpsOptions> & { folioSize?: number; maxBytes?: number; readaheadMax?: number; inodeSize?: number } = {},
): Setup {
  const data = o.data ?? pseudoRandomBytes(size, size + 17);
  const ops = new FakeReadOps({ ...o, data });
  const cache = new PageCache({ maxBytes: o.maxBytes ?? 64 * MiB, folioSize: o.folioSize ?? 16 * KiB });
  const inode = new NetfsInode({ key: 'f1', size: o.inodeSize ?? size, ops, cache, readaheadMax: o.readaheadMax });
  return { data, ops, cache, inode };
}

/** Read [pos, pos+len) and compare with the reference, clamped to `size`. */
async function check(t: Test, s: Setup, pos: number, len: number, size = s.data.length): Promise<void> {
  const dst = Buffer.alloc(len + 8, 0xee);
  const n = await s.inode.read(pos, len, dst);
  const want = Math.max(0, Math.min(len, size - pos));
  if (n !== want) t.equal(n, want, `length of read(${pos}, ${len})`);
  const ref = Buffer.alloc(want);
  if (want > 0) s.data.copy(ref, 0, pos, Math.min(pos + want, s.data.length));
  if (!dst.subarray(0, n).equals(ref)) t.fail(`bytes of read(${pos}, ${len}) differ`);
  if (dst.subarray(n).some((b) => b !== 0xee)) t.fail(`read(${pos}, ${len}) wrote past its length`);
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

/** Collect trace events for the duration of a test. */
function traces(t: Test): NetfsTraceEvent[] {
  const evs: NetfsTraceEvent[] = [];
  const fn = (m: unknown) => void evs.push(m as NetfsTraceEvent);
  diagnostics_channel.subscribe(NETFS_TRACE_CHANNEL, fn);
  t.teardown(() => void diagnostics_channel.unsubscribe(NETFS_TRACE_CHANNEL, fn));
  return evs;
}

/** Assert each request's collectedTo never moves backwards in the trace. */
function assertForward(t: Test, evs: NetfsTraceEvent[]): void {
  const last = new Map<number, number>();
  let bad = 0;
  for (const e of evs) {
    const prev = last.get(e.rreq) ?? -Infinity;
    if (e.collectedTo < prev) bad++;
    last.set(e.rreq, e.collectedTo);
  }
  t.equal(bad, 0, 'collectedTo only moves forward');
}

for (const timing of ['sync', 'immediate', 'reverse', 'random', 'timer'] as const) {
  t.test(`random reads match the reference (${timing} completion)`, async (t) => {
    const size = 3 * MiB + 12345;
    const evs = traces(t);
    const s = setup(size, { timing, rsize: 10000, seed: 7, maxBytes: 1 * MiB });
    const r = rng(timing.length * 101);
    for (let i = 0; i < 150; i++) {
      const pos = Math.floor(r() * (size + 40000));
      const len = 1 + Math.floor(r() * (r() < 0.2 ? 300 * KiB : 40 * KiB));
      await check(t, s, pos, len);
      if (s.cache.stats().bytes > s.cache.maxBytes) t.fail('cache over budget');
    }
    // Folio-boundary and EOF edges.
    for (const [pos, len] of [
      [16 * KiB - 1, 2],
      [16 * KiB, 16 * KiB],
      [32 * KiB - 5, 16 * KiB + 10],
      [size - 1, 1],
      [size - 1, 100],
      [size, 10],
      [size + 16 * KiB, 10],
      [0, size + 5],
    ] as const) {
      await check(t, s, pos, len);
    }
    t.ok(s.cache.stats().bytes <= s.cache.maxBytes, 'page cache within maxBytes');
    t.ok(s.cache.stats().evictions > 0, 'the small cache evicted');
    assertForward(t, evs);
    t.ok(evs.some((e) => e.kind === 'sreq' && e.reason === 'collected'), 'collection traced');
    // Concurrent random readers.
    const all: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) all.push(check(t, s, Math.floor(r() * size), 1 + Math.floor(r() * 100 * KiB)));
    await Promise.all(all);
  });
}

t.test('sequential read of the whole file, page-sized reads', async (t) => {
  const size = 5 * MiB + 100;
  const s = setup(size, { timing: 'random', rsize: 64 * KiB, folioSize: 64 * KiB });
  for (let pos = 0; pos < size; pos += 4 * KiB) await check(t, s, pos, 4 * KiB);
  t.equal(s.ops.issuedBytes(), size, 'every byte asked of the server once, nothing past EOF');
  t.ok(s.cache.stats().hits > 1000, 'served mostly from cache');
});

t.test('short reads continue with follow-ups at the right place', async (t) => {
  const evs = traces(t);
  const s = setup(2 * MiB + 333, {
    timing: 'reverse',
    rsize: 100000,
    action: (sub, attempt) => (attempt < 3 ? { kind: 'short', bytes: Math.max(1, Math.floor(sub.len / 3)) } : { kind: 'ok' }),
  });
  await check(t, s, 0, 2 * MiB + 333);
  await check(t, s, 12345, 777777);
  t.ok(evs.filter((e) => e.kind === 'sreq' && e.reason === 'follow-up').length > 10, 'follow-ups issued');
  assertForward(t, evs);
});

t.test('EOF: server file shorter than the known size is zero-filled', async (t) => {
  const evs = traces(t);
  const real = 100 * KiB + 5;
  const s = setup(real, { timing: 'random', rsize: 20000, inodeSize: 200 * KiB });
  const dst = Buffer.alloc(200 * KiB, 0xee);
  const n = await s.inode.read(0, 200 * KiB, dst);
  t.equal(n, 200 * KiB, 'buffered read returns up to the known size');
  t.ok(dst.subarray(0, real).equals(s.data), 'data before EOF');
  t.ok(dst.subarray(real).every((b) => b === 0), 'zeros after EOF');
  t.ok(evs.some((e) => e.kind === 'rreq' && e.reason === 'eof'), 'EOF recorded');
});

t.test('EOF: short read reaching the file size without eof flag', async (t) => {
  const size = 50 * KiB + 3;
  const s = setup(size, { timing: 'immediate', reportEof: false, rsize: 16 * KiB });
  const dst = Buffer.alloc(100 * KiB);
  t.equal(await s.inode.readUnbuffered(0, dst.length, dst), size, 'unbuffered read stops at EOF');
  t.ok(dst.subarray(0, size).equals(s.data));
  t.equal(await s.inode.readUnbuffered(size + 10, 100, dst), 0, 'past EOF reads 0');
  await check(t, s, 0, 100 * KiB);
});

t.test('unbuffered reads land in the caller buffer and skip the cache', async (t) => {
  const size = 1 * MiB + 77;
  const s = setup(size, { timing: 'random', rsize: 50000, action: (_sub, a) => (a === 0 ? { kind: 'short', bytes: 999 } : { kind: 'ok' }) });
  const dst = Buffer.alloc(700 * KiB);
  t.equal(await s.inode.readUnbuffered(300 * KiB + 1, dst.length, dst), dst.length);
  t.ok(dst.equals(s.data.subarray(300 * KiB + 1, 300 * KiB + 1 + dst.length)));
  t.equal(s.cache.stats().folios, 0, 'nothing cached');
  t.equal(await s.inode.readUnbuffered(0, 0, dst), 0);
});

t.test('retryable error once: retried, data correct', async (t) => {
  const evs = traces(t);
  const s = setup(1 * MiB, {
    timing: 'random',
    rsize: 64 * KiB,
    action: (_sub, attempt) => (attempt === 0 ? { kind: 'fail', error: -104, retryable: true, transferred: 100 } : { kind: 'ok' }),
  });
  await check(t, s, 0, 1 * MiB);
  t.equal(s.ops.issued.length, 32, 'each subrequest issued twice');
  t.equal(evs.filter((e) => e.kind === 'sreq' && e.reason === 'retry').length, 16);
});

t.test('retryable error forever: gives up after the retry bound', async (t) => {
  const s = setup(256 * KiB, {
    rsize: 256 * KiB,
    folioSize: 256 * KiB,
    readaheadMax: 0,
    action: () => ({ kind: 'fail', error: -104, retryable: true }),
  });
  const err = await s.inode.read(0, 10, Buffer.alloc(10)).catch((e: unknown) => e);
  t.type(err, NetfsError);
  t.equal((err as NetfsError).errno, -104);
  t.equal(s.ops.issued.length, 1 + NETFS_MAX_RETRIES);
});

t.test('permanent failure: surfaces once, failed folios not cached, a later read retries', async (t) => {
  const evs = traces(t);
  let failing = true;
  const bad = 3 * 16 * KiB + 5000; // inside folio 3
  const s = setup(1 * MiB, {
    timing: 'reverse',
    rsize: 16 * KiB,
    readaheadMax: 0,
    action: (sub) => (failing && sub.start <= bad && bad < sub.start + sub.len ? { kind: 'fail', error: -13 } : { kind: 'ok' }),
  });
  const dst = Buffer.alloc(8 * 16 * KiB);
  const err = await s.inode.read(0, dst.length, dst).catch((e: unknown) => e);
  t.type(err, NetfsError);
  t.equal((err as NetfsError).errno, -13, 'the server error, not a generic one');
  const fails = evs.filter((e) => e.kind === 'rreq' && e.reason === 'failed');
  t.equal(fails.length, 1, 'the request error is recorded once');
  // Let the request finish collecting.
  await new Promise((r) => setImmediate(r));
  t.equal(s.cache.peek('f1', 3), undefined, 'failed folio not cached');
  t.ok(s.cache.peek('f1', 2)?.state === 'uptodate', 'good folios before it are cached');
  t.ok(s.cache.peek('f1', 4)?.state === 'uptodate', 'good folios after it are cached');
  failing = false;
  const before = s.ops.issued.length;
  await check(t, s, 0, dst.length);
  t.equal(s.ops.issued.length - before, 1, 'only the failed folio is read again');
});

t.test('a subrequest failing in the middle of a big read', async (t) => {
  const s = setup(4 * MiB, {
    timing: 'random',
    rsize: 100000,
    readaheadMax: 0,
    action: (sub, a) => (a === 0 && sub.start === 1000000 ? { kind: 'fail', error: -5 } : { kind: 'ok' }),
  });
  const dst = Buffer.alloc(4 * MiB);
  await rejectsErrno(t, s.inode.read(0, dst.length, dst), -5);
  await new Promise((r) => setImmediate(r));
  await check(t, s, 0, 4 * MiB);
});

t.test('too much data read is an error, never trusted', async (t) => {
  const evs = traces(t);
  let lie = true;
  const s = setup(512 * KiB, { rsize: 64 * KiB, readaheadMax: 0, action: () => (lie ? { kind: 'too-much', extra: 1 } : { kind: 'ok' }) });
  await rejectsErrno(t, s.inode.read(0, 100, Buffer.alloc(100)), -5);
  await new Promise((r) => setImmediate(r));
  t.ok(evs.some((e) => e.kind === 'sreq' && e.reason === 'too-much'));
  t.equal(s.cache.stats().folios, 0, 'nothing cached');
  lie = false;
  await check(t, s, 0, 100);
  const dst = Buffer.alloc(10);
  lie = true;
  await rejectsErrno(t, s.inode.readUnbuffered(0, 10, dst), -5);
});

t.test('an issueRead that throws fails the subrequest', async (t) => {
  const s = setup(64 * KiB, { readaheadMax: 0 });
  s.ops.issueRead = () => {
    throw new Error('boom');
  };
  await rejectsErrno(t, s.inode.read(0, 10, Buffer.alloc(10)), -5);
});

t.test('duplicate and late completions are ignored', async (t) => {
  const evs = traces(t);
  const s = setup(64 * KiB, { readaheadMax: 0, folioSize: 64 * KiB, rsize: 64 * KiB });
  const orig = s.ops.issueRead.bind(s.ops);
  s.ops.issueRead = (sub) => {
    orig(sub);
    setImmediate(() => sub.complete({ transferred: 5, error: -5 }));
  };
  await check(t, s, 0, 64 * KiB);
  await new Promise((r) => setTimeout(r, 5));
  t.ok(evs.some((e) => e.kind === 'sreq' && e.reason === 'dup-complete'));
  await check(t, s, 0, 64 * KiB);
});

t.test('no progress without eof is retried, then fails', async (t) => {
  const s = setup(64 * KiB, { readaheadMax: 0, action: () => ({ kind: 'short', bytes: 0 }) });
  await rejectsErrno(t, s.inode.read(0, 10, Buffer.alloc(10)), -5);
  t.equal(s.ops.issued.length, 1 + NETFS_MAX_RETRIES);
});

t.test('concurrent readers of the same missing folios share one server read', async (t) => {
  const s = setup(4 * MiB, { timing: 'timer', rsize: 1 * MiB, readaheadMax: 0 });
  const reads: Promise<void>[] = [];
  for (let i = 0; i < 10; i++) reads.push(check(t, s, 100 * KiB + i * 100, 300 * KiB));
  await Promise.all(reads);
  const folios = Math.floor((400 * KiB + 900 - 1) / (16 * KiB)) - Math.floor((100 * KiB) / (16 * KiB)) + 1;
  t.equal(s.ops.issuedBytes(), folios * 16 * KiB, 'each folio fetched once');
  const seen = new Set<number>();
  for (const r of s.ops.issued) {
    if (seen.has(r.start)) t.fail(`range at ${r.start} read twice`);
    seen.add(r.start);
  }
  t.ok(s.cache.stats().waits > 0, 'later readers waited on locked folios');
});

t.test('readahead grows on sequential access and resets on random access', async (t) => {
  const evs = traces(t);
  const size = 64 * MiB;
  const s = setup(size, { timing: 'immediate', rsize: 1 * MiB, folioSize: 256 * KiB, maxBytes: 128 * MiB });
  const sizes: number[] = [];
  for (let pos = 0; pos < 24 * MiB; pos += 128 * KiB) {
    await check(t, s, pos, 128 * KiB);
    sizes.push(s.inode.readaheadWindow);
  }
  const ra = evs.filter((e) => e.kind === 'rreq' && e.reason === 'new' && e.origin === 'readahead').map((e) => e.len);
  t.comment(`readahead request sizes: ${ra.map((n) => n / KiB).join(' ')} KiB`);
  t.ok(ra.length >= 4, `readahead requests issued (${ra.length})`);
  t.ok(ra[0]! <= 512 * KiB, `first window small (${ra[0]})`);
  t.equal(s.inode.readaheadWindow, 8 * MiB, 'window reaches readaheadMax');
  t.ok(Math.max(...ra) >= 4 * MiB, 'readahead is issued in large requests (half a window or more)');
  for (let i = 1; i < sizes.length; i++) if (sizes[i]! < sizes[i - 1]!) t.fail('window shrank on sequential access');
  t.ok(s.ops.maxInFlight >= 8, `many subrequests in flight (${s.ops.maxInFlight})`);
  const readOrigin = evs.filter((e) => e.kind === 'rreq' && e.reason === 'new' && e.origin === 'read').length;
  t.ok(readOrigin <= 3, `reader rarely waits for a synchronous read (${readOrigin})`);
  t.ok(s.ops.issuedBytes() < 24 * MiB + 8 * MiB + 1, 'readahead stays within a window of the reader');
  await check(t, s, 50 * MiB, 4 * KiB);
  t.equal(s.inode.readaheadWindow, 256 * KiB, 'random access resets the window');
  const n = s.ops.issued.length;
  await check(t, s, 10 * MiB, 4 * KiB);
  t.equal(s.ops.issued.length, n, 'cached data is not read again');
});

t.test('invalidate and setSize drop stale folios', async (t) => {
  const s = setup(300 * KiB, { readaheadMax: 0 });
  await check(t, s, 0, 300 * KiB);
  s.ops.data = pseudoRandomBytes(300 * KiB, 4242);
  s.data = s.ops.data;
  s.inode.invalidate();
  await check(t, s, 0, 300 * KiB);
  // Grow on the server: the folio that held the old EOF must be re-read.
  const grown = pseudoRandomBytes(400 * KiB + 1, 4242);
  s.ops.data = s.data = grown;
  s.inode.setSize(grown.length);
  await check(t, s, 250 * KiB, 150 * KiB + 1);
  // Shrink then read past the new size.
  s.inode.setSize(100);
  t.equal(await s.inode.read(50, 1000, Buffer.alloc(1000)), 50);
  t.equal(await s.inode.read(100, 10, Buffer.alloc(10)), 0);
});

t.test('invalidate while a read is in flight does not cache stale data', async (t) => {
  const s = setup(64 * KiB, { readaheadMax: 0, action: () => ({ kind: 'hang' }) });
  const p = s.inode.read(0, 100, Buffer.alloc(100));
  await new Promise((r) => setImmediate(r));
  s.inode.invalidate();
  s.ops.release();
  t.equal(await p, 100, 'the reader already waiting still gets its data');
  t.equal(s.cache.stats().folios, 0, 'but the folio is not cached');
  t.equal(s.cache.stats().lockedBytes, 0);
});

t.test('a failed readahead folio is read again by the reader', async (t) => {
  const failed = new Set<number>();
  const evs = traces(t);
  const s = setup(8 * MiB, {
    rsize: 64 * KiB,
    action: (sub) => {
      // Fail the first read of each 16 KiB unit from 1 MiB on (all readahead).
      const unit = Math.floor(sub.start / (16 * KiB));
      if (sub.start < 1 * MiB || failed.has(unit)) return { kind: 'ok' };
      for (let u = unit; u * 16 * KiB < sub.start + sub.len; u++) failed.add(u);
      return { kind: 'fail', error: -5 };
    },
  });
  for (let pos = 0; pos < 2 * MiB; pos += 64 * KiB) await check(t, s, pos, 64 * KiB);
  t.ok(failed.size > 0, 'some readahead failed');
  t.ok(evs.some((e) => e.kind === 'rreq' && e.reason === 'failed' && e.origin === 'readahead'));
});

t.test('bad arguments', async (t) => {
  const s = setup(1000);
  await rejectsErrno(t, s.inode.read(-1, 10, Buffer.alloc(10)), -22);
  await rejectsErrno(t, s.inode.read(0, 1.5, Buffer.alloc(10)), -22);
  t.equal(await s.inode.read(0, 100, Buffer.alloc(10)), 10, 'clamped to dst');
});

t.test('throughput: sequential 256 MiB through the engine', async (t) => {
  const size = 256 * MiB;
  const data = pseudoRandomBytes(size, 5);
  const ops = new FakeReadOps({ data, rsize: 1 * MiB, timing: 'immediate' });
  const cache = new PageCache({ maxBytes: 64 * MiB });
  const inode = new NetfsInode({ key: 'big', size, ops, cache });
  const dst = Buffer.allocUnsafe(1 * MiB);
  const t0 = process.hrtime.bigint();
  let sum = 0;
  for (let pos = 0; pos < size; pos += dst.length) {
    const n = await inode.read(pos, dst.length, dst);
    sum += dst[n - 1]!;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const mbps = size / MiB / secs;
  t.comment(`sequential read: ${mbps.toFixed(0)} MiB/s (${secs.toFixed(2)} s), checksum byte ${sum}`);
  t.ok(mbps > 100, 'not pathologically slow');
  t.equal(ops.issuedBytes(), size, 'each byte fetched once');
  t.ok(cache.stats().bytes <= cache.maxBytes);
});

t.test('prime: the whole file handed in is read from the cache; anything else is refused', async (t) => {
  const s = setup(10 * KiB, { readaheadMax: 0 });
  t.ok(s.inode.prime(s.data), 'the whole file, within one folio: taken');
  await check(t, s, 0, 10 * KiB);
  await check(t, s, 5000, 20 * KiB);
  t.equal(s.ops.issued.length, 0, 'no read went to the server');
  const past = Buffer.alloc(100, 0xee);
  t.equal(await s.inode.read(10 * KiB, 100, past), 0, 'nothing past the end');
  t.notOk(s.inode.prime(s.data), 'a second time: refused (already cached)');

  const short = setup(10 * KiB, { readaheadMax: 0 });
  t.notOk(short.inode.prime(short.data.subarray(0, 4 * KiB)), 'less than the file: refused');
  t.notOk(short.inode.prime(Buffer.alloc(0)), 'nothing: refused');
  await check(t, short, 0, 10 * KiB);
  t.ok(short.ops.issued.length > 0, 'refused: the reads go to the server');

  const big = setup(40 * KiB, { readaheadMax: 0 });
  t.notOk(big.inode.prime(big.data), 'more than one folio: refused');

  const dirty = setup(10 * KiB, { readaheadMax: 0 });
  const w = new NetfsInode({ key: 'w1', size: 10 * KiB, ops: dirty.ops, cache: dirty.cache, writeOps: { issueWrite: () => {} } as never });
  await w.write(0, Buffer.alloc(10, 1));
  t.notOk(w.prime(dirty.data), 'a file with dirty data: refused');
});

t.test('readNow: served at once only when every folio is up to date; readahead goes on as with read()', async (t) => {
  const evs = traces(t);
  const size = 16 * MiB;
  const s = setup(size, { timing: 'immediate', rsize: 1 * MiB, folioSize: 256 * KiB, maxBytes: 64 * MiB });
  const dst = Buffer.alloc(128 * KiB, 0xee);
  t.equal(s.inode.readNow(0, 128 * KiB, dst), null, 'nothing cached: null, and no request issued');
  t.equal(s.ops.issued.length, 0);
  t.ok(dst.every((b) => b === 0xee), 'dst untouched');
  await check(t, s, 0, 128 * KiB); // a reader's first read: it starts readahead
  await new Promise((r) => setImmediate(r));
  let pos = 128 * KiB;
  let now = 0;
  let later = 0;
  for (; pos < 8 * MiB; pos += 128 * KiB) {
    const n = s.inode.readNow(pos, 128 * KiB, dst);
    if (n === null) {
      later++;
      await check(t, s, pos, 128 * KiB);
    } else {
      now++;
      t.equal(n, 128 * KiB);
      if (!dst.equals(s.data.subarray(pos, pos + 128 * KiB))) t.fail(`bytes of readNow(${pos}) differ`);
    }
    await new Promise((r) => setImmediate(r)); // the readahead issued meanwhile completes
  }
  t.ok(now > later * 4, `a sequential reader is served at once (${now} now, ${later} through read())`);
  const ra = evs.filter((e) => e.kind === 'rreq' && e.reason === 'new' && e.origin === 'readahead');
  t.ok(ra.length >= 3, `readNow keeps readahead going (${ra.length} readahead requests)`);
  t.ok(s.ops.issuedBytes() >= 8 * MiB, 'the data read was asked of the server ahead of the reader');
  t.equal(s.inode.readNow(size, 10, dst), 0, 'at EOF: 0');
  t.equal(s.inode.readNow(-1, 10, dst), null, 'a bad position: left to read()');
  const last = Buffer.alloc(64 * KiB, 0xee);
  await check(t, s, size - 100, 100);
  t.equal(s.inode.readNow(size - 100, 64 * KiB, last), 100, 'clamped at the end of the file');
  t.ok(last.subarray(0, 100).equals(s.data.subarray(size - 100)), 'the last bytes');
  t.ok(last.subarray(100).every((b) => b === 0xee), 'nothing past them');
});

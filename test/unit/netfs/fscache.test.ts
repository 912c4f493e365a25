/**
 * The disk cache store (netfs/fscache-*): the map codec, reads split between
 * the cache and the fake server through a real NetfsInode, the crash-safety
 * rule (a map cut short, data newer than the map, an invalidated extent
 * rewritten) by opening a second store over the directory the first one
 * left without closing it (what a kill -9 leaves), and culling order.
 */
import t from 'tap';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bvecq, NetfsInode, PageCache } from '../../../netfs/index.js';
import { bitmapBytes, decodeMap, encodeMap, setBit, testBit } from '../../../netfs/fscache-map.js';
import { FscacheFileOps } from '../../../netfs/fscache-ops.js';
import { FscacheStore, type FscacheObject, type FscacheStoreOptions } from '../../../netfs/fscache-store.js';
import { FakeReadOps, FakeWriteOps, pseudoRandomBytes } from '../../helpers/fake-ops.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const E = 64 * KiB;
/** Commits only when asked (settle/close), so a test decides what a crash finds. */
const NEVER = 1e9;

async function tmpDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'fscache-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

function openStore(dir: string, o: Partial<FscacheStoreOptions> = {}): Promise<FscacheStore> {
  return FscacheStore.open({ dir, maxBytes: 64 * MiB, extent: E, commitMs: NEVER, commitBytes: 1 << 30, ...o });
}

/** A NetfsInode over a fake server holding `data`, with the cache object's hooks. */
function inodeOver(store: FscacheStore, data: Buffer, version = 'v1', key = 'file-1') {
  const reads = new FakeReadOps({ data, rsize: 256 * KiB, timing: 'immediate' });
  const writes = new FakeWriteOps({ server: { data } });
  const inner = {
    maxReadSize: () => reads.maxReadSize(),
    issueRead: (s: Parameters<FakeReadOps['issueRead']>[0]) => reads.issueRead(s),
    maxWriteSize: () => writes.maxWriteSize(),
    issueWrite: (s: Parameters<FakeWriteOps['issueWrite']>[0]) => writes.issueWrite(s),
  };
  const obj = store.acquire(key, version, data.length);
  const ops = new FscacheFileOps(obj);
  const inode = new NetfsInode({ key: `${key}:${version}`, size: data.length, ops: inner, writeOps: inner, fscache: ops, cache: new PageCache({ maxBytes: 64 * MiB }), readaheadMax: 0 });
  return { inode, reads, writes, obj, ops };
}

async function readAll(inode: NetfsInode, size: number, chunk = 128 * KiB): Promise<Buffer> {
  const out = Buffer.alloc(size);
  for (let pos = 0; pos < size; pos += chunk) {
    const n = await inode.read(pos, Math.min(chunk, size - pos), out.subarray(pos, pos + Math.min(chunk, size - pos)));
    if (n <= 0) throw new Error(`short read at ${pos}`);
  }
  return out;
}

/** Wait until the store has written `bytes` in total (bounded). */
async function written(store: FscacheStore, bytes: number): Promise<void> {
  const until = Date.now() + 5000;
  while (store.counters.bytesWritten < bytes) {
    if (Date.now() > until) throw new Error(`only ${store.counters.bytesWritten} of ${bytes} bytes written`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Offer `data` as server bytes for [start, start+len) of `obj`. */
function offer(obj: FscacheObject, start: number, data: Buffer): void {
  obj.offer(start, data.length, Bvecq.fromBuffers([data], start).start(), obj.gen);
}

t.test('map codec: round trip; a cut-short, altered or foreign map is no map', async (t) => {
  const present = new Uint8Array(bitmapBytes(10 * E + 5, E));
  setBit(present, 0);
  setBit(present, 10);
  const enc = encodeMap({ key: 'k', version: 'v', size: 10 * E + 5, extent: E, present });
  const dec = decodeMap(enc);
  t.ok(dec && testBit(dec.present, 0) && testBit(dec.present, 10) && !testBit(dec.present, 5), 'bits survive');
  t.equal(dec?.size, 10 * E + 5);
  for (let cut = 0; cut < enc.length; cut += 7) t.equal(decodeMap(enc.subarray(0, cut)), null, `cut at ${cut}`);
  const altered = Buffer.from(enc);
  altered[10] = altered[10]! ^ 1;
  t.equal(decodeMap(altered), null, 'one flipped bit');
  t.equal(decodeMap(Buffer.from('{}\n')), null, 'no digest');
});

t.test('a cold read goes to the server and fills the cache; after a restart the same version reads from disk', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(3 * MiB + 12345, 3);
  const s1 = await openStore(dir);
  const a = inodeOver(s1, data);
  await a.obj.ready;
  t.same(await readAll(a.inode, data.length), data, 'cold read: right bytes');
  t.equal(s1.counters.bytesFromCache, 0);
  t.equal(s1.counters.bytesFromServer, data.length, 'all from the server');
  await s1.close();
  t.equal(s1.counters.bytesWritten, data.length, 'every byte written to the cache (the short last extent too)');

  const s2 = await openStore(dir);
  const b = inodeOver(s2, data);
  await b.obj.ready;
  t.same(await readAll(b.inode, data.length, 100_000), data, 'warm read (unaligned chunks): right bytes');
  t.equal(s2.counters.bytesFromCache, data.length, 'all from the cache');
  t.equal(b.reads.issued.length, 0, 'no server read');
  await s2.close();

  const s3 = await openStore(dir);
  const changed = pseudoRandomBytes(2 * MiB, 4);
  const c = inodeOver(s3, changed, 'v2');
  await c.obj.ready;
  t.same(await readAll(c.inode, changed.length), changed, 'another version: the new bytes');
  t.equal(s3.counters.bytesFromCache, 0, 'nothing of the old version served');
  await s3.close();
});

t.test('a read issued at once after open waits for the map (behind()) instead of going to the server', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(2 * MiB + 777, 9);
  const s1 = await openStore(dir);
  const a = inodeOver(s1, data);
  t.same(await readAll(a.inode, data.length), data, 'cold read');
  await s1.close();

  const s2 = await openStore(dir);
  const b = inodeOver(s2, data);
  const wait = b.ops.behind();
  t.ok(wait, 'behind while the map is read');
  t.same(await readAll(b.inode, data.length), data, 'right bytes, read without waiting for ready first');
  t.equal(b.ops.behind(), null, 'not behind once the map is read');
  t.equal(s2.counters.bytesFromCache, data.length, 'all from the cache');
  t.equal(b.reads.issued.length, 0, 'no server read');
  await s2.close();
});

t.test('a read split between cache and server: cached extents from disk, holes from the server', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(2 * MiB, 5);
  const s = await openStore(dir);
  const a = inodeOver(s, data);
  await a.obj.ready;
  // Cache every other extent directly.
  for (let i = 0; i < data.length / E; i += 2) offer(a.obj, i * E, data.subarray(i * E, (i + 1) * E));
  await written(s, MiB);
  const b = inodeOver(s, data);
  t.same(await readAll(b.inode, data.length, 512 * KiB), data, 'right bytes');
  t.equal(s.counters.bytesFromCache, MiB, 'half from the cache');
  t.equal(s.counters.bytesFromServer, MiB, 'half from the server');
  t.ok(b.reads.issued.every((r) => r.start % (2 * E) === E && r.len <= E), 'the server is asked only for the holes');
  await s.close();
});

t.test('crash: data written after the last commit is not trusted by the next open', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(2 * MiB, 6);
  const s1 = await openStore(dir);
  const a = inodeOver(s1, data);
  await a.obj.ready;
  offer(a.obj, 0, data.subarray(0, MiB));
  await s1.settle(); // first half: data synced, map committed
  offer(a.obj, MiB, data.subarray(MiB));
  await written(s1, 2 * MiB); // second half: on disk, never in a map
  // "kill -9": s1 is abandoned without close().
  const s2 = await openStore(dir);
  const b = inodeOver(s2, data);
  await b.obj.ready;
  t.equal(b.obj.pinRun(0, 2 * MiB), MiB, 'only the committed half is present');
  b.obj.unpin();
  t.same(await readAll(b.inode, data.length), data, 'right bytes');
  t.equal(s2.counters.bytesFromCache, MiB);
  await s2.close();
});

t.test('crash: a map write cut short (or a stray temporary) leaves an empty object, never wrong bytes', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(MiB, 7);
  const s1 = await openStore(dir);
  const a = inodeOver(s1, data);
  await a.obj.ready;
  offer(a.obj, 0, data);
  await s1.close();
  const mapFile = a.obj.mapPath;
  const whole = await readFile(mapFile);
  await writeFile(mapFile, whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(`${mapFile}.tmp`, whole.subarray(0, 10));
  const s2 = await openStore(dir);
  const names = await readdir(dir);
  t.same(names.filter((n) => n.endsWith('.tmp') || n.endsWith('.map') || n.endsWith('.data')), [], 'damaged map, its data and the temporary are gone');
  const b = inodeOver(s2, data);
  await b.obj.ready;
  t.same(await readAll(b.inode, data.length), data, 'right bytes from the server');
  t.equal(s2.counters.bytesFromCache, 0);
  await s2.close();
});

t.test('crash: an invalidated extent leaves the map on disk before its bytes are rewritten', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(MiB, 8);
  const s = await openStore(dir);
  const a = inodeOver(s, data);
  await a.obj.ready;
  offer(a.obj, 0, data);
  await s.settle();
  // A write through the mount changes the first extent.
  const newer = Buffer.alloc(E, 0x5a);
  await a.inode.write(0, newer);
  await a.inode.flush();
  t.notOk(a.obj.pinRun(0, E) > 0, 'the written extent is no longer present');
  const before = s.counters.bytesWritten;
  offer(a.obj, 0, newer);
  await written(s, before + E);
  const rec = decodeMap(await readFile(a.obj.mapPath));
  t.ok(rec, 'the map on disk is whole');
  t.notOk(rec && testBit(rec.present, 0), 'the map on disk does not claim the rewritten extent');
  t.ok(rec && testBit(rec.present, 1), 'it still claims the others');
  const back = Buffer.alloc(E);
  t.equal(await a.obj.readInto([back], 0), E);
  t.same(back, newer, 'the data file holds the new bytes');
  await s.close();
});

t.test('culling: least recently used first, never a pinned object, and the bound holds', async (t) => {
  const dir = await tmpDir(t);
  const s = await openStore(dir, { maxBytes: MiB });
  const half = pseudoRandomBytes(512 * KiB, 9);
  const objs: FscacheObject[] = [];
  for (const k of ['A', 'B']) {
    const o = s.acquire(k, 'v', half.length);
    await o.ready;
    offer(o, 0, half);
    objs.push(o);
  }
  await written(s, MiB);
  const [A, B] = objs as [FscacheObject, FscacheObject];
  A.lastUse = 1000;
  B.lastUse = 500; // B is the least recently used
  const C = s.acquire('C', 'v', half.length);
  await C.ready;
  offer(C, 0, half);
  await written(s, MiB + 512 * KiB);
  await s.settle();
  t.equal(B.usage, 0, 'B (least recently used) was culled');
  t.equal(A.usage, 512 * KiB, 'A kept');
  t.ok(s.stats().bytesUsed <= MiB, `bound holds (${s.stats().bytesUsed})`);
  t.equal(s.counters.bytesCulled, 512 * KiB);
  await t.rejects(stat(B.dataPath), 'B data file removed');

  // A is now the oldest but is being read: D's room comes from C instead.
  A.lastUse = 1;
  C.lastUse = 2;
  t.equal(A.pinRun(0, E), E, 'A pinned by a read');
  const D = s.acquire('D', 'v', half.length);
  await D.ready;
  offer(D, 0, half);
  await written(s, 2 * MiB);
  t.equal(A.usage, 512 * KiB, 'pinned A not culled');
  t.equal(C.usage, 0, 'C culled instead');
  A.unpin();
  let du = 0;
  for (const n of await readdir(dir)) du += (await stat(path.join(dir, n))).blocks * 512;
  t.ok(du <= MiB + 64 * KiB, `disk usage of the directory ${du} within the bound (plus maps)`);
  await s.close();
});

t.test('writeback is not cached (its extents are dropped); a whole-file invalidation suspends the open file without discarding', async (t) => {
  const dir = await tmpDir(t);
  const data = pseudoRandomBytes(MiB, 10);
  const s = await openStore(dir);
  const a = inodeOver(s, data);
  await a.obj.ready;
  await readAll(a.inode, data.length);
  await s.settle();
  const cachedBefore = s.counters.bytesWritten;
  t.equal(cachedBefore, MiB, 'the read was copied to the cache');
  await a.inode.write(2 * E + 100, Buffer.alloc(10, 1));
  await a.inode.flush();
  await s.settle();
  t.equal(s.counters.bytesWritten, cachedBefore, 'nothing of the writeback went into the cache');
  t.equal(a.obj.presentRun(2 * E, E), 0, 'the written extent is dropped');
  t.equal(a.obj.presentRun(0, 2 * E), 2 * E, 'the others stay');

  a.inode.invalidate(); // what a last close under cache=strict does
  t.same(a.ops.prepareRead(0, E), { source: 'server', len: E }, 'suspended: the server');
  t.equal(a.obj.presentRun(0, 2 * E), 2 * E, 'but the data is kept');
  a.ops.rebind(s.acquire('file-1', 'v1', data.length));
  t.same(a.ops.prepareRead(0, 4 * E), { source: 'cache', len: 2 * E }, 'a new open of the same version uses it again');
  a.ops.rebind(s.acquire('file-1', 'v2', data.length));
  await a.ops.obj.ready;
  t.equal(a.ops.prepareRead(0, E).source, 'server', 'another version: nothing');
  await s.close();
});

t.test('behind(): past half the write-behind queue, readers wait for the disk instead of having copies dropped', async (t) => {
  // 16 extents of queue: a folio of the page cache (256 KiB) is 4.
  const store = await openStore(await tmpDir(t), { queueBytes: 16 * E });
  t.teardown(() => store.close());
  t.equal(store.behind(), null, 'empty queue: not behind');
  const data = pseudoRandomBytes(256 * E, 9);
  const obj = store.acquire('behind', 'v1', data.length);
  offer(obj, 0, data.subarray(0, 12 * E));
  const wait = store.behind();
  t.ok(wait, 'twelve extents queued of sixteen: behind');
  t.equal(store.behind(), wait, 'one promise for every waiter');
  await wait;
  t.equal(store.behind(), null, 'settled once at most half is queued');

  // A reader goes through a 16 MiB file faster than the cache is written: nothing dropped.
  const { inode } = inodeOver(store, data, 'v1', 'reader');
  t.ok((await readAll(inode, data.length, 4 * E)).equals(data), 'the bytes');
  await store.settle();
  t.equal(store.counters.bytesDropped, 0, 'no copy dropped');
  t.equal(store.counters.bytesWritten, 12 * E + data.length, 'every extent written to the cache');
});

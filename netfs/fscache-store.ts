/**
 * The persistent local disk cache (after Linux fscache/cachefiles): one cache
 * object per file, each a sparse data file plus a map (fscache-map.ts) in one
 * directory, bounded in bytes, surviving restarts.
 *
 * Keys and versions are opaque strings from the filesystem; an object is
 * named by a hash of its key and holds data only for one version: binding it
 * to another version (the file changed) discards what it holds.
 *
 * Crash safety: the rule is "the map on disk never claims an extent whose
 * bytes in the data file are not the bytes it had when the map was written".
 * Two orders keep it, whenever the process dies:
 *   1. commit = fdatasync the data file, then write the map to a temporary
 *      file, fsync it and rename it over the old map; so an extent reaches the
 *      map only after its bytes are on disk, and a map is whole or absent;
 *   2. before bytes of an extent the map claims are overwritten (an extent
 *      invalidated by a write, an object reset for a new version, a culled
 *      object), the map without that extent is committed (or the map is
 *      removed) first.
 * A map that is cut short or damaged fails its digest and counts as no map.
 * The alternative, a digest per extent checked on every read, costs a hash
 * of every byte served; the ordering costs one fdatasync per commit.
 *
 * Every change to the directory (writes, commits, resets, culls) runs on one
 * serial chain, so they never interleave; reads from the data files run
 * beside it, and an object with reads in flight (pinned) is never culled.
 * Data from the server comes in through offer() into a bounded queue and is
 * written behind the reader; when the queue is full the data is dropped.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { BvecqPos } from './bvecq.js';
import { bitmapBytes, clearBit, decodeMap, encodeMap, setBit, testBit } from './fscache-map.js';

/** Default extent: 256 KiB, the page cache's folio size. */
export const FSCACHE_DEFAULT_EXTENT = 256 * 1024;

export interface FscacheStoreOptions {
  /** Directory of the objects (created if missing). */
  dir: string;
  /** Bound on the bytes the data files hold. */
  maxBytes: number;
  /** Bytes per extent (default 256 KiB). */
  extent?: number;
  /** Bytes of server data waiting to be written; more is dropped (default 64 MiB). */
  queueBytes?: number;
  /** An object's map is committed after this many new bytes (default 32 MiB). */
  commitBytes?: number;
  /** ...or this long after its first uncommitted change (default 1000 ms). */
  commitMs?: number;
}

export interface FscacheStats {
  /** Bytes read from the cache / from the server for files that use the cache. */
  bytesFromCache: number;
  bytesFromServer: number;
  /** Bytes written into data files. */
  bytesWritten: number;
  /** Bytes freed by culling. */
  bytesCulled: number;
  /** Bytes of server data not cached because the queue was full or there was no room. */
  bytesDropped: number;
  /** Bytes the data files hold now, and the bound. */
  bytesUsed: number;
  maxBytes: number;
  objects: number;
}

interface WriteEntry {
  obj: FscacheObject;
  gen: number;
  index: number;
  data: Buffer;
}

const emptyBits = (size: number, extent: number) => new Uint8Array(bitmapBytes(size, extent));

/** Ignore a missing file. */
async function unlinkQuiet(p: string): Promise<void> {
  await unlink(p).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** One file's cache object. Created by FscacheStore.acquire; released by release(). */
export class FscacheObject {
  key = '';
  version = '';
  size = 0;
  /** Extents readable now (written in this process or claimed by a valid map). */
  present = new Uint8Array(0);
  /** Extents the map on disk claims. */
  committed = new Uint8Array(0);
  /** Extents with bytes in the data file (counted in `usage`). */
  alloc = new Uint8Array(0);
  /** Bytes of the data file counted against the bound. */
  usage = 0;
  /** Bumped by every invalidation: data read from the server before it is not cached. */
  gen = 0;
  /** Reads from the data file in flight (and loads): not culled while > 0. */
  pins = 0;
  /** Holders (open files); 0: may be forgotten once culled. */
  refs = 0;
  lastUse = 0;
  /** The in-memory map differs from the map on disk. */
  dirty = false;
  dirtySince = 0;
  /** Bytes written since the last commit. */
  uncommitted = 0;
  /** Resolves when the map has been loaded (or the object reset) for the bound version. */
  ready: Promise<void> = Promise.resolve();
  /** `ready` while it is pending, else null: until then no extent counts as present. */
  binding: Promise<void> | null = null;
  /** This process has read the map on disk (or reset it). */
  loaded = false;
  private fh: Promise<FileHandle> | null = null;

  constructor(
    readonly store: FscacheStore,
    /** Hash of the key: the file names. */
    readonly name: string,
  ) {}

  get dataPath(): string {
    return path.join(this.store.dir, `${this.name}.data`);
  }

  get mapPath(): string {
    return path.join(this.store.dir, `${this.name}.map`);
  }

  get extent(): number {
    return this.store.extent;
  }

  /** The data file, opened (and created) once. */
  handle(): Promise<FileHandle> {
    if (!this.fh) {
      const p = open(this.dataPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
      p.catch(() => (this.fh = null));
      this.fh = p;
    }
    return this.fh;
  }

  async closeHandle(): Promise<void> {
    const p = this.fh;
    this.fh = null;
    if (p) await (await p.catch(() => null))?.close().catch(() => {});
  }

  get hasHandle(): boolean {
    return this.fh !== null;
  }

  /** Length of extent i (the last one may be short). */
  extentLen(i: number): number {
    return Math.min(this.extent, this.size - i * this.extent);
  }

  /** Bytes from `start` (at most `len`, not past the size) whose extents are all present. */
  presentRun(start: number, len: number): number {
    const e = this.extent;
    const end = Math.min(start + len, this.size);
    let at = start;
    while (at < end && testBit(this.present, Math.floor(at / e))) at = (Math.floor(at / e) + 1) * e;
    return Math.max(0, Math.min(at, end) - start);
  }

  /** presentRun(), and if it is not 0 the object is pinned (not culled) until unpin(). */
  pinRun(start: number, len: number): number {
    const n = this.presentRun(start, len);
    if (n > 0) {
      this.pins++;
      this.lastUse = Date.now();
    }
    return n;
  }

  unpin(): void {
    this.pins--;
  }

  /**
   * How much of [start, start+len) to ask the server for: up to the next
   * present extent, and ending on an extent boundary where it crosses one
   * (unless it reaches the file's end), so the data comes back in whole
   * extents the cache can take.
   */
  serverSpan(start: number, len: number): number {
    const e = this.extent;
    let end = start + len;
    for (let i = Math.floor(start / e) + 1; i * e < end; i++) {
      if (testBit(this.present, i)) {
        end = i * e;
        return end - start;
      }
    }
    if (end < this.size) {
      const b = Math.floor(end / e) * e;
      if (b > start) end = b;
    }
    return end - start;
  }

  /** Read present bytes at `pos` into `bufs` (a pinned run); resolves to bytes read. */
  async readInto(bufs: Buffer[], pos: number): Promise<number> {
    const fh = await this.handle();
    const { bytesRead } = await fh.readv(bufs, pos);
    return bytesRead;
  }

  /** Forget [start, end): a write changed it, or the data file did not give it back. */
  invalidate(start: number, end: number): void {
    if (end <= start || this.present.length === 0) return;
    const e = this.extent;
    const last = Math.min(Math.ceil(end / e), Math.ceil(this.size / e));
    let changed = false;
    for (let i = Math.floor(start / e); i < last; i++) {
      if (testBit(this.present, i)) changed = true;
      clearBit(this.present, i);
    }
    this.gen++;
    if (changed) this.store.markDirty(this);
  }

  /**
   * Server data for [start, start+n) now sits at `at`: copy out the whole
   * extents in it (and the last extent if it reaches the end of the file)
   * and queue them for writing. Called before the buffer is handed on.
   */
  offer(start: number, n: number, at: BvecqPos, gen: number): void {
    if (gen !== this.gen || n <= 0) return;
    const e = this.extent;
    const end = Math.min(start + n, this.size);
    for (let i = Math.ceil(start / e); i * e < end; i++) {
      const len = this.extentLen(i);
      if (i * e + len > end) break;
      if (testBit(this.present, i)) continue;
      if (!this.store.queueRoom(len)) return;
      const data = Buffer.allocUnsafe(len);
      const p = at.clone();
      p.advance(i * e - start);
      if (p.copyOut(data, 0, len) !== len) return;
      this.store.enqueue({ obj: this, gen, index: i, data });
    }
  }

  /** Stop holding the object (the file is no longer open here). */
  release(): void {
    this.refs = Math.max(0, this.refs - 1);
  }
}

export class FscacheStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly extent: number;
  private readonly queueMax: number;
  private readonly commitBytes: number;
  private readonly commitMs: number;
  private readonly objects = new Map<string, FscacheObject>();
  private used = 0;
  private queue: WriteEntry[] = [];
  private queued = 0;
  private pumping: Promise<void> | null = null;
  /** Waiting for the queue to drain to half (behind()). */
  private catchUp: { promise: Promise<void>; resolve: () => void } | null = null;
  private serial: Promise<unknown> = Promise.resolve();
  private readonly dirtyObjects = new Set<FscacheObject>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  readonly counters = { bytesFromCache: 0, bytesFromServer: 0, bytesWritten: 0, bytesCulled: 0, bytesDropped: 0 };

  private constructor(o: FscacheStoreOptions) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes;
    this.extent = o.extent ?? FSCACHE_DEFAULT_EXTENT;
    this.queueMax = o.queueBytes ?? 64 * 1024 * 1024;
    this.commitBytes = o.commitBytes ?? 32 * 1024 * 1024;
    this.commitMs = o.commitMs ?? 1000;
  }

  /** Open the cache in `o.dir`: drop leftovers of a crash, count what is there, cull to the bound. */
  static async open(o: FscacheStoreOptions): Promise<FscacheStore> {
    const s = new FscacheStore(o);
    await mkdir(s.dir, { recursive: true, mode: 0o700 });
    await s.scan();
    if (s.used > s.maxBytes) await s.run(() => s.cull(0, null));
    s.timer = setInterval(() => s.commitAged(), Math.max(50, s.commitMs / 2));
    s.timer.unref();
    return s;
  }

  /** Read every map: damaged ones and data files without a map go; the rest are counted. */
  private async scan(): Promise<void> {
    const names = await readdir(this.dir);
    const maps = new Set(names.filter((n) => n.endsWith('.map')).map((n) => n.slice(0, -4)));
    for (const n of names) {
      const p = path.join(this.dir, n);
      if (n.endsWith('.tmp')) await unlinkQuiet(p);
      else if (n.endsWith('.data') && !maps.has(n.slice(0, -5))) await unlinkQuiet(p);
    }
    for (const name of maps) {
      const obj = new FscacheObject(this, name);
      const rec = decodeMap(await readFile(obj.mapPath).catch(() => Buffer.alloc(0)));
      const st = await stat(obj.dataPath).catch(() => null);
      if (!rec || !st || rec.extent !== this.extent) {
        await unlinkQuiet(obj.mapPath);
        await unlinkQuiet(obj.dataPath);
        continue;
      }
      obj.usage = st.blocks * 512;
      obj.lastUse = st.mtimeMs;
      this.used += obj.usage;
      this.objects.set(name, obj);
    }
  }

  /** Run a change to the directory after every earlier one. */
  private run<T>(task: () => Promise<T>): Promise<T> {
    const p = this.serial.then(task);
    this.serial = p.catch(() => {});
    return p;
  }

  /**
   * The object for `key`, bound to `version` (a file of `size` bytes). What
   * it holds for another version is discarded. Reads find nothing until
   * `ready` resolves.
   */
  acquire(key: string, version: string, size: number): FscacheObject {
    const name = createHash('sha256').update(key).digest('hex').slice(0, 40);
    let obj = this.objects.get(name);
    if (!obj) {
      obj = new FscacheObject(this, name);
      this.objects.set(name, obj);
    }
    obj.refs++;
    obj.lastUse = Date.now();
    if (obj.loaded && obj.key === key && obj.version === version && obj.size === size) return obj;
    obj.key = key;
    obj.version = version;
    obj.size = size;
    obj.gen++;
    obj.present = emptyBits(size, this.extent);
    const o = obj;
    o.pins++;
    const ready: Promise<void> = this.run(() => this.bind(o, key, version, size))
      .finally(() => {
        o.pins--;
        if (o.binding === ready) o.binding = null;
      })
      .catch(() => {});
    o.ready = ready;
    o.binding = ready;
    return obj;
  }

  /** Use the map on disk if it is for this version; otherwise start the object afresh. */
  private async bind(obj: FscacheObject, key: string, version: string, size: number): Promise<void> {
    if (obj.key !== key || obj.version !== version || obj.size !== size) return; // bound again since
    if (!obj.loaded) {
      const rec = decodeMap(await readFile(obj.mapPath).catch(() => Buffer.alloc(0)));
      obj.loaded = true;
      if (rec && rec.key === key && rec.version === version && rec.size === size && rec.extent === this.extent) {
        obj.committed = rec.present.slice();
        obj.alloc = rec.present.slice();
        if (obj.key === key && obj.version === version) obj.present = rec.present.slice();
        return;
      }
    }
    // Rule 2: the old map goes before any byte of the data file changes.
    await unlinkQuiet(obj.mapPath);
    await obj.closeHandle();
    await unlinkQuiet(obj.dataPath);
    this.used -= obj.usage;
    obj.usage = 0;
    obj.committed = emptyBits(size, this.extent);
    obj.alloc = emptyBits(size, this.extent);
    obj.uncommitted = 0;
    this.markDirty(obj);
  }

  /** The map of `obj` should be committed soon. */
  markDirty(obj: FscacheObject): void {
    if (!obj.dirty) {
      obj.dirty = true;
      obj.dirtySince = Date.now();
    }
    this.dirtyObjects.add(obj);
  }

  /** Whether `len` more bytes fit in the write-behind queue; counts a drop if not. */
  queueRoom(len: number): boolean {
    if (!this.closed && this.queued + len <= this.queueMax) return true;
    this.counters.bytesDropped += len;
    return false;
  }

  /**
   * null while the write-behind queue is at most half full; otherwise a
   * promise that settles once it is (or the store closes). Readers wait on it
   * rather than outrun the disk: data offered to a full queue is dropped.
   */
  behind(): Promise<void> | null {
    if (this.closed || this.queued <= this.queueMax / 2) return null;
    if (!this.catchUp) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.catchUp = { promise, resolve };
    }
    return this.catchUp.promise;
  }

  private caughtUp(): void {
    if (this.catchUp && (this.closed || this.queued <= this.queueMax / 2)) {
      this.catchUp.resolve();
      this.catchUp = null;
    }
  }

  enqueue(e: WriteEntry): void {
    this.queue.push(e);
    this.queued += e.data.length;
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
  }

  /** Write queued extents one at a time on the serial chain. */
  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const e = this.queue.shift()!;
      await this.run(() => this.writeExtent(e)).catch(() => {
        this.counters.bytesDropped += e.data.length;
      });
      this.queued -= e.data.length;
      this.caughtUp();
    }
  }

  private async writeExtent(e: WriteEntry): Promise<void> {
    const { obj, index: i, data } = e;
    if (e.gen !== obj.gen || testBit(obj.present, i)) return;
    // Rule 2: the map must stop claiming this extent before its bytes change.
    if (testBit(obj.committed, i)) await this.commit(obj);
    if (!testBit(obj.alloc, i) && this.used + data.length > this.maxBytes) {
      await this.cull(data.length, obj);
      if (this.used + data.length > this.maxBytes) {
        this.counters.bytesDropped += data.length;
        return;
      }
    }
    if (e.gen !== obj.gen) return;
    const fh = await obj.handle();
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, i * this.extent + done);
      if (bytesWritten <= 0) throw new Error('fscache: short write');
      done += bytesWritten;
    }
    if (!testBit(obj.alloc, i)) {
      setBit(obj.alloc, i);
      obj.usage += data.length;
      this.used += data.length;
    }
    this.counters.bytesWritten += data.length;
    if (e.gen === obj.gen) setBit(obj.present, i);
    obj.uncommitted += data.length;
    this.markDirty(obj);
    if (obj.uncommitted >= this.commitBytes) await this.commit(obj);
  }

  /** Rule 1: data to disk, then the map (temporary file, fsync, rename). On the serial chain only. */
  private async commit(obj: FscacheObject): Promise<void> {
    if (!obj.loaded) return;
    const snapshot = obj.present.slice();
    if (obj.hasHandle) await (await obj.handle()).datasync();
    const tmp = `${obj.mapPath}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(encodeMap({ key: obj.key, version: obj.version, size: obj.size, extent: this.extent, present: snapshot }));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, obj.mapPath);
    obj.committed = snapshot;
    obj.uncommitted = 0;
    obj.dirty = false;
    this.dirtyObjects.delete(obj);
  }

  /** Commit the maps that have waited commitMs. */
  private commitAged(): void {
    const now = Date.now();
    for (const obj of this.dirtyObjects) {
      if (now - obj.dirtySince < this.commitMs) continue;
      obj.dirtySince = now; // not again before it is done
      void this.run(() => (obj.dirty ? this.commit(obj) : Promise.resolve())).catch(() => {});
    }
  }

  /**
   * Free room for `need` more bytes, least recently used objects first, down
   * to 90% of the bound so culling is not needed on every write. Skips
   * pinned objects and `keep` (the one being written). On the serial chain only.
   */
  private async cull(need: number, keep: FscacheObject | null): Promise<void> {
    const target = Math.max(0, Math.floor(this.maxBytes * 0.9) - need);
    const victims = [...this.objects.values()].filter((o) => o !== keep && o.usage > 0).sort((a, b) => a.lastUse - b.lastUse);
    for (const o of victims) {
      if (this.used <= target) break;
      if (o.pins > 0) continue;
      await this.cullObject(o);
    }
  }

  private async cullObject(o: FscacheObject): Promise<void> {
    o.gen++;
    o.present.fill(0);
    // Rule 2: the map goes first.
    await unlinkQuiet(o.mapPath);
    o.committed.fill(0);
    await o.closeHandle();
    await unlinkQuiet(o.dataPath);
    o.alloc.fill(0);
    this.used -= o.usage;
    this.counters.bytesCulled += o.usage;
    o.usage = 0;
    o.uncommitted = 0;
    this.dirtyObjects.delete(o);
    o.dirty = false;
    if (o.refs === 0) this.objects.delete(o.name);
  }

  stats(): FscacheStats {
    return { ...this.counters, bytesUsed: this.used, maxBytes: this.maxBytes, objects: [...this.objects.values()].filter((o) => o.usage > 0).length };
  }

  /**
   * Write what is queued, commit every map, close the data files. Ends the
   * store: data offered afterwards is dropped. The caller bounds the wait.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.caughtUp();
    if (this.timer) clearInterval(this.timer);
    while (this.pumping) await this.pumping;
    await this.run(async () => {
      for (const o of this.objects.values()) {
        if (o.dirty) await this.commit(o).catch(() => {});
        else if (o.loaded && o.usage > 0) await utimes(o.mapPath, new Date(), new Date(o.lastUse)).catch(() => {});
        await o.closeHandle();
      }
    });
  }

  /** Wait until everything queued so far is written and every map committed (tests, benchmarks). */
  async settle(): Promise<void> {
    while (this.pumping) await this.pumping;
    await this.run(async () => {
      for (const o of [...this.dirtyObjects]) if (o.dirty) await this.commit(o);
    });
  }
}

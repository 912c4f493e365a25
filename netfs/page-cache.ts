/**
 * The page cache: folios (fixed-size Buffers) keyed by (file key, folio index).
 *
 * Up-to-date folios live in an LRUCache bounded in bytes. A folio being filled
 * is *locked*: it is not readable and must not be evicted, and lru-cache v11
 * cannot refuse an eviction, so locked folios wait in a separate Map outside
 * the LRU and are inserted only once filled. Locked bytes count against the
 * same budget: before a folio is locked, up-to-date folios are evicted to make
 * room for it.
 *
 * Folio buffers are not written after they are up to date. A reader pins the
 * folios it is copying from, or lending out until its caller is done with the
 * bytes (NetfsInode.lendNow; pin()/unpin()); the buffer of an unpinned folio
 * that leaves the LRU is recycled for the next locked folio, which spares a
 * fresh allocation (and its page faults and GC work) per folio on long
 * sequential reads. A pinned folio that leaves the LRU is left to the GC, so a
 * reader may copy from it after eviction or invalidation.
 *
 * Use-once folios (dropBehind(), and held folios marked `useOnce`): a long
 * sequential stream would push everything else out of the LRU and, until the
 * budget is full, allocate (page-fault and make the GC account for) a fresh
 * buffer per folio. The folios a streaming reader has passed, and those a
 * streaming writer wrote once written back, are dropped at once instead and
 * their buffers reused for the stream's next folios.
 *
 * Written folios are *held*: a folio that is dirty, under writeback, or only
 * partly valid (a "streaming write" folio made by a write without a read) lives
 * in a third map, outside the LRU, and is never evicted; its bytes count
 * against the budget too (so clean folios make room for it), but a write is
 * never refused: back-pressure is throttle(), which starts writeback of every
 * file once dirty bytes pass half the budget. A held folio that becomes clean
 * and up to date goes back to the LRU; one that is clean but only partly valid
 * is dropped (its bytes are on the server). Held folios are written in place
 * (that is what a write is), so their buffers are never recycled.
 *
 * Up-to-date folios hold zeros past the file size; the inode keeps that so.
 */
import { LRUCache } from 'lru-cache';

/** Default folio size: 256 KiB. */
export const DEFAULT_FOLIO_SIZE = 256 * 1024;

/**
 * locked: being filled by a read; uptodate: every byte valid; failed: the fill
 * failed (not cached); partial: only [validFrom, validTo) is valid (written
 * without reading the rest: netfslib's streaming write folio).
 */
export type FolioState = 'locked' | 'uptodate' | 'failed' | 'partial';

/** Which map of the cache holds a folio ('none': dropped or never cached). */
export type FolioHome = 'none' | 'lru' | 'locked' | 'held';

/** One cache unit: `buf` holds file bytes [start, start + buf.length). */
export class Folio {
  state: FolioState = 'locked';
  /** Negative errno when the fill failed. */
  error = 0;
  /** Set when the file was invalidated while the folio was being filled. */
  orphan = false;
  /** Readers copying from this folio or lending it out; its buffer is not recycled while > 0. */
  pins = 0;
  /** Written by a sequential stream: dropped (buffer reused) once clean, not kept in the LRU. */
  useOnce = false;
  home: FolioHome = 'locked';
  /** Valid byte range (offsets in the folio) of a 'partial' folio. */
  validFrom = 0;
  validTo = 0;
  /** Dirty byte range (offsets in the folio); dirty when dirtyTo > dirtyFrom. */
  dirtyFrom = 0;
  dirtyTo = 0;
  /** Bumped at every write, so writeback can tell a folio re-dirtied under it. */
  dirtyGen = 0;
  /** Writeback requests covering this folio (0 or 1: passes are serialised per file). */
  writeback = 0;
  /** Negative errno of the last failed writeback of this folio (it stays dirty). */
  wbError = 0;
  /** Gap fill of a partial folio in flight; resolves to 0 or a negative errno. */
  filling: Promise<number> | null = null;
  /**
   * Trailing bytes of an up-to-date folio that are zeros not yet written
   * into `buf` (a new folio past the zero point written from its start, or a
   * small file's folio): a writer fills them with data next, or nobody reads
   * them at all, so zeroing a whole folio for a few bytes would be wasted
   * (and would fault in all of a fresh buffer). Whatever reads `buf` beyond
   * written bytes calls materialize() first; a write into them zeroes only
   * the gap it leaves (markDirty).
   */
  zeroTail = 0;
  private waiters: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly key: string,
    readonly index: number,
    readonly start: number,
    readonly buf: Buffer,
  ) {}

  get end(): number {
    return this.start + this.buf.length;
  }

  get dirty(): boolean {
    return this.dirtyTo > this.dirtyFrom;
  }

  /** Settles (never rejects) once the folio is up to date or has failed. */
  wait(): Promise<void> {
    if (this.state !== 'locked') return Promise.resolve();
    if (!this.waiters) this.waiters = new Promise<void>((resolve) => (this.wake = resolve));
    return this.waiters;
  }

  /** Write the pending zeros of zeroTail below offset `upTo` (all of them by default) into `buf`. */
  materialize(upTo = this.buf.length): void {
    const from = this.buf.length - this.zeroTail;
    if (upTo <= from) return;
    this.buf.fill(0, from, upTo);
    this.zeroTail = this.buf.length - upTo;
  }

  /** Leave the locked state and wake any waiters. */
  settle(state: 'uptodate' | 'failed', error: number): void {
    this.state = state;
    this.error = error;
    const wake = this.wake;
    this.wake = null;
    this.waiters = null;
    wake?.();
  }
}

export interface PageCacheOptions {
  /** Byte budget for cached plus locked folios. */
  maxBytes: number;
  /** Folio size in bytes, a power of two (default 256 KiB). */
  folioSize?: number;
}

export interface PageCacheStats {
  /** Lookups by readers that found an up-to-date folio. */
  hits: number;
  /** Lookups by readers that found nothing (a read was issued). */
  misses: number;
  /** Lookups by readers that found a locked folio and waited for it. */
  waits: number;
  /** Bytes held: up-to-date folios in the LRU plus locked folios. */
  bytes: number;
  /** Bytes of up-to-date folios in the LRU. */
  cachedBytes: number;
  /** Bytes of folios being filled. */
  lockedBytes: number;
  /** Up-to-date folios in the LRU. */
  folios: number;
  /** Folios evicted to stay within maxBytes. */
  evictions: number;
  /** Locked folios that reused an evicted folio's buffer. */
  recycled: number;
  /** Folios dropped as soon as a stream was done with them (use-once). */
  droppedBehind: number;
  /** Bytes of held folios (dirty, under writeback or partly valid); never evicted. */
  heldBytes: number;
  /** Held folios. */
  heldFolios: number;
  /** Dirty bytes (sum of the folios' dirty ranges, including those under writeback). */
  dirtyBytes: number;
}

/** One folio's part in a writeback pass: its dirty range as file positions, and the generation written. */
export interface WritebackFolio {
  folio: Folio;
  gen: number;
  from: number;
  to: number;
  /** Negative errno if a subrequest covering it failed. */
  error: number;
}

/** Buffers kept for reuse even beyond maxBytes (briefly); more only while they fit in it. */
const FREE_BUFFERS_MAX = 16;

/** Map key of a folio. The last NUL separates the file key from the index. */
function folioKey(key: string, index: number): string {
  return key + '\0' + index;
}

/** A byte-bounded cache of file folios shared by all open files. */
export class PageCache {
  readonly folioSize: number;
  readonly folioShift: number;
  readonly maxBytes: number;
  private readonly lru: LRUCache<string, Folio>;
  private readonly locked = new Map<string, Folio>();
  /** Indices of each file's folios in the LRU, for invalidation. */
  private readonly files = new Map<string, Set<number>>();
  private lockedBytes = 0;
  private hits = 0;
  private misses = 0;
  private waits = 0;
  private evictions = 0;
  private recycled = 0;
  private droppedBehind = 0;
  /** Buffers of evicted, unpinned folios, ready for reuse. */
  private readonly free: Buffer[] = [];
  /** Held folios (dirty, under writeback, partial), by map key and per file. */
  private readonly held = new Map<string, Folio>();
  private readonly heldFiles = new Map<string, Map<number, Folio>>();
  private heldBytes = 0;
  private dirtyBytes = 0;
  private readonly dirtyFiles = new Map<string, number>();
  /** Per file: start writeback, for throttle(). */
  private readonly flushers = new Map<string, () => Promise<unknown>>();

  constructor(opts: PageCacheOptions) {
    const fs = opts.folioSize ?? DEFAULT_FOLIO_SIZE;
    if (!Number.isInteger(fs) || fs < 512 || (fs & (fs - 1)) !== 0 || fs > 2 ** 30) {
      throw new RangeError(`page cache: folioSize ${fs} is not a power of two in [512, 1 GiB]`);
    }
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1) {
      throw new RangeError(`page cache: maxBytes ${opts.maxBytes} must be a positive integer`);
    }
    this.folioSize = fs;
    this.folioShift = Math.log2(fs);
    this.maxBytes = opts.maxBytes;
    this.lru = new LRUCache<string, Folio>({
      maxSize: opts.maxBytes,
      sizeCalculation: (f) => f.buf.length,
      dispose: (f, _k, reason) => this.disposed(f, reason),
    });
  }

  /** Bookkeeping when the LRU drops a folio (eviction, deletion, replacement). */
  private disposed(f: Folio, reason: LRUCache.DisposeReason): void {
    if (reason === 'set') return;
    if (reason === 'evict') this.evictions++;
    // A folio moving to the held map has already changed home: keep its buffer.
    const recycle = f.home === 'lru';
    if (recycle) f.home = 'none';
    const set = this.files.get(f.key);
    if (set) {
      set.delete(f.index);
      if (set.size === 0) this.files.delete(f.key);
    }
    if (recycle && f.pins === 0) this.keepFree(f.buf);
  }

  /** Bytes of the folios in use (LRU, locked, held); free buffers not counted. */
  private get usedBytes(): number {
    return this.lru.calculatedSize + this.lockedBytes + this.heldBytes;
  }

  /** Keep a buffer no folio uses any more for the next new folio (up to the budget). */
  private keepFree(buf: Buffer): void {
    if (buf.length !== this.folioSize) return;
    const n = this.free.length;
    if (n < FREE_BUFFERS_MAX || this.usedBytes + (n + 1) * this.folioSize <= this.maxBytes) this.free.push(buf);
  }

  /**
   * A sequential reader has copied all it wanted from `f` (and unpinned it):
   * drop it from the LRU now, its buffer kept for the next new folio, rather
   * than let it age out. Only a clean, up-to-date folio in the LRU is dropped.
   */
  dropBehind(f: Folio): void {
    if (f.home !== 'lru') return;
    this.droppedBehind++;
    this.lru.delete(folioKey(f.key, f.index));
  }

  /** A reader starts copying from `f`: keep its buffer from being recycled. */
  pin(f: Folio): void {
    f.pins++;
  }

  /** A reader is done with `f`. */
  unpin(f: Folio): void {
    f.pins--;
  }

  /**
   * A reader's lookup: an up-to-date folio (made most recent) or a locked one
   * being filled; undefined when the caller must read it. Counts hits,
   * waits and misses.
   */
  lookup(key: string, index: number): Folio | undefined {
    const k = folioKey(key, index);
    const f = this.lru.get(k) ?? this.held.get(k);
    if (f) {
      this.hits++;
      return f;
    }
    const l = this.locked.get(k);
    if (l) this.waits++;
    else this.misses++;
    return l;
  }

  /** Like lookup() but neither counts nor changes recency (readahead probing). */
  peek(key: string, index: number): Folio | undefined {
    // Held folios first, found without building a map key: a writer's folios are held.
    const h = this.heldFiles.get(key)?.get(index);
    if (h) return h;
    const k = folioKey(key, index);
    return this.lru.peek(k) ?? this.locked.get(k);
  }

  /**
   * Create a locked folio for (key, index), to be filled by the caller and then
   * finished with markUptodate() or markFailed(). Evicts up-to-date folios to
   * keep cached plus locked bytes within maxBytes. Throws if the folio is
   * already cached or locked (callers look up first).
   */
  lockNew(key: string, index: number): Folio {
    const k = folioKey(key, index);
    if (this.locked.has(k) || this.lru.has(k) || this.held.has(k)) throw new Error(`page cache: folio ${index} of ${key} exists`);
    const f = new Folio(key, index, index * this.folioSize, this.allocBuffer());
    this.locked.set(k, f);
    this.lockedBytes += this.folioSize;
    return f;
  }

  /** A buffer for a new folio: room is made in the budget, an evicted buffer reused if any. */
  private allocBuffer(): Buffer {
    this.reserve(this.folioSize);
    const buf = this.free.pop();
    if (buf) {
      this.recycled++;
      return buf;
    }
    return Buffer.allocUnsafe(this.folioSize);
  }

  /** Evict least recently used folios until `bytes` more fit in the budget. */
  private reserve(bytes: number): void {
    while (this.lru.size > 0 && this.usedBytes + bytes > this.maxBytes) {
      this.lru.pop();
    }
    while (this.free.length > FREE_BUFFERS_MAX && this.usedBytes + bytes + this.free.length * this.folioSize > this.maxBytes) this.free.pop();
  }

  /** Remove a settling folio from the locked set (if it is still the one there). */
  private unlock(f: Folio): void {
    const k = folioKey(f.key, f.index);
    if (this.locked.get(k) === f) this.locked.delete(k);
    this.lockedBytes -= f.buf.length;
  }

  /**
   * The folio's bytes are in place: insert it into the LRU (unless its file was
   * invalidated meanwhile) and wake waiters.
   */
  markUptodate(f: Folio): void {
    if (f.state !== 'locked') return;
    this.unlock(f);
    f.home = 'none';
    if (!f.orphan) this.insertLru(f);
    f.settle('uptodate', 0);
  }

  /** Put a clean, up-to-date folio in the LRU (it stays out if it cannot fit). */
  private insertLru(f: Folio): void {
    const k = folioKey(f.key, f.index);
    f.home = 'lru';
    this.lru.set(k, f);
    if (this.lru.peek(k) === f) {
      let set = this.files.get(f.key);
      if (!set) this.files.set(f.key, (set = new Set()));
      set.add(f.index);
    } else {
      f.home = 'none';
    }
  }

  /** The fill failed: drop the folio (it is not cached) and wake waiters with the error. */
  markFailed(f: Folio, error: number): void {
    if (f.state !== 'locked') return;
    this.unlock(f);
    f.home = 'none';
    f.settle('failed', error);
  }

  /** Drop every folio of a file: its contents changed on the server. */
  invalidateFile(key: string): void {
    this.invalidateFrom(key, 0);
  }

  /**
   * Drop a file's clean folios from `index` on. Locked ones in that range are
   * detached: their fill completes for the readers already waiting, but they
   * are not cached. Held folios (dirty data) are left alone: truncateHeld()
   * and discardFile() deal with those.
   */
  invalidateFrom(key: string, index: number): void {
    const set = this.files.get(key);
    if (set) {
      for (const i of [...set]) if (i >= index) this.lru.delete(folioKey(key, i));
    }
    for (const [k, f] of this.locked) {
      if (f.key === key && f.index >= index) {
        f.orphan = true;
        this.locked.delete(k);
      }
    }
  }

  /** Drop a file's clean folios in [first, last] (after an unbuffered write over them). */
  invalidateRange(key: string, first: number, last: number): void {
    for (let i = first; i <= last; i++) {
      const k = folioKey(key, i);
      this.lru.delete(k);
      const f = this.locked.get(k);
      if (f) {
        f.orphan = true;
        this.locked.delete(k);
      }
    }
  }

  /* ---- held folios: the write side ---- */

  /**
   * A new folio for a write at (key, index), held from the start and never
   * read: zero-filled and up to date when the server is known to hold only
   * zeros there (`zeroed`), else 'partial' with nothing valid yet. The caller
   * is about to copy bytes [writeFrom, writeTo) in (synchronously, before any
   * await), so only the rest is zeroed: zeroing whole folios was the largest
   * cost of a streaming write. The zeros after the written bytes are left
   * pending (zeroTail): the next write of a stream covers them.
   */
  createForWrite(key: string, index: number, zeroed: boolean, writeFrom = 0, writeTo = 0): Folio {
    const k = folioKey(key, index);
    if (this.locked.has(k) || this.lru.has(k) || this.held.has(k)) throw new Error(`page cache: folio ${index} of ${key} exists`);
    const f = new Folio(key, index, index * this.folioSize, this.allocBuffer());
    if (zeroed) {
      if (writeTo > writeFrom) {
        f.buf.fill(0, 0, writeFrom);
        f.zeroTail = f.buf.length - writeTo;
      } else {
        f.buf.fill(0);
      }
      f.state = 'uptodate';
    } else {
      f.state = 'partial';
    }
    this.addHeld(f);
    return f;
  }

  /** Put a folio in the held map. */
  private addHeld(f: Folio): void {
    f.home = 'held';
    this.held.set(folioKey(f.key, f.index), f);
    let m = this.heldFiles.get(f.key);
    if (!m) this.heldFiles.set(f.key, (m = new Map()));
    m.set(f.index, f);
    this.heldBytes += f.buf.length;
  }

  /** Take a folio out of the held map (its buffer is left to the GC, never recycled). */
  private removeHeld(f: Folio): void {
    if (f.home !== 'held') return;
    this.setDirty(f, 0, 0);
    f.home = 'none';
    this.held.delete(folioKey(f.key, f.index));
    const m = this.heldFiles.get(f.key);
    if (m) {
      m.delete(f.index);
      if (m.size === 0) this.heldFiles.delete(f.key);
    }
    this.heldBytes -= f.buf.length;
  }

  /** Set a folio's dirty range, keeping the dirty byte counts (only while held). */
  private setDirty(f: Folio, from: number, to: number): void {
    const delta = Math.max(0, to - from) - Math.max(0, f.dirtyTo - f.dirtyFrom);
    f.dirtyFrom = to > from ? from : 0;
    f.dirtyTo = to > from ? to : 0;
    if (delta === 0 || f.home !== 'held') return;
    this.dirtyBytes += delta;
    const n = (this.dirtyFiles.get(f.key) ?? 0) + delta;
    if (n === 0) this.dirtyFiles.delete(f.key);
    else this.dirtyFiles.set(f.key, n);
  }

  /**
   * Bytes [from, to) of an up-to-date or partial folio were just written:
   * hold it (out of the LRU), grow its dirty range to cover them and bump its
   * generation. A partial folio's valid range grows the same way, or is
   * replaced when the write does not touch it (the caller has made sure the
   * old range is clean then); a partial folio written whole is up to date.
   */
  markDirty(f: Folio, from: number, to: number): void {
    if (f.state !== 'uptodate' && f.state !== 'partial') throw new Error(`page cache: write to a ${f.state} folio`);
    if (f.home === 'lru') {
      f.home = 'held';
      this.lru.delete(folioKey(f.key, f.index));
      this.addHeld(f);
    } else if (f.home === 'none') {
      this.addHeld(f);
    }
    if (f.state === 'partial') {
      const touches = f.validTo > f.validFrom && from <= f.validTo && to >= f.validFrom;
      f.validFrom = touches ? Math.min(f.validFrom, from) : from;
      f.validTo = touches ? Math.max(f.validTo, to) : to;
      if (f.validFrom === 0 && f.validTo === f.buf.length) f.state = 'uptodate';
    }
    if (f.zeroTail > 0) {
      // Bytes now written into the pending zeros: those before them get their zeros.
      const zeroFrom = f.buf.length - f.zeroTail;
      if (to > zeroFrom) {
        if (from > zeroFrom) f.buf.fill(0, zeroFrom, from);
        f.zeroTail = f.buf.length - to;
      }
    }
    if (f.dirty) this.setDirty(f, Math.min(f.dirtyFrom, from), Math.max(f.dirtyTo, to));
    else this.setDirty(f, from, to);
    f.dirtyGen++;
  }

  /**
   * A partial folio's gaps were read into `scratch` (a whole folio's worth):
   * copy them in around the valid range, zeros from offset `zeroFrom` on (past
   * the file size), and mark it up to date.
   */
  markFilled(f: Folio, scratch: Buffer, zeroFrom: number): void {
    if (f.state !== 'partial') return;
    const z = Math.max(0, Math.min(zeroFrom, f.buf.length));
    if (f.validTo > f.validFrom) {
      scratch.copy(f.buf, 0, 0, Math.min(f.validFrom, z));
      scratch.copy(f.buf, f.validTo, Math.min(f.validTo, z), z);
      if (z < f.validFrom) f.buf.fill(0, z, f.validFrom);
      if (z > f.validTo) f.buf.fill(0, z);
      else f.buf.fill(0, f.validTo);
    } else {
      scratch.copy(f.buf, 0, 0, z);
      f.buf.fill(0, z);
    }
    f.state = 'uptodate';
    this.settleHeld(f);
  }

  /**
   * A held folio may have nothing left to hold it: clean, not under writeback
   * and not being filled. Up to date, it goes back to the LRU; partial, it is
   * dropped (its valid bytes are on the server).
   */
  settleHeld(f: Folio): void {
    if (f.home !== 'held' || f.dirty || f.writeback > 0 || f.filling) return;
    this.removeHeld(f);
    if (f.useOnce && f.pins === 0) {
      // Nothing refers to the buffer now: no writeback in flight, no reader.
      this.droppedBehind++;
      this.keepFree(f.buf);
      return;
    }
    if (f.state === 'uptodate') {
      this.insertLru(f);
      this.reserve(0);
    }
  }

  /** Whether any held folio of `key` in [first, last] is dirty or under writeback. */
  hasDirtyIn(key: string, first: number, last: number): boolean {
    const m = this.heldFiles.get(key);
    if (!m) return false;
    for (const f of m.values()) if (f.index >= first && f.index <= last && (f.dirty || f.writeback > 0)) return true;
    return false;
  }

  /** Dirty bytes of one file. */
  dirtyBytesOf(key: string): number {
    return this.dirtyFiles.get(key) ?? 0;
  }

  /**
   * Start a writeback pass of a file: every dirty folio not already under
   * writeback (and, unless `all`, not one whose last writeback failed), in
   * file order, is marked under writeback with its dirty range and generation
   * recorded.
   */
  beginWriteback(key: string, all: boolean): WritebackFolio[] {
    const m = this.heldFiles.get(key);
    if (!m) return [];
    const fs = [...m.values()].filter((f) => f.dirty && f.writeback === 0 && (all || f.wbError === 0));
    fs.sort((a, b) => a.index - b.index);
    return fs.map((f) => {
      f.writeback++;
      return { folio: f, gen: f.dirtyGen, from: f.start + f.dirtyFrom, to: f.start + f.dirtyTo, error: 0 };
    });
  }

  /**
   * A folio's part of a writeback pass is collected. On success it is clean,
   * unless it was written again since (generation moved on); on failure it
   * stays dirty with the error recorded, so a later pass can retry it.
   */
  endWriteback(w: WritebackFolio): void {
    const f = w.folio;
    f.writeback--;
    if (f.home !== 'held') return;
    if (w.error !== 0) {
      f.wbError = w.error;
      return;
    }
    f.wbError = 0;
    if (f.dirtyGen === w.gen) this.setDirty(f, 0, 0);
    this.settleHeld(f);
  }

  /**
   * The file was truncated to `n`: held folios wholly past it are dropped
   * (their dirty bytes discarded); the one holding `n` loses its dirty and
   * valid bytes past it and, if up to date, gets zeros there.
   */
  truncateHeld(key: string, n: number): void {
    const m = this.heldFiles.get(key);
    if (!m) return;
    for (const f of [...m.values()]) {
      if (f.start >= n) {
        this.removeHeld(f);
        continue;
      }
      if (f.end <= n) continue;
      const cut = n - f.start;
      if (f.state === 'uptodate') {
        f.materialize();
        f.buf.fill(0, cut);
      }
      if (f.state === 'partial') {
        f.validTo = Math.min(f.validTo, cut);
        if (f.validTo <= f.validFrom) f.validFrom = f.validTo = 0;
      }
      if (f.dirty) this.setDirty(f, f.dirtyFrom, Math.min(f.dirtyTo, cut));
      f.dirtyGen++;
      this.settleHeld(f);
    }
  }

  /** Drop every folio of a file, dirty ones included (file deleted, or told to). */
  discardFile(key: string): void {
    this.invalidateFile(key);
    const m = this.heldFiles.get(key);
    if (m) for (const f of [...m.values()]) this.removeHeld(f);
    this.flushers.delete(key);
  }

  /** Register how to start writeback of a file, for throttle(). */
  registerFlusher(key: string, fn: () => Promise<unknown>): void {
    this.flushers.set(key, fn);
  }

  unregisterFlusher(key: string): void {
    this.flushers.delete(key);
  }

  /** Whether throttle() would wait now (dirty bytes over half the budget). */
  get overDirtyLimit(): boolean {
    return this.dirtyBytes > this.maxBytes / 2;
  }

  /**
   * Back-pressure for writers: while dirty bytes exceed half the budget,
   * start writeback of every registered file and wait for it. Gives up when a
   * round frees nothing (failing writes keep their data dirty), so a writer
   * is slowed, never wedged.
   */
  async throttle(): Promise<void> {
    while (this.overDirtyLimit) {
      const before = this.dirtyBytes;
      await Promise.all([...this.flushers.values()].map((fn) => fn()));
      if (this.dirtyBytes >= before) return;
    }
  }

  /** Counters and sizes. */
  stats(): PageCacheStats {
    const cachedBytes = this.lru.calculatedSize;
    return {
      hits: this.hits,
      misses: this.misses,
      waits: this.waits,
      bytes: cachedBytes + this.lockedBytes + this.heldBytes,
      cachedBytes,
      lockedBytes: this.lockedBytes,
      folios: this.lru.size,
      evictions: this.evictions,
      recycled: this.recycled,
      droppedBehind: this.droppedBehind,
      heldBytes: this.heldBytes,
      heldFolios: this.held.size,
      dirtyBytes: this.dirtyBytes,
    };
  }
}

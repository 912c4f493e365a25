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
 * folios it is copying from (pin()/unpin()); the buffer of an unpinned folio
 * that leaves the LRU is recycled for the next locked folio, which spares a
 * fresh allocation (and its page faults and GC work) per folio on long
 * sequential reads. A pinned folio that leaves the LRU is left to the GC, so a
 * reader may copy from it after eviction or invalidation.
 */
import { LRUCache } from 'lru-cache';

/** Default folio size: 256 KiB. */
export const DEFAULT_FOLIO_SIZE = 256 * 1024;

export type FolioState = 'locked' | 'uptodate' | 'failed';

/** One cache unit: `buf` holds file bytes [start, start + buf.length). */
export class Folio {
  state: FolioState = 'locked';
  /** Negative errno when the fill failed. */
  error = 0;
  /** Set when the file was invalidated while the folio was being filled. */
  orphan = false;
  /** Readers copying from this folio; its buffer is not recycled while > 0. */
  pins = 0;
  private waiters: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly key: string,
    readonly index: number,
    readonly start: number,
    readonly buf: Buffer,
  ) {}

  /** Settles (never rejects) once the folio is up to date or has failed. */
  wait(): Promise<void> {
    if (this.state !== 'locked') return Promise.resolve();
    if (!this.waiters) this.waiters = new Promise<void>((resolve) => (this.wake = resolve));
    return this.waiters;
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
}

/** Buffers kept for reuse at most (beyond maxBytes, briefly). */
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
  /** Buffers of evicted, unpinned folios, ready for reuse. */
  private readonly free: Buffer[] = [];

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
    const set = this.files.get(f.key);
    if (set) {
      set.delete(f.index);
      if (set.size === 0) this.files.delete(f.key);
    }
    if (f.pins === 0 && this.free.length < FREE_BUFFERS_MAX && f.buf.length === this.folioSize) this.free.push(f.buf);
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
    const f = this.lru.get(k);
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
    if (this.locked.has(k) || this.lru.has(k)) throw new Error(`page cache: folio ${index} of ${key} exists`);
    this.reserve(this.folioSize);
    let buf = this.free.pop();
    if (buf) this.recycled++;
    else buf = Buffer.allocUnsafe(this.folioSize);
    const f = new Folio(key, index, index * this.folioSize, buf);
    this.locked.set(k, f);
    this.lockedBytes += this.folioSize;
    return f;
  }

  /** Evict least recently used folios until `bytes` more fit in the budget. */
  private reserve(bytes: number): void {
    while (this.lru.size > 0 && this.lru.calculatedSize + this.lockedBytes + bytes > this.maxBytes) {
      this.lru.pop();
    }
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
    if (!f.orphan) {
      this.lru.set(folioKey(f.key, f.index), f);
      if (this.lru.peek(folioKey(f.key, f.index)) === f) {
        let set = this.files.get(f.key);
        if (!set) this.files.set(f.key, (set = new Set()));
        set.add(f.index);
      }
    }
    f.settle('uptodate', 0);
  }

  /** The fill failed: drop the folio (it is not cached) and wake waiters with the error. */
  markFailed(f: Folio, error: number): void {
    if (f.state !== 'locked') return;
    this.unlock(f);
    f.settle('failed', error);
  }

  /** Drop every folio of a file: its contents changed on the server. */
  invalidateFile(key: string): void {
    this.invalidateFrom(key, 0);
  }

  /**
   * Drop a file's folios from `index` on. Locked ones in that range are
   * detached: their fill completes for the readers already waiting, but they
   * are not cached.
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

  /** Counters and sizes. */
  stats(): PageCacheStats {
    const cachedBytes = this.lru.calculatedSize;
    return {
      hits: this.hits,
      misses: this.misses,
      waits: this.waits,
      bytes: cachedBytes + this.lockedBytes,
      cachedBytes,
      lockedBytes: this.lockedBytes,
      folios: this.lru.size,
      evictions: this.evictions,
      recycled: this.recycled,
    };
  }
}

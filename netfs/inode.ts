/**
 * NetfsInode: the per-open-file read context, after netfslib's netfs_inode
 * plus the buffered read entry points (netfs_read_folio / netfs_readahead /
 * netfs_unbuffered_read_iter).
 *
 * Buffered reads pin the folios of the wanted range: up-to-date ones are used
 * as they are, locked ones (being filled by another request) are waited for,
 * and each run of missing ones is locked and read by one read request. Because a
 * missing folio is locked in the same synchronous step that finds it missing,
 * two readers of the same folio cause one server read. Data is copied once,
 * folio → caller's buffer.
 *
 * Readahead keeps a window ahead of a sequential reader: it starts at
 * max(128 KiB, read size), doubles each time a new window is issued, up to
 * readaheadMax (and a quarter of the cache), and is issued asynchronously as
 * 'readahead' requests so many subrequests are in flight. A non-sequential
 * read resets it.
 *
 * Use-once: past the first dropBehindAfter bytes of a sequential run, the
 * folios a reader has passed are dropped from the page cache at once and
 * those a sequential writer wrote are dropped once written back (their
 * buffers reused, page-cache.ts), so one long stream neither flushes the
 * cache nor allocates a buffer per folio. The start of a run stays cached.
 * Such a writer also waits for the writeback pass in flight once it has
 * twice dirtyThreshold dirty, instead of filling half the cache.
 *
 * Writes (when the filesystem gives write ops) are buffered in folios with a
 * dirty range each, without reading first; see write() and the writeback
 * section below. `zeroPoint`, after netfslib's zero_point, is the position
 * from which the server is known to hold only zeros (or nothing): folios
 * there are made without a read, and reads of them are zero-filled.
 */
import { Bvecq } from './bvecq.js';
import { NETFS_ECANCELED, NETFS_EINVAL, NetfsError } from './errors.js';
import { dispatchRequest } from './issue.js';
import type { NetfsCacheOps, NetfsCallerGone, NetfsLent, NetfsReadOps, NetfsWriteOps } from './ops.js';
import type { Folio, PageCache } from './page-cache.js';
import { loadFolio, newReadRequest } from './read-request.js';
import { loadWritebackFolio, newWriteRequest } from './write-request.js';

/** Default readahead ceiling: 8 MiB. */
export const DEFAULT_READAHEAD_MAX = 8 * 1024 * 1024;
/** Initial readahead window. */
export const READAHEAD_INITIAL = 128 * 1024;
/** Default length of a sequential run kept in the page cache (a quarter of the cache at most). */
export const DEFAULT_DROP_BEHIND_AFTER = 32 * 1024 * 1024;
/** How far beyond the furthest read so far a read handed over early may start and still be sequential. */
const REORDER_AHEAD = 1024 * 1024;
/**
 * How far behind a sequential reader its folios are dropped: more than the
 * kernel reads ahead at once (its readahead window: the mount raises it to
 * 4 MiB), so a read handed over late still finds its folios.
 */
export const DROP_BEHIND_LAG = 8 * 1024 * 1024;
/** Longest a read waits for the disk cache to catch up with its copies (cacheCatchUp). */
export const CACHE_CATCH_UP_MS = 2000;
/** What a read at or past the end of the file lends. */
const NOTHING_LENT: NetfsLent = { bytes: 0, pieces: [], release: () => {} };

/** Default per-file dirty bytes that start writeback: 16 MiB. */
export const DEFAULT_DIRTY_THRESHOLD = 16 * 1024 * 1024;
/** Default age of dirty data that starts writeback: 5 s. */
export const DEFAULT_DIRTY_EXPIRE_MS = 5000;

/**
 * Why writeback runs. The background reasons (threshold, expire, pressure)
 * skip folios whose last writeback failed, so a permanent error is not
 * retried in a loop; the others retry them.
 */
export type NetfsWritebackReason =
  | 'flush' // flush/fsync/close: everything dirty, then report the sticky error
  | 'threshold' // this file's dirty bytes passed dirtyThreshold
  | 'expire' // dirty data older than dirtyExpireMs
  | 'pressure' // the page cache's dirty bytes passed half its budget
  | 'lease-break' // the server wants the data
  | 'unmount'
  | 'streaming' // a partial folio must be cleaned before an unrelated write
  | 'unbuffered'; // an unbuffered write overlaps dirty folios

const BACKGROUND_REASONS: ReadonlySet<NetfsWritebackReason> = new Set(['threshold', 'expire', 'pressure']);

export interface NetfsInodeOptions {
  /** Identifies the file's data in the shared page cache. */
  key: string;
  /** File size in bytes. */
  size: number;
  ops: NetfsReadOps;
  cache: PageCache;
  /** Largest readahead window in bytes (default 8 MiB; 0 disables readahead). */
  readaheadMax?: number;
  /** Write ops; without them write(), writeUnbuffered() and writeback throw EINVAL. */
  writeOps?: NetfsWriteOps;
  /** Dirty bytes of this file that start writeback (default 16 MiB). */
  dirtyThreshold?: number;
  /** Bytes of a sequential run kept cached; folios past them are use-once (default 32 MiB, at most a quarter of the cache). */
  dropBehindAfter?: number;
  /** Age in ms after which dirty data is written back (default 5000). */
  dirtyExpireMs?: number;
  /** A local cache: a second source for reads and destination for reads and writeback (ops.ts). */
  fscache?: NetfsCacheOps;
}

/** Readahead state for one open file (after the kernel's file_ra_state). */
interface ReadaheadState {
  /** Current window in bytes (0 until the first read). */
  window: number;
  /** Previous read's range, for sequential detection. */
  prevStart: number;
  prevEnd: number;
  /** Readahead has been issued up to here (folio aligned). */
  issuedTo: number;
  /** Where the current sequential run of reads began. */
  runStart: number;
  /** Use-once: the next folio index of the run to drop. */
  dropNext: number;
}

/** The current sequential run of writes. */
interface WriteRun {
  start: number;
  end: number;
}

/** Throw EINVAL unless `n` is a non-negative safe integer. */
function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new NetfsError(NETFS_EINVAL, `netfs: bad ${what} ${n}`);
}

/** Per-open-file read context over a shared PageCache. */
export class NetfsInode {
  readonly key: string;
  readonly ops: NetfsReadOps;
  readonly cache: PageCache;
  readonly readaheadMax: number;
  readonly writeOps: NetfsWriteOps | null;
  readonly dirtyThreshold: number;
  readonly dirtyExpireMs: number;
  readonly fscache: NetfsCacheOps | null;
  private fileSize: number;
  /** From here on the server holds only zeros (netfslib's zero_point). */
  private zeroPoint: number;
  private readonly ra: ReadaheadState = { window: 0, prevStart: 0, prevEnd: 0, issuedTo: 0, runStart: 0, dropNext: 0 };
  private readonly wrun: WriteRun = { start: 0, end: 0 };
  /** How the page cache starts this file's writeback under pressure (one closure, not one per write). */
  private readonly pressureFlush = (): Promise<void> => this.writeback('pressure');
  readonly dropBehindAfter: number;
  /** First writeback error not yet reported by flush() (negative errno). */
  private stickyError = 0;
  /** The writeback pass in flight, and the one queued behind it. */
  private wbActive: Promise<void> | null = null;
  private wbNext: Promise<void> | null = null;
  private wbNextAll = false;
  private expireTimer: NodeJS.Timeout | null = null;
  /** writeNow's folios of one write, looked up before any is written (kept to spare an array per write). */
  private readonly foundNow: Array<Folio | undefined> = [];
  /** A threshold writeback is queued in a microtask (afterWrite). */
  private thresholdQueued = false;
  /** Bumped whenever fscache is invalidated, so reads begun before stop copying into it. */
  private fscacheEpoch = 0;

  constructor(opts: NetfsInodeOptions) {
    checkCount('size', opts.size);
    this.key = opts.key;
    this.ops = opts.ops;
    this.cache = opts.cache;
    this.fileSize = opts.size;
    this.zeroPoint = opts.size;
    this.writeOps = opts.writeOps ?? null;
    this.fscache = opts.fscache ?? null;
    this.dirtyThreshold = opts.dirtyThreshold ?? DEFAULT_DIRTY_THRESHOLD;
    this.dirtyExpireMs = opts.dirtyExpireMs ?? DEFAULT_DIRTY_EXPIRE_MS;
    checkCount('dirtyThreshold', this.dirtyThreshold);
    checkCount('dirtyExpireMs', this.dirtyExpireMs);
    const fs = opts.cache.folioSize;
    const want = opts.readaheadMax ?? DEFAULT_READAHEAD_MAX;
    checkCount('readaheadMax', want);
    const cap = Math.floor(opts.cache.maxBytes / 4 / fs) * fs;
    this.readaheadMax = want === 0 ? 0 : Math.max(fs, Math.min(want, cap));
    const keep = opts.dropBehindAfter ?? DEFAULT_DROP_BEHIND_AFTER;
    checkCount('dropBehindAfter', keep);
    this.dropBehindAfter = Math.min(keep, Math.floor(opts.cache.maxBytes / 4));
  }

  /** File size as netfs knows it. */
  get size(): number {
    return this.fileSize;
  }

  /** Current readahead window in bytes (for tests and stats). */
  get readaheadWindow(): number {
    return this.ra.window;
  }

  /**
   * Read up to `len` bytes at `pos` into `dst` through the page cache. Returns
   * the bytes copied (clamped to the file size and dst; 0 at or after EOF).
   * Rejects with NetfsError if the server read of a needed folio failed; the
   * failed folios are not cached, so a later read asks the server again.
   * `dst` may be on loan: once `signal.aborted` is set (its owner stopped waiting) it
   * is not written any more and the read rejects with ECANCELED.
   */
  /** Whether all of [pos, pos + len) below the file size sits in up-to-date folios now (a read of it asks the server nothing). */
  isCached(pos: number, len: number): boolean {
    const end = Math.min(pos + len, this.fileSize);
    if (pos >= end) return false;
    const fsize = this.cache.folioSize;
    for (let i = Math.floor(pos / fsize); i <= Math.floor((end - 1) / fsize); i++) {
      if (this.cache.peek(this.key, i)?.state !== 'uptodate') return false;
    }
    return true;
  }

  /**
   * The whole file's bytes, already at hand (the filesystem read them along
   * with the open): cached as folio 0, zeros after them as a read at EOF
   * leaves it, those zeros left pending (zeroTail): writing them was most of
   * an open of a small file. Taken only when they are exactly the file, fit
   * one folio and nothing of the file is cached or dirty yet. Returns
   * whether it was taken.
   */
  prime(data: Buffer): boolean {
    if (data.length === 0 || data.length !== this.fileSize || data.length > this.cache.folioSize) return false;
    if (this.cache.peek(this.key, 0) || this.dirtyBytes > 0) return false;
    const f = this.cache.lockNew(this.key, 0);
    data.copy(f.buf, 0);
    f.zeroTail = f.buf.length - data.length;
    this.cache.markUptodate(f);
    return true;
  }

  /**
   * read() without a wait, when every folio of the range is up to date now:
   * the copy, then the same readahead and use-once bookkeeping. Returns the
   * bytes copied (0 at or after EOF), or null when read() must do it.
   */
  readNow(pos: number, len: number, dst: Buffer): number | null {
    const lent = this.lendNow(pos, Math.min(len, dst.length));
    if (lent === null) return null;
    let at = 0;
    for (const piece of lent.pieces) at += piece.copy(dst, at);
    lent.release();
    return lent.bytes;
  }

  /**
   * readNow() without the copy: the bytes as views of the folios' own
   * buffers, in file order, for a caller that hands them on as they are (the
   * FUSE binding writes them to the kernel from there). The folios stay
   * pinned, so their buffers are not recycled for other bytes, until the
   * caller's release(). null when read() must do it.
   */
  lendNow(pos: number, len: number): NetfsLent | null {
    if (!(pos >= 0) || !(len >= 0)) return null;
    const end = Math.min(pos + len, this.fileSize);
    if (pos >= end) return NOTHING_LENT;
    const fsize = this.cache.folioSize;
    const first = Math.floor(pos / fsize);
    const last = Math.floor((end - 1) / fsize);
    for (let i = first; i <= last; i++) {
      if (this.cache.peek(this.key, i)?.state !== 'uptodate') return null;
    }
    const folios: Folio[] = [];
    const pieces: Buffer[] = [];
    for (let i = first; i <= last; i++) {
      const f = this.cache.lookup(this.key, i)!;
      const from = Math.max(pos, f.start);
      const to = Math.min(end, f.start + f.buf.length);
      f.materialize(to - f.start); // zeros left pending (zeroTail) that the range reaches, as read() does
      this.cache.pin(f);
      folios.push(f);
      pieces.push(f.buf.subarray(from - f.start, to - f.start));
    }
    // Pinned first: readahead may evict to make room, and a pinned buffer is not reused.
    this.readahead(pos, end);
    this.dropPassed(end, this.ra.runStart);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const f of folios) this.cache.unpin(f);
    };
    return { bytes: end - pos, pieces, release };
  }

  async read(pos: number, len: number, dst: Buffer, signal?: NetfsCallerGone): Promise<number> {
    const lent = await this.readLent(pos, Math.min(len, dst.length), signal);
    try {
      // Checked right before the copy, with no wait between: dst is still lent to us.
      if (signal?.aborted) throw new NetfsError(NETFS_ECANCELED, `netfs: read of ${this.key} at ${pos} abandoned by its caller`);
      let at = 0;
      for (const piece of lent.pieces) at += piece.copy(dst, at);
    } finally {
      lent.release();
    }
    return lent.bytes;
  }

  /**
   * read() without the copy: once every folio of the range is up to date,
   * the bytes as views of their buffers (see lendNow), pinned until the
   * caller's release(). Rejects as read() does.
   */
  async readLent(pos: number, len: number, signal?: NetfsCallerGone): Promise<NetfsLent> {
    checkCount('position', pos);
    checkCount('length', len);
    const rangeEnd = () => Math.min(pos + len, this.fileSize);
    let end = rangeEnd();
    // No wait, no yield: a read not held back issues its I/O before returning.
    const catchUp = this.cacheCatchUp(pos, end);
    if (catchUp) {
      await catchUp;
      end = rangeEnd(); // the file may have changed size during the wait
    }
    if (pos >= end) return NOTHING_LENT;
    const fsize = this.cache.folioSize;
    const first = Math.floor(pos / fsize);
    const last = Math.floor((end - 1) / fsize);
    const own = new Set<Folio>();
    const held: Folio[] = [];
    const pieces: Buffer[] = [];
    let run = 0;
    let lent = false;
    const release = () => {
      for (const f of held) this.cache.unpin(f);
      held.length = 0;
    };
    try {
      const pinned = this.pin(first, last, own, held);
      this.readahead(pos, end);
      run = this.ra.runStart;
      for (let i = 0; i < pinned.length; i++) {
        let f = pinned[i]!;
        if (f.state === 'locked') await f.wait();
        if (f.state === 'failed' && !own.has(f)) {
          // Filled by someone else's request (readahead, another reader) and
          // failed: read it once more ourselves before reporting the error.
          f = this.pin(first + i, first + i, own, held)[0]!;
          if (f.state === 'locked') await f.wait();
        }
        if (f.state === 'partial') {
          // Written without a read: fetch the rest, the written bytes win.
          const err = await this.fillFolio(f);
          if (err !== 0) throw new NetfsError(err, `netfs: read of ${this.key} at ${f.start} failed (${err})`);
        }
        if (f.state === 'failed') {
          throw new NetfsError(f.error, `netfs: read of ${this.key} at ${f.start} failed (${f.error})`);
        }
        if (signal?.aborted) throw new NetfsError(NETFS_ECANCELED, `netfs: read of ${this.key} at ${pos} abandoned by its caller`);
        const from = Math.max(pos, f.start);
        const to = Math.min(end, f.start + f.buf.length);
        f.materialize(to - f.start);
        pieces.push(f.buf.subarray(from - f.start, to - f.start));
      }
      lent = true;
    } finally {
      if (!lent) release();
    }
    this.dropPassed(end, run);
    return { bytes: end - pos, pieces, release };
  }

  /**
   * Before a read of [pos, end) that must go to the server: while the disk
   * cache is behind with its copies (NetfsCacheOps.behind), the wait for it,
   * at most CACHE_CATCH_UP_MS, so the reader goes at the pace the cache is
   * written; null when there is nothing to wait for.
   */
  private cacheCatchUp(pos: number, end: number): Promise<void> | null {
    const behind = end > pos ? this.fscache?.behind?.() : null;
    if (!behind) return null;
    const fsize = this.cache.folioSize;
    let missing = false;
    for (let i = Math.floor(pos / fsize); i <= Math.floor((end - 1) / fsize) && !missing; i++) missing = this.cache.peek(this.key, i)?.state !== 'uptodate';
    if (!missing) return null;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([behind, new Promise<void>((r) => (timer = setTimeout(r, CACHE_CATCH_UP_MS)))]).finally(() => clearTimeout(timer));
  }

  /**
   * Use-once: after a read of the sequential run that began at `run` (if it
   * is still going) and ended at `end`, drop the run's folios past its kept
   * start that end DROP_BEHIND_LAG or more before `end`. The lag spares the
   * folios of reads handed over out of order that have not arrived yet.
   */
  private dropPassed(end: number, run: number): void {
    const ra = this.ra;
    const fs = this.cache.folioSize;
    const upTo = end - DROP_BEHIND_LAG;
    if (ra.runStart !== run || upTo <= run + this.dropBehindAfter) return;
    let i = Math.max(ra.dropNext, Math.ceil((run + this.dropBehindAfter) / fs));
    for (; (i + 1) * fs <= upTo; i++) {
      const f = this.cache.peek(this.key, i);
      if (f && f.pins === 0) this.cache.dropBehind(f);
    }
    ra.dropNext = i;
  }

  /**
   * Pin folios [first, last]: look each up, lock the missing ones and issue
   * one 'read' request per run of them, adding them to `own`. Every folio is
   * pinned in the cache and added to `held` for the caller to unpin. Returns
   * the folios in order.
   */
  private pin(first: number, last: number, own: Set<Folio>, held: Folio[]): Folio[] {
    const out: Folio[] = [];
    let run: Folio[] = [];
    for (let i = first; i <= last; i++) {
      let f = this.cache.lookup(this.key, i);
      if (f) {
        if (run.length) run = this.issueRun(run, 'read');
      } else {
        f = this.cache.lockNew(this.key, i);
        own.add(f);
        run.push(f);
      }
      this.cache.pin(f);
      held.push(f);
      out.push(f);
    }
    if (run.length) this.issueRun(run, 'read');
    return out;
  }

  /** Issue one buffered request over a run of freshly locked folios; returns a new empty run. */
  private issueRun(run: Folio[], origin: 'read' | 'readahead'): Folio[] {
    const fs = this.cache.folioSize;
    const epoch = this.fscacheEpoch;
    const rreq = newReadRequest({
      origin,
      start: run[0]!.start,
      len: run.length * fs,
      ops: this.ops,
      fileSize: this.serverEnd,
      cache: this.cache,
      fscache: this.fscache,
      stale: () => this.fscacheEpoch !== epoch,
    });
    for (const f of run) loadFolio(rreq, f);
    dispatchRequest(rreq);
    return [];
  }

  /**
   * Readahead bookkeeping for a read of [pos, end), then asynchronous issue of
   * the window ahead of it if the access is sequential and the window ahead
   * has run low (under half a window issued beyond this read).
   *
   * The kernel's own readahead sends a sequential reader's FUSE reads several
   * at a time, and libfuse's threads hand them over in any order: a read
   * up to a window behind the furthest one so far, or REORDER_AHEAD beyond
   * it, is still sequential; the furthest is what the next one is compared
   * with. (A reader striding further than that is not sequential.)
   */
  private readahead(pos: number, end: number): void {
    const ra = this.ra;
    const fs = this.cache.folioSize;
    const late = pos < ra.prevStart && pos >= ra.prevStart - Math.max(ra.window, READAHEAD_INITIAL);
    const sequential = late || (pos >= ra.prevStart && pos <= Math.max(ra.prevEnd, ra.issuedTo) + REORDER_AHEAD);
    if (!sequential || ra.prevEnd === 0) {
      ra.runStart = pos;
      ra.dropNext = 0;
    }
    if (late) return;
    ra.prevStart = pos;
    ra.prevEnd = end;
    if (this.readaheadMax === 0) return;
    const roundUp = (n: number) => Math.ceil(n / fs) * fs;
    if (!sequential || ra.window === 0) {
      ra.window = Math.min(this.readaheadMax, roundUp(Math.max(READAHEAD_INITIAL, end - pos)));
      ra.issuedTo = roundUp(end);
      if (!sequential) return;
    }
    const from = Math.max(ra.issuedTo, roundUp(end));
    const to = Math.min(roundUp(end + ra.window), roundUp(this.serverEnd));
    if (to - from < Math.max(fs, ra.window / 2)) return;
    if (this.fscache?.behind?.()) return; // the disk cache must catch up first (NetfsCacheOps.behind)
    ra.issuedTo = to;
    ra.window = Math.min(ra.window * 2, this.readaheadMax);
    const lockedRoom = this.cache.maxBytes / 2 - this.cache.stats().lockedBytes;
    if (lockedRoom < to - from) return;
    this.readaheadRange(from / fs, to / fs - 1);
  }

  /** Lock and issue 'readahead' requests for the missing folios of [first, last]. */
  private readaheadRange(first: number, last: number): void {
    let run: Folio[] = [];
    for (let i = first; i <= last; i++) {
      if (this.cache.peek(this.key, i)) {
        if (run.length) run = this.issueRun(run, 'readahead');
      } else {
        run.push(this.cache.lockNew(this.key, i));
      }
    }
    if (run.length) this.issueRun(run, 'readahead');
  }

  /**
   * Read straight from the server into `dst` (no page cache, no local cache
   * either way, no copy): `dst` is
   * wrapped in a chain that the subrequests decant into. Returns the bytes read,
   * fewer than asked when the server reports end of file. `dst` must be the
   * caller's own memory, not a loan: a straggling reply may still land in it
   * after the call has ended.
   */
  async readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number> {
    checkCount('position', pos);
    checkCount('length', len);
    const n = Math.min(len, dst.length);
    if (n === 0) return 0;
    const rreq = newReadRequest({
      origin: 'unbuffered-read',
      start: pos,
      len: n,
      ops: this.ops,
      fileSize: this.fileSize,
      chain: Bvecq.fromBuffers([dst.subarray(0, n)], pos),
    });
    dispatchRequest(rreq);
    await rreq.done;
    if (rreq.error !== 0) throw new NetfsError(rreq.error, `netfs: unbuffered read of ${this.key} at ${pos} failed (${rreq.error})`);
    return Math.max(0, Math.min(n, rreq.dir.eofAt - pos));
  }


  /** Where server reads stop: past it, bytes are zeros without asking. */
  private get serverEnd(): number {
    return Math.min(this.fileSize, this.zeroPoint);
  }

  /* ---- buffered writes ---- */

  /** Dirty bytes of this file in the page cache (including those under writeback). */
  get dirtyBytes(): number {
    return this.cache.dirtyBytesOf(this.key);
  }

  /** The write ops, or EINVAL for a read-only inode. */
  private requireWriteOps(): NetfsWriteOps {
    if (!this.writeOps) throw new NetfsError(NETFS_EINVAL, `netfs: ${this.key} has no write ops`);
    return this.writeOps;
  }

  /**
   * Buffered write of `src` at `pos`: copied into folios (made without a read
   * where missing) whose dirty ranges grow to cover it; the file size grows at
   * once. Returns src.length. Waits first while the page cache is over half
   * full of dirty data. Errors of the later writeback are reported by flush().
   * `src` may be on loan until the caller is answered, which can happen while
   * this waits: it is read only before the first wait, so whatever must wait
   * first works from a copy taken before it.
   */
  async write(pos: number, src: Buffer): Promise<number> {
    const now = this.writeNow(pos, src);
    if (now >= 0) return now;
    this.cache.registerFlusher(this.key, this.pressureFlush);
    this.noteWriteRun(pos, src.length);
    // Whatever must wait works from a copy: `src` may be returned to its owner meanwhile.
    const data = Buffer.from(src);
    if (this.cache.overDirtyLimit) {
      await this.cache.throttle();
    } else if (this.streamMustWait(this.wrun.start, this.wrun.end)) {
      // A long stream waits for the pass in flight rather than dirty up to
      // half the cache: the server takes the data no faster, and each buffer
      // is reused sooner.
      await (this.wbActive ?? this.writeback('threshold'));
    }
    const fs = this.cache.folioSize;
    let done = 0;
    while (done < data.length) {
      const p = pos + done;
      const index = Math.floor(p / fs);
      const from = p - index * fs;
      const to = Math.min(fs, from + data.length - done);
      const f = this.folioNow(index, from, to) ?? (await this.folioForWrite(index, from, to));
      // No await from here to markDirty: the folio is as folioNow/folioForWrite left it.
      this.copyIn(f, data, done, from, to);
      done += to - from;
    }
    this.afterWrite();
    return data.length;
  }

  /**
   * A buffered write that needs no wait, done synchronously: every folio of
   * [pos, pos + src.length) can take its bytes now and neither the page
   * cache's dirty limit nor a long stream's wait applies. Returns
   * src.length, or -1 with nothing changed when write() must wait first.
   * The usual case of a sequential writer: its caller can be answered in
   * the same turn of the event loop, with no promise and no timer.
   * Writeback this write makes due starts in a microtask, after the caller
   * has been answered.
   */
  writeNow(pos: number, src: Buffer): number {
    checkCount('position', pos);
    checkCount('end', pos + src.length);
    this.requireWriteOps();
    if (src.length === 0) return 0;
    const start = pos !== this.wrun.end ? pos : this.wrun.start;
    if (this.cache.overDirtyLimit || this.streamMustWait(start, pos + src.length)) return -1;
    const fs = this.cache.folioSize;
    const first = Math.floor(pos / fs);
    const last = Math.floor((pos + src.length - 1) / fs);
    // Look every folio up first (missing ones are made below): nothing changes unless all can take their bytes.
    const found = this.foundNow;
    found.length = 0;
    for (let i = first; i <= last; i++) {
      const f = this.cache.peek(this.key, i);
      if (f && !this.usableNow(f, i === first ? pos - i * fs : 0, i === last ? pos + src.length - i * fs : fs)) {
        found.length = 0;
        return -1;
      }
      found.push(f);
    }
    this.cache.registerFlusher(this.key, this.pressureFlush);
    this.noteWriteRun(pos, src.length);
    let done = 0;
    for (let i = first; i <= last; i++) {
      const from = i === first ? pos - i * fs : 0;
      const to = i === last ? pos + src.length - i * fs : fs;
      // Making a folio may have evicted a clean one found above (its buffer
      // recycled for the new one): that one is looked up, and made, again.
      const seen = found[i - first];
      const f = seen && seen.home !== 'none' ? seen : this.folioNow(i, from, to)!;
      this.copyIn(f, src, done, from, to);
      done += to - from;
    }
    found.length = 0;
    this.afterWrite();
    return src.length;
  }

  /** A write where the last one ended continues the sequential run. */
  private noteWriteRun(pos: number, len: number): void {
    if (pos !== this.wrun.end) this.wrun.start = pos;
    this.wrun.end = pos + len;
  }

  /** Whether a sequential run [start, end) is long enough, with enough dirty, to wait for the writeback in flight. */
  private streamMustWait(start: number, end: number): boolean {
    return end - start > this.dropBehindAfter && this.dirtyBytes >= 2 * this.dirtyThreshold;
  }

  /** Copy src[done, done + to - from) into folio bytes [from, to), mark them dirty and grow the size. */
  private copyIn(f: Folio, src: Buffer, done: number, from: number, to: number): void {
    src.copy(f.buf, from, done, done + to - from);
    this.cache.markDirty(f, from, to);
    if (f.start >= this.wrun.start + this.dropBehindAfter) f.useOnce = true;
    if (f.start + to > this.fileSize) this.fileSize = f.start + to;
  }

  /** After a write: start writeback past the threshold (in a microtask, once), arm the age timer. */
  private afterWrite(): void {
    if (this.dirtyBytes > this.dirtyThreshold && !this.thresholdQueued) {
      this.thresholdQueued = true;
      queueMicrotask(() => {
        this.thresholdQueued = false;
        if (this.dirtyBytes > this.dirtyThreshold) void this.writeback('threshold');
      });
    }
    this.armExpiry();
  }

  /**
   * The folio that can take bytes [from, to) without waiting (made held
   * without a read where missing), or null when folioForWrite must wait.
   */
  private folioNow(index: number, from: number, to: number): Folio | null {
    const f = this.cache.peek(this.key, index);
    if (!f) return this.cache.createForWrite(this.key, index, index * this.cache.folioSize >= this.zeroPoint, from, to);
    return this.usableNow(f, from, to) ? f : null;
  }

  /** Whether an existing folio can take bytes [from, to) now (see folioNow). */
  private usableNow(f: Folio, from: number, to: number): boolean {
    if (f.state === 'locked' || f.filling) return false;
    const touches = f.validTo > f.validFrom && from <= f.validTo && to >= f.validFrom;
    if (f.state !== 'partial' || touches || (from === 0 && to === f.buf.length)) return true;
    return !f.dirty && f.writeback === 0;
  }

  /**
   * A folio that can take bytes [from, to) now. Missing: made held without a
   * read (zeroed and up to date past the zero point). Being read or gap
   * filled: waited for. Partial with a valid range the write does not touch:
   * one range per folio, so the old range is written back first (no read); if
   * that fails, the folio is gap-filled so both ranges fit in one.
   */
  private async folioForWrite(index: number, from: number, to: number): Promise<Folio> {
    let wroteBack = false;
    for (;;) {
      const now = this.folioNow(index, from, to);
      if (now) return now;
      const f = this.cache.peek(this.key, index)!;
      if (f.state === 'locked') {
        await f.wait();
        continue;
      }
      if (f.filling) {
        await f.filling;
        continue;
      }
      if (!wroteBack) {
        wroteBack = true;
        await this.writeback('streaming');
        continue;
      }
      const err = await this.fillFolio(f);
      if (err !== 0) throw new NetfsError(err, `netfs: write to ${this.key} at ${f.start + from} failed (${err})`);
    }
  }

  /**
   * Make a partial folio up to date: read the whole folio range from the
   * server into a scratch buffer and copy in what lies outside the valid
   * (written) range, which wins. Shared by concurrent callers; resolves to 0
   * or a negative errno and leaves the folio partial on failure.
   */
  private fillFolio(f: Folio): Promise<number> {
    if (f.filling) return f.filling;
    const fs = this.cache.folioSize;
    const scratch = Buffer.allocUnsafe(fs);
    const rreq = newReadRequest({
      origin: 'read',
      start: f.start,
      len: fs,
      ops: this.ops,
      fileSize: this.serverEnd,
      chain: Bvecq.fromBuffers([scratch], f.start),
      fscache: this.fscache,
    });
    dispatchRequest(rreq);
    f.filling = rreq.done.then(() => {
      f.filling = null;
      // Clamp at the size now: a truncate during the read zeroes past it.
      if (rreq.error === 0) this.cache.markFilled(f, scratch, this.fileSize - f.start);
      else this.cache.settleHeld(f);
      return rreq.error;
    });
    return f.filling;
  }

  /* ---- unbuffered writes ---- */

  /**
   * Write `src` at `pos` straight to the server (cache=none): `src` is wrapped
   * in a chain, no copy, and cut into subrequests of at most maxWriteSize().
   * Dirty folios overlapping the range are written back first (so they cannot
   * land later over these bytes); clean cached folios over it are dropped
   * after, so a later buffered read is not stale. Returns src.length or
   * rejects with NetfsError. `src` must be the caller's own memory, not a
   * loan: it is sent (and resent on retry) while the call runs.
   */
  async writeUnbuffered(pos: number, src: Buffer): Promise<number> {
    checkCount('position', pos);
    checkCount('end', pos + src.length);
    const ops = this.requireWriteOps();
    if (src.length === 0) return 0;
    const fs = this.cache.folioSize;
    const first = Math.floor(pos / fs);
    const last = Math.floor((pos + src.length - 1) / fs);
    while (this.cache.hasDirtyIn(this.key, first, last)) {
      await this.writeback('unbuffered');
      if (this.stickyError !== 0) break;
    }
    const wreq = newWriteRequest({
      origin: 'unbuffered-write',
      ops,
      start: pos,
      len: src.length,
      chain: Bvecq.fromBuffers([src], pos),
      onWritten: (_s, e) => this.written(e),
    });
    dispatchRequest(wreq);
    await wreq.done;
    this.cache.invalidateRange(this.key, first, last);
    this.invalidateFscache(pos, pos + src.length);
    if (wreq.error !== 0) throw new NetfsError(wreq.error, `netfs: unbuffered write of ${this.key} at ${pos} failed (${wreq.error})`);
    if (pos + src.length > this.fileSize) this.fileSize = pos + src.length;
    return src.length;
  }

  /** Bytes up to `end` are on the server: nothing past it there but zeros. */
  private written(end: number): void {
    if (end > this.zeroPoint) this.zeroPoint = end;
  }

  /* ---- writeback ---- */

  /**
   * Write back this file's dirty data. Passes are serialised per file (so two
   * writes of one byte range are never in flight together and cannot land out
   * of order); a call while one runs queues one more pass behind it, shared by
   * every caller meanwhile. Never rejects: failures stay dirty and become the
   * sticky error that flush() reports.
   */
  writeback(reason: NetfsWritebackReason): Promise<void> {
    const all = !BACKGROUND_REASONS.has(reason);
    if (!this.writeOps) return Promise.resolve();
    if (!this.wbActive) return this.startPass(all);
    this.wbNextAll ||= all;
    if (!this.wbNext) {
      this.wbNext = this.wbActive.then(() => {
        this.wbNext = null;
        const a = this.wbNextAll;
        this.wbNextAll = false;
        return this.startPass(a);
      });
    }
    return this.wbNext;
  }

  /** Start one pass and make it the active one until it ends. */
  private startPass(all: boolean): Promise<void> {
    const p: Promise<void> = this.runPass(all).finally(() => {
      if (this.wbActive === p) this.wbActive = null;
    });
    this.wbActive = p;
    return p;
  }

  /**
   * One pass: every dirty folio (see NetfsWritebackReason for which) in file
   * order, as views in one write request, with gaps between dirty runs.
   */
  private async runPass(all: boolean): Promise<void> {
    const folios = this.cache.beginWriteback(this.key, all);
    if (folios.length === 0) return;
    const start = folios[0]!.from;
    const wreq = newWriteRequest({
      origin: 'writeback',
      ops: this.writeOps!,
      start,
      len: folios[folios.length - 1]!.to - start,
      cache: this.cache,
      fscache: this.fscache,
      onWritten: (_s, e) => this.written(e),
    });
    for (const w of folios) loadWritebackFolio(wreq, w);
    dispatchRequest(wreq);
    await wreq.done;
    if (wreq.error !== 0 && this.stickyError === 0) this.stickyError = wreq.error;
    if (this.dirtyBytes === 0) this.cache.unregisterFlusher(this.key);
    else this.armExpiry();
  }

  /** Start the age timer (unref'd: it never keeps the process alive) if dirty data waits. */
  private armExpiry(): void {
    if (this.expireTimer || this.dirtyBytes === 0) return;
    // Node fires a delay above 2^31-1 ms at once: clamp it (about 24.8 days).
    this.expireTimer = setTimeout(
      () => {
        this.expireTimer = null;
        void this.writeback('expire');
      },
      Math.min(this.dirtyExpireMs, 0x7fffffff),
    );
    this.expireTimer.unref();
  }

  /**
   * flush/fsync/close: write back everything dirty and wait. Rejects with
   * NetfsError if any writeback of this file failed since the last report
   * (the sticky error, reported once and then cleared). Data that failed
   * stays dirty: the next flush retries it; discard() drops it.
   */
  async flush(): Promise<void> {
    await this.writeback('flush');
    const err = this.stickyError;
    if (err !== 0) {
      this.stickyError = 0;
      throw new NetfsError(err, `netfs: writeback of ${this.key} failed (${err})`);
    }
  }

  /* ---- size and invalidation ---- */

  /** Tell the local cache [from, to) is no longer the file's, and stop copies of older reads. */
  private invalidateFscache(from: number, to: number): void {
    if (!this.fscache) return;
    this.fscacheEpoch++;
    this.fscache.invalidate?.(from, to);
  }

  /**
   * Our own truncate or extend to `n`. Shrinking discards dirty bytes past n,
   * zeroes the rest of the folio holding n and lowers the zero point;
   * extending exposes zeros (a hole) that are never read from the server.
   * Clean folios from the one holding the smaller size on are dropped.
   * Writeback in flight is not waited for: use truncate() for that.
   */
  setSize(n: number): void {
    checkCount('size', n);
    if (n === this.fileSize) return;
    if (n < this.fileSize) {
      this.cache.truncateHeld(this.key, n);
      if (n < this.zeroPoint) this.zeroPoint = n;
      this.invalidateFscache(n, Infinity);
    }
    this.cache.invalidateFrom(this.key, Math.floor(Math.min(n, this.fileSize) / this.cache.folioSize));
    this.fileSize = n;
  }

  /**
   * setSize(n) once no writeback is in flight, so no write issued before the
   * truncate lands on the server after it (the filesystem then sets the
   * server's end of file).
   */
  async truncate(n: number): Promise<void> {
    checkCount('size', n);
    while (this.wbActive) await this.wbActive;
    this.setSize(n);
  }

  /**
   * The file changed on the server: drop its clean cached folios and reset
   * readahead. Dirty data is kept (flush first, e.g. on a lease break); the
   * zero point is forgotten, so everything below the size is read again.
   */
  invalidate(): void {
    this.cache.invalidateFile(this.key);
    this.invalidateFscache(0, Infinity);
    this.zeroPoint = Infinity;
    this.ra.window = 0;
    this.ra.prevStart = this.ra.prevEnd = this.ra.issuedTo = 0;
  }

  /**
   * Drop every cached folio of the file, dirty ones included, and any sticky
   * error: the file was deleted, or a lease break says the data is not ours.
   * Writeback in flight finishes but changes nothing in the cache.
   */
  discard(): void {
    if (this.expireTimer) clearTimeout(this.expireTimer);
    this.expireTimer = null;
    this.cache.discardFile(this.key);
    this.invalidateFscache(0, Infinity);
    this.stickyError = 0;
    this.ra.window = 0;
    this.ra.prevStart = this.ra.prevEnd = this.ra.issuedTo = 0;
  }
}

/**
 * NetfsInode: the per-open-file read context, after netfslib's netfs_inode
 * plus the buffered read entry points (netfs_read_folio / netfs_readahead /
 * netfs_unbuffered_read_iter).
 *
 * Buffered reads pin the folios of the wanted range: up-to-date ones are used
 * as they are, locked ones (being filled by another request) are waited for,
 * and each run of missing ones is locked and read by one IoRequest. Because a
 * missing folio is locked in the same synchronous step that finds it missing,
 * two readers of the same folio cause one server read. Data is copied once,
 * folio → caller's buffer.
 *
 * Readahead keeps a window ahead of a sequential reader: it starts at
 * max(128 KiB, read size), doubles each time a new window is issued, up to
 * readaheadMax (and a quarter of the cache), and is issued asynchronously as
 * 'readahead' requests so many subrequests are in flight. A non-sequential
 * read resets it.
 */
import { Bvecq } from './bvecq.js';
import { NETFS_EINVAL, NetfsError } from './errors.js';
import type { NetfsReadOps } from './ops.js';
import type { Folio, PageCache } from './page-cache.js';
import { dispatchReadRequest } from './read-issue.js';
import { IoRequest, type NetfsOrigin } from './request.js';

/** Default readahead ceiling: 8 MiB. */
export const DEFAULT_READAHEAD_MAX = 8 * 1024 * 1024;
/** Initial readahead window. */
export const READAHEAD_INITIAL = 128 * 1024;

export interface NetfsInodeOptions {
  /** Identifies the file's data in the shared page cache. */
  key: string;
  /** File size in bytes. */
  size: number;
  ops: NetfsReadOps;
  cache: PageCache;
  /** Largest readahead window in bytes (default 8 MiB; 0 disables readahead). */
  readaheadMax?: number;
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
  private fileSize: number;
  private readonly ra: ReadaheadState = { window: 0, prevStart: 0, prevEnd: 0, issuedTo: 0 };

  constructor(opts: NetfsInodeOptions) {
    checkCount('size', opts.size);
    this.key = opts.key;
    this.ops = opts.ops;
    this.cache = opts.cache;
    this.fileSize = opts.size;
    const fs = opts.cache.folioSize;
    const want = opts.readaheadMax ?? DEFAULT_READAHEAD_MAX;
    checkCount('readaheadMax', want);
    const cap = Math.floor(opts.cache.maxBytes / 4 / fs) * fs;
    this.readaheadMax = want === 0 ? 0 : Math.max(fs, Math.min(want, cap));
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
   */
  async read(pos: number, len: number, dst: Buffer): Promise<number> {
    checkCount('position', pos);
    checkCount('length', len);
    const end = Math.min(pos + Math.min(len, dst.length), this.fileSize);
    if (pos >= end) return 0;
    const fsize = this.cache.folioSize;
    const first = Math.floor(pos / fsize);
    const last = Math.floor((end - 1) / fsize);
    const own = new Set<Folio>();
    const held: Folio[] = [];
    try {
      const pinned = this.pin(first, last, own, held);
      this.readahead(pos, end);
      for (let i = 0; i < pinned.length; i++) {
        let f = pinned[i]!;
        if (f.state === 'locked') await f.wait();
        if (f.state === 'failed' && !own.has(f)) {
          // Filled by someone else's request (readahead, another reader) and
          // failed: read it once more ourselves before reporting the error.
          f = this.pin(first + i, first + i, own, held)[0]!;
          if (f.state === 'locked') await f.wait();
        }
        if (f.state === 'failed') {
          throw new NetfsError(f.error, `netfs: read of ${this.key} at ${f.start} failed (${f.error})`);
        }
        const from = Math.max(pos, f.start);
        const to = Math.min(end, f.start + f.buf.length);
        f.buf.copy(dst, from - pos, from - f.start, to - f.start);
      }
    } finally {
      for (const f of held) this.cache.unpin(f);
    }
    return end - pos;
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
  private issueRun(run: Folio[], origin: NetfsOrigin): Folio[] {
    const fs = this.cache.folioSize;
    const rreq = new IoRequest({
      origin,
      start: run[0]!.start,
      len: run.length * fs,
      ops: this.ops,
      fileSize: this.fileSize,
      cache: this.cache,
      folios: run,
    });
    dispatchReadRequest(rreq);
    return [];
  }

  /**
   * Readahead bookkeeping for a read of [pos, end), then asynchronous issue of
   * the window ahead of it if the access is sequential and the window ahead
   * has run low (under half a window issued beyond this read).
   */
  private readahead(pos: number, end: number): void {
    const ra = this.ra;
    const fs = this.cache.folioSize;
    const sequential = pos >= ra.prevStart && pos <= Math.max(ra.prevEnd, ra.issuedTo);
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
    const to = Math.min(roundUp(end + ra.window), roundUp(this.fileSize));
    if (to - from < Math.max(fs, ra.window / 2)) return;
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
   * Read straight from the server into `dst` (no page cache, no copy): `dst` is
   * wrapped in a chain that the subrequests decant into. Returns the bytes read,
   * fewer than asked when the server reports end of file.
   */
  async readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number> {
    checkCount('position', pos);
    checkCount('length', len);
    const n = Math.min(len, dst.length);
    if (n === 0) return 0;
    const rreq = new IoRequest({
      origin: 'unbuffered-read',
      start: pos,
      len: n,
      ops: this.ops,
      fileSize: this.fileSize,
      chain: Bvecq.fromBuffers([dst.subarray(0, n)], pos),
    });
    dispatchReadRequest(rreq);
    await rreq.done;
    if (rreq.error !== 0) throw new NetfsError(rreq.error, `netfs: unbuffered read of ${this.key} at ${pos} failed (${rreq.error})`);
    return Math.max(0, Math.min(n, rreq.eofAt - pos));
  }

  /**
   * The file's size changed (truncate, extend, or seen on the server). Folios
   * from the one holding the smaller of the two sizes on are dropped: their
   * tail was zero-filled past the old size or lies past the new one.
   */
  setSize(n: number): void {
    checkCount('size', n);
    if (n === this.fileSize) return;
    this.cache.invalidateFrom(this.key, Math.floor(Math.min(n, this.fileSize) / this.cache.folioSize));
    this.fileSize = n;
  }

  /** The file changed on the server: drop its cached folios and reset readahead. */
  invalidate(): void {
    this.cache.invalidateFile(this.key);
    this.ra.window = 0;
    this.ra.prevStart = this.ra.prevEnd = this.ra.issuedTo = 0;
  }
}

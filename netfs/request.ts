/**
 * I/O requests and subrequests, after netfslib's netfs_io_request and
 * netfs_io_subrequest.
 *
 * An IoRequest covers one contiguous file range [start, start + len) with one
 * origin. It owns a bvecq chain and three cursors:
 *
 *     chain:  |== collected ==|== in flight ==|== loaded, not dispatched ==|
 *             start      collectedTo    dispatchPos (submittedTo)     loadPos (loadedTo)
 *
 * The issuer (read-issue.ts) appends folios at loadPos and cuts subrequests at
 * dispatchPos; the collector (read-collect.ts) walks completed subrequests from
 * the front of the list in file order, advancing collectedTo and releasing the
 * chain behind it. The issuer appends to the back of the subrequest list while
 * the collector consumes from the front; a follow-up for a short read is
 * linked in right after the subrequest it continues, so the list stays in file
 * order.
 */
import { Bvecq, type BvecqPos } from './bvecq.js';
import type { NetfsReadOps, NetfsWriteOps } from './ops.js';
import type { Folio, PageCache, WritebackFolio } from './page-cache.js';
import { traceRreq } from './trace.js';

/** Retries of one subrequest for retryable errors or no progress (read-retry.ts). */
export const NETFS_MAX_RETRIES = 3;

export type NetfsOrigin = 'read' | 'readahead' | 'unbuffered-read' | 'writeback' | 'unbuffered-write';

/** Where a subrequest's data comes from. */
export type SubreqSource = 'server' | 'zero';

/**
 * in-progress: issued, awaiting complete(); terminated: complete() called,
 * result not yet examined; done / failed: final, waiting for the collector.
 */
export type SubreqState = 'in-progress' | 'terminated' | 'done' | 'failed';

let nextRequestId = 1;

/** What read and write subrequests share: the issue/completion state. */
abstract class SubrequestBase<S> {
  readonly debugId: string;
  state: SubreqState = 'in-progress';
  /** Bytes the filesystem reported for the current issue. */
  transferred = 0;
  /** Negative errno of the current issue, 0 if none. */
  error = 0;
  retryable = false;
  retries = 0;
  /** Bumped at each issue, so a late complete() of an earlier issue is ignored. */
  issueGen = 0;
  /** Next subrequest in file order. */
  next: S | null = null;

  constructor(
    kind: 'R' | 'W',
    requestId: number,
    readonly index: number,
    readonly start: number,
    /** Bytes wanted; cut down to what was done when a follow-up takes the rest. */
    public len: number,
  ) {
    this.debugId = `${kind}=${requestId.toString(16).padStart(8, '0')}[${index.toString(16)}]`;
  }

  get end(): number {
    return this.start + this.len;
  }
}

/** One slice of a read request, handed to the filesystem (or zero-filled). */
export class Subrequest extends SubrequestBase<Subrequest> {
  eof = false;

  constructor(
    readonly rreq: IoRequest,
    index: number,
    start: number,
    len: number,
    readonly source: SubreqSource,
    /** Private position at the first byte of this slice (never handed out). */
    readonly destStart: BvecqPos,
  ) {
    super('R', rreq.debugId, index, start, len);
  }
}

/**
 * What read and write requests share: the chain and its load and dispatch
 * cursors, the subrequest list the issuer appends to while the collector
 * walks it from the front, the collector's bookkeeping, and the `done`
 * promise that settles once everything is collected.
 */
abstract class RequestBase<S extends { next: S | null }> {
  readonly debugId = nextRequestId++;
  readonly start: number;
  readonly chain: Bvecq;
  /** Where the next folio is appended (end of loaded buffer). */
  readonly loadPos: BvecqPos;
  loadedTo: number;
  /** Folios appended to the chain so far. */
  foliosLoaded = 0;
  /** Where the next subrequest's slice starts. */
  readonly dispatchPos: BvecqPos;
  submittedTo: number;
  /** File position completion has reached, in file order. Only moves forward. */
  collectedTo: number;
  /** First (permanent) error, a negative errno; 0 if none. */
  error = 0;
  subreqCount = 0;
  /** Oldest subrequest not yet collected. */
  front: S | null = null;
  /** Newest subrequest in the list. */
  back: S | null = null;
  /** Subrequests terminated but not yet examined by the collector. */
  readonly terminated: S[] = [];
  collectScheduled = false;
  /** All of the range has subrequests (the issuer has finished). */
  allIssued = false;
  completed = false;
  /** Settles (never rejects) once everything is collected. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  abstract readonly len: number;

  /**
   * `chain` given: a caller's buffer, already loaded from `start`; otherwise
   * an empty chain that folios are loaded into as the issuer goes.
   */
  constructor(start: number, chain?: Bvecq) {
    this.start = start;
    this.chain = chain ?? new Bvecq();
    this.loadedTo = chain ? start + chain.length : start;
    this.loadPos = chain ? this.chain.at(chain.length) : this.chain.start();
    this.dispatchPos = this.chain.start();
    this.submittedTo = this.collectedTo = start;
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  }

  get end(): number {
    return this.start + this.len;
  }

  /** Link a subrequest at the back of the list. */
  appendSubreq(s: S): void {
    if (this.back) this.back.next = s;
    else this.front = s;
    this.back = s;
  }

  /** Link a follow-up right after `after`, keeping file order. */
  insertAfter(after: S, s: S): void {
    s.next = after.next;
    after.next = s;
    if (this.back === after) this.back = s;
  }

  /** Mark the request finished and wake whoever awaits `done`. */
  finish(): void {
    if (this.completed) return;
    this.completed = true;
    this.resolveDone();
  }
}

export interface IoRequestInit {
  origin: NetfsOrigin;
  /** File range. */
  start: number;
  len: number;
  ops: NetfsReadOps;
  /** File size known when the request was made (short reads reaching it mean EOF). */
  fileSize: number;
  /** Buffered reads: the cache and the locked folios covering [start, start+len), in order. */
  cache?: PageCache;
  folios?: Folio[];
  /** Unbuffered reads: a chain over the caller's buffer, already loaded. */
  chain?: Bvecq;
}

/** One contiguous read of a file range. */
export class IoRequest extends RequestBase<Subrequest> {
  readonly origin: NetfsOrigin;
  readonly len: number;
  readonly ops: NetfsReadOps;
  readonly fileSize: number;
  readonly cache: PageCache | null;
  /** Locked folios this request fills, in file order (empty when unbuffered). */
  readonly folios: Folio[];
  /** File position where the server reported end of file (Infinity if it did not). */
  eofAt = Infinity;
  /** Folios finished by the collector so far. */
  foliosUnlocked = 0;
  /** Folios starting before this position overlap a failed subrequest. */
  badTo: number;
  badError = 0;

  constructor(init: IoRequestInit) {
    super(init.start, init.chain);
    this.origin = init.origin;
    this.len = init.len;
    this.ops = init.ops;
    this.fileSize = init.fileSize;
    this.cache = init.cache ?? null;
    this.folios = init.folios ?? [];
    this.badTo = init.start;
    traceRreq(this, 'new');
  }
}

/** One slice of a write request, handed to the filesystem. */
export class WriteSubrequest extends SubrequestBase<WriteSubrequest> {
  constructor(
    readonly wreq: WriteRequest,
    index: number,
    start: number,
    len: number,
    /** Private position at the first byte of this slice (never handed out). */
    readonly sourceStart: BvecqPos,
  ) {
    super('W', wreq.debugId, index, start, len);
  }

  /** The request, under the name traces read. */
  get rreq(): WriteRequest {
    return this.wreq;
  }
}

export interface WriteRequestInit {
  origin: 'writeback' | 'unbuffered-write';
  ops: NetfsWriteOps;
  /** Writeback: the folios' dirty ranges in file order (from PageCache.beginWriteback). */
  cache?: PageCache;
  folios?: WritebackFolio[];
  /** Unbuffered: a chain over the caller's buffer from `start`, already loaded. */
  chain?: Bvecq;
  start?: number;
  /** Called in file order as each written range is collected (zero point upkeep). */
  onWritten?: (start: number, end: number) => void;
}

/**
 * One write: dirty folio ranges (possibly with gaps between runs) or a
 * caller's buffer. Same cursors as IoRequest; the chain is discontiguous
 * where the runs are, and no subrequest spans a gap.
 */
export class WriteRequest extends RequestBase<WriteSubrequest> {
  readonly origin: 'writeback' | 'unbuffered-write';
  readonly ops: NetfsWriteOps;
  readonly cache: PageCache | null;
  readonly folios: WritebackFolio[];
  /** Bytes from `start` to the last byte (gaps included; for traces). */
  readonly len: number;
  /** Folios handed back to the cache by the collector so far. */
  foliosDone = 0;
  readonly onWritten: ((start: number, end: number) => void) | null;

  constructor(init: WriteRequestInit) {
    const folios = init.folios ?? [];
    super(init.chain ? (init.start ?? 0) : (folios[0]?.from ?? 0), init.chain);
    this.origin = init.origin;
    this.ops = init.ops;
    this.cache = init.cache ?? null;
    this.folios = folios;
    this.len = init.chain ? this.chain.length : (folios[folios.length - 1]?.to ?? 0) - this.start;
    this.onWritten = init.onWritten ?? null;
    traceRreq(this, 'new');
  }
}

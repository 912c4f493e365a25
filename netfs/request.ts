/**
 * The one I/O request type, after netfslib's netfs_io_request,
 * netfs_io_subrequest and netfs_io_stream. Reads and writes differ only in
 * their direction hooks (read-request.ts, write-request.ts); issue.ts,
 * collect.ts and retry.ts run both.
 *
 * A request covers the file range [start, start + len) and owns one bvecq
 * chain with three cursors, the only record of its buffer:
 *
 *     chain:  |== retired ==|== in flight ==|== loaded, not dispatched ==|
 *             start    collectedTo     submittedTo (dispatchPos)     loadedTo
 *
 * Loading appends buffer at the end (a folio's slot carries the folio as its
 * owner); the issuer cuts subrequests from the dispatch cursor up to the load
 * cursor; collection retires slots behind the collect cursor and releases
 * the chain there. Writes may have gaps (discontiguous segments) that no
 * subrequest spans.
 *
 * Subrequests belong to streams. Stream 0 is the primary one (reads: the
 * source of the data, server or cache per extent; writes: the server).
 * Stream 1, when attached, is a second destination (a local cache): fed by
 * the issuer with the same extents (writes), or by stream 0's collection with
 * what came from the server (reads: copy to cache). Each stream keeps its
 * subrequests in file order and its own collect point; the request's
 * collectedTo is the minimum over its streams, so a slot is retired only once
 * every stream is done with it.
 */
import { Bvecq, type BvecqPos, type BvecqSegment } from './bvecq.js';
import { traceRreq } from './trace.js';

/** Retries of one subrequest for retryable errors or no progress (retry.ts). */
export const NETFS_MAX_RETRIES = 3;

export type NetfsOrigin = 'read' | 'readahead' | 'unbuffered-read' | 'writeback' | 'unbuffered-write';

/** Where a subrequest's data comes from or goes: the server, the local cache, or zeros (reads past EOF). */
export type SubreqSource = 'server' | 'cache' | 'zero';

/**
 * in-progress: issued, awaiting complete(); terminated: complete() called,
 * result not yet examined; done / failed: final, waiting for the collector.
 */
export type SubreqState = 'in-progress' | 'terminated' | 'done' | 'failed';

let nextRequestId = 1;

/** One slice of a request in one stream, handed to the filesystem or cache. */
export class NetfsSubrequest {
  readonly debugId: string;
  state: SubreqState = 'in-progress';
  /** Bytes the filesystem reported for the current issue. */
  transferred = 0;
  /** Negative errno of the current issue, 0 if none. */
  error = 0;
  /** Reads: the server reported end of file. */
  eof = false;
  retryable = false;
  retries = 0;
  /** Bumped at each issue, so a late complete() of an earlier issue is ignored. */
  issueGen = 0;
  /** Next subrequest of the stream, in file order. */
  next: NetfsSubrequest | null = null;

  constructor(
    readonly stream: NetfsStream,
    index: number,
    readonly start: number,
    /** Bytes wanted; cut down to what was done when a follow-up takes the rest. */
    public len: number,
    public source: SubreqSource,
    /** Private position at the first byte of this slice (never handed out). */
    readonly pos: BvecqPos,
  ) {
    // On the segment holding the first byte, not at the end of the one
    // before: that one may be released while this is in flight.
    pos.settle();
    const r = stream.req;
    const tail = stream.index === 0 ? '' : `/${stream.index}`;
    this.debugId = `${r.dir.kind}=${r.debugId.toString(16).padStart(8, '0')}[${index.toString(16)}]${tail}`;
  }

  get end(): number {
    return this.start + this.len;
  }

  /** The request, under the name traces read. */
  get rreq(): NetfsRequest {
    return this.stream.req;
  }
}

/**
 * Walks a chain slot by slot (for collection). Starts before the chain's
 * first slot, even if the chain is still empty. After step() returns true,
 * `owner` and `start` describe the slot just passed.
 */
export class SlotCursor {
  seg: BvecqSegment | null = null;
  slot = 0;
  /** File position of the next slot. */
  fpos = NaN;
  owner: unknown = undefined;
  start = NaN;

  constructor(readonly chain: Bvecq) {}

  /** Move past the next slot if it lies wholly below `to`; false when there is none. */
  step(to: number): boolean {
    for (;;) {
      let seg = this.seg;
      if (!seg) {
        seg = this.chain.head;
        if (!seg) return false;
        this.seg = seg;
        this.slot = 0;
        this.fpos = seg.fpos;
      }
      if (this.slot >= seg.slots.length) {
        if (!seg.next) return false;
        this.seg = seg.next;
        this.slot = 0;
        this.fpos = seg.next.fpos;
        continue;
      }
      const end = this.fpos + seg.slots[this.slot]!.length;
      if (end > to) return false;
      this.owner = seg.owners[this.slot];
      this.start = this.fpos;
      this.slot++;
      this.fpos = end;
      return true;
    }
  }
}

/** How a stream is fed work. */
export type StreamFeed = 'issuer' | 'collector';

/** One stream of subrequests (netfs_io_stream): its own list and collect point. */
export class NetfsStream {
  /** Oldest subrequest not yet collected. */
  front: NetfsSubrequest | null = null;
  /** Newest subrequest in the list. */
  back: NetfsSubrequest | null = null;
  /** End of the last subrequest collected. Only moves forward. */
  collectedTo: number;
  /** Slots starting before this overlap a failed subrequest of this stream. */
  badTo: number;
  badError = 0;
  /** First permanent error of this stream; once set, the stream takes no new work. */
  error = 0;
  /** The slot walk of this stream's collect point. */
  readonly slots: SlotCursor;

  constructor(
    readonly req: NetfsRequest,
    readonly index: number,
    /** 'issuer': cut by the dispatcher; 'collector': fed as stream 0 collects. */
    readonly feed: StreamFeed,
    /** An error here fails the request (stream 0); otherwise it only stops the stream. */
    readonly essential: boolean,
  ) {
    this.collectedTo = this.badTo = req.start;
    this.slots = new SlotCursor(req.chain);
  }

  /**
   * Everything of this stream below here is final: the start of the oldest
   * subrequest not collected, or (when none is pending) where new work could
   * still come from its feeder.
   */
  get point(): number {
    if (this.front) return this.front.start;
    const req = this.req;
    if (this.feed === 'collector') return req.streams[0]!.point;
    return req.allIssued ? req.end : req.submittedTo;
  }

  /** Link a subrequest at the back of the list. */
  append(s: NetfsSubrequest): void {
    if (this.back) this.back.next = s;
    else this.front = s;
    this.back = s;
  }

  /** Link a follow-up right after `after`, keeping file order. */
  insertAfter(after: NetfsSubrequest, s: NetfsSubrequest): void {
    s.next = after.next;
    after.next = s;
    if (this.back === after) this.back = s;
  }
}

/**
 * What differs between a read and a write: where each extent's data comes
 * from, where a subrequest goes, what a short transfer means and what
 * collection does with a done range. Called by issue.ts and collect.ts.
 */
export interface NetfsDirection {
  readonly kind: 'R' | 'W';
  /** Reads stop retrying once their stream has failed (the data is lost anyway); writes go on. */
  readonly retryAfterError: boolean;
  /** The next extent of stream 0 from `from` (< runEnd, the end of the contiguous run): source and length ≥ 1. */
  nextExtent(req: NetfsRequest, from: number, runEnd: number): { source: SubreqSource; len: number };
  /** Largest subrequest a stream's source takes now. */
  maxSize(stream: NetfsStream, source: SubreqSource): number;
  /** Hand a subrequest's view to whoever serves its stream and source. */
  issue(s: NetfsSubrequest, view: NetfsSubrequestView): void;
  /** A short or failed transfer whose rest can come from elsewhere (cache → server): the source, or null. */
  fallback(s: NetfsSubrequest): SubreqSource | null;
  /** A short transfer that reached end of file: record it and return true (the engine zero-fills the rest). */
  reachedEof(s: NetfsSubrequest): boolean;
  /** A stream's collect point passed subrequest `s` (done or failed), in file order. */
  subreqCollected(s: NetfsSubrequest): void;
  /** A stream's collect point passed a slot; `error` is nonzero if a failed subrequest overlapped it. */
  slotCollected(stream: NetfsStream, owner: unknown, error: number): void;
  /** The request's collect point passed a slot: no stream needs its buffer any more. */
  slotRetired(req: NetfsRequest, owner: unknown): void;
}

/** The view of a subrequest handed out: `dest` for reads, `source` for writes (the same position). */
export interface NetfsSubrequestView {
  readonly debugId: string;
  readonly start: number;
  readonly len: number;
  readonly dest: BvecqPos;
  readonly source: BvecqPos;
  complete(result: { transferred: number; error?: number; eof?: boolean; retryable?: boolean }): void;
}

export interface NetfsRequestInit<D extends NetfsDirection> {
  origin: NetfsOrigin;
  dir: D;
  /** File range. */
  start: number;
  len: number;
  /** A caller's buffer, already loaded from `start`; otherwise an empty chain loaded with load(). */
  chain?: Bvecq;
  /** Attach stream 1 (a second destination), fed as said. */
  stream1?: StreamFeed;
}

/** One I/O request: a chain, its cursors and its streams; `dir` says read or write. */
export class NetfsRequest<D extends NetfsDirection = NetfsDirection> {
  readonly debugId = nextRequestId++;
  readonly origin: NetfsOrigin;
  readonly dir: D;
  readonly start: number;
  readonly len: number;
  readonly chain: Bvecq;
  /** Load cursor: file position just past the last loaded byte. */
  loadedTo: number;
  /** Dispatch cursor: where the next subrequest's slice starts, and its file position. */
  readonly dispatchPos: BvecqPos;
  submittedTo: number;
  /** Collect cursor: minimum of the streams' points. Only moves forward. */
  collectedTo: number;
  /** The slot walk of the collect cursor (retires slots, releases the chain). */
  readonly retired: SlotCursor;
  readonly streams: NetfsStream[];
  /** First permanent error of an essential stream, a negative errno; 0 if none. */
  error = 0;
  subreqCount = 0;
  /** Subrequests terminated but not yet examined by the collector. */
  readonly terminated: NetfsSubrequest[] = [];
  collectScheduled = false;
  /** All of the range has subrequests (the issuer has finished). */
  allIssued = false;
  completed = false;
  /** Settles (never rejects) once every stream is collected. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(init: NetfsRequestInit<D>) {
    this.origin = init.origin;
    this.dir = init.dir;
    this.start = init.start;
    this.len = init.len;
    this.chain = init.chain ?? new Bvecq();
    this.loadedTo = init.start + this.chain.length;
    this.dispatchPos = this.chain.start();
    this.submittedTo = this.collectedTo = init.start;
    this.retired = new SlotCursor(this.chain);
    this.streams = [new NetfsStream(this, 0, 'issuer', true)];
    if (init.stream1) this.streams.push(new NetfsStream(this, 1, init.stream1, false));
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    traceRreq(this, 'new');
  }

  get end(): number {
    return this.start + this.len;
  }

  /** Append `buf` (file bytes from `fpos`) at the load cursor; `owner` rides with its slot. */
  load(buf: Buffer, fpos: number, owner?: unknown): void {
    this.chain.append(buf, fpos, owner);
    this.loadedTo = fpos + buf.length;
  }

  /** Mark the request finished and wake whoever awaits `done`. */
  finish(): void {
    if (this.completed) return;
    this.completed = true;
    this.resolveDone();
  }
}

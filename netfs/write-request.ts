/**
 * The write direction: every extent goes to the server (stream 0) and, with
 * a cache that writes, the same extents to the cache (stream 1). A short
 * write continues with a follow-up; there is no EOF. As stream 0 passes a
 * slot, a failed subrequest over it leaves its folio's error; once every
 * stream has passed it, the folio goes back to the page cache (clean, or
 * still dirty with the error). A cache failure never keeps a folio dirty.
 */
import type { Bvecq } from './bvecq.js';
import type { NetfsCacheOps, NetfsWriteOps } from './ops.js';
import type { PageCache, WritebackFolio } from './page-cache.js';
import { NetfsRequest, type NetfsDirection, type NetfsStream, type NetfsSubrequest, type NetfsSubrequestView, type SubreqSource } from './request.js';

export interface WriteRequestInit {
  origin: 'writeback' | 'unbuffered-write';
  ops: NetfsWriteOps;
  /** File range from the first to the last byte (gaps between dirty runs included). */
  start: number;
  len: number;
  /** Writeback: the page cache whose folios are loaded with loadWritebackFolio(). */
  cache?: PageCache;
  /** Unbuffered: a chain over the caller's buffer from `start`, already loaded. */
  chain?: Bvecq;
  /** A local cache that gets a copy of what is written (writeback only). */
  fscache?: NetfsCacheOps | null;
  /** Called in file order as each range written to the server is collected (zero point upkeep). */
  onWritten?: (start: number, end: number) => void;
}

export class WriteDirection implements NetfsDirection {
  readonly kind = 'W';
  readonly retryAfterError = true;

  constructor(
    readonly ops: NetfsWriteOps,
    readonly cache: PageCache | null,
    readonly fscache: NetfsCacheOps | null,
    readonly onWritten: ((start: number, end: number) => void) | null,
  ) {}

  nextExtent(_req: NetfsRequest, from: number, runEnd: number): { source: SubreqSource; len: number } {
    return { source: 'server', len: runEnd - from };
  }

  maxSize(_stream: NetfsStream, source: SubreqSource): number {
    return source === 'cache' ? this.fscache!.write!.maxWriteSize() : this.ops.maxWriteSize();
  }

  issue(s: NetfsSubrequest, view: NetfsSubrequestView): void {
    if (s.source === 'cache') this.fscache!.write!.issueWrite(view);
    else this.ops.issueWrite(view);
  }

  fallback(): SubreqSource | null {
    return null;
  }

  reachedEof(): boolean {
    return false;
  }

  subreqCollected(s: NetfsSubrequest): void {
    if (s.stream.index === 0 && s.state === 'done') this.onWritten?.(s.start, s.end);
  }

  slotCollected(stream: NetfsStream, owner: unknown, error: number): void {
    const w = owner as WritebackFolio | undefined;
    if (stream.index === 0 && w && error !== 0 && w.error === 0) w.error = error;
  }

  slotRetired(_req: NetfsRequest, owner: unknown): void {
    if (owner && this.cache) this.cache.endWriteback(owner as WritebackFolio);
  }
}

export type WriteRequest = NetfsRequest<WriteDirection>;

/** A write request; writeback gets stream 1 when the cache can be written. */
export function newWriteRequest(init: WriteRequestInit): WriteRequest {
  const fscache = init.origin === 'writeback' && init.fscache?.write ? init.fscache : null;
  const dir = new WriteDirection(init.ops, init.cache ?? null, fscache, init.onWritten ?? null);
  return new NetfsRequest({
    origin: init.origin,
    dir,
    start: init.start,
    len: init.len,
    chain: init.chain,
    stream1: fscache ? 'issuer' : undefined,
  });
}

/** Load a folio's dirty range (a view, no copy) at the load cursor; the slot carries it. */
export function loadWritebackFolio(req: WriteRequest, w: WritebackFolio): void {
  const f = w.folio;
  req.load(f.buf.subarray(w.from - f.start, w.to - f.start), w.from, w);
}

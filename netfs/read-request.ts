/**
 * The read direction: where each extent comes from (the server, the cache
 * as NetfsCacheOps.prepareRead chooses, or zeros past the end of the
 * server's data), what a short read means (EOF: zero-fill; otherwise a
 * follow-up; a short or failed cache read: the server for the rest) and what
 * collection does (folios up to date or failed as stream 0 passes them, so a
 * reader waits for nothing else). With a cache that writes, what came from
 * the server is copied to it as stream 1 once collected; the folios stay
 * pinned (their buffers not recycled) until stream 1 is done with them.
 */
import type { Bvecq } from './bvecq.js';
import type { NetfsCacheOps, NetfsReadOps } from './ops.js';
import type { Folio, PageCache } from './page-cache.js';
import { issueRange } from './issue.js';
import { NetfsRequest, type NetfsDirection, type NetfsStream, type NetfsSubrequest, type NetfsSubrequestView, type SubreqSource } from './request.js';
import { traceRreq } from './trace.js';

export interface ReadRequestInit {
  origin: 'read' | 'readahead' | 'unbuffered-read';
  /** File range. */
  start: number;
  len: number;
  ops: NetfsReadOps;
  /** File size known when the request was made (short reads reaching it mean EOF). */
  fileSize: number;
  /** Buffered reads: the page cache whose locked folios are loaded with loadFolio(). */
  cache?: PageCache;
  /** Unbuffered reads and gap fills: a chain over the caller's buffer, already loaded. */
  chain?: Bvecq;
  /** A local cache to read from and (buffered reads) copy into. */
  fscache?: NetfsCacheOps | null;
  /** True once the cache was invalidated after this request began: its data is not copied any more. */
  stale?: () => boolean;
}

export class ReadDirection implements NetfsDirection {
  readonly kind = 'R';
  readonly retryAfterError = false;
  /** File position where the server reported end of file (Infinity if it did not). */
  eofAt = Infinity;

  constructor(
    readonly ops: NetfsReadOps,
    readonly fileSize: number,
    readonly cache: PageCache | null,
    readonly fscache: NetfsCacheOps | null,
    /** Stream 1 copies server data into fscache; loaded folios are pinned until it is done. */
    readonly copying: boolean,
    private readonly stale: () => boolean,
  ) {}

  nextExtent(req: NetfsRequest, from: number, runEnd: number): { source: SubreqSource; len: number } {
    // Unbuffered reads let the server decide EOF; buffered ones stop at the size.
    const serverEnd = req.origin === 'unbuffered-read' ? req.end : Math.min(req.end, this.fileSize);
    const limit = Math.min(runEnd, serverEnd, this.eofAt);
    if (from >= limit) return { source: 'zero', len: runEnd - from };
    return this.chooseSource(from, limit - from);
  }

  /** Ask the cache, if any, where [from, +len) starts coming from; its answer is checked. */
  private chooseSource(from: number, len: number): { source: SubreqSource; len: number } {
    if (!this.fscache) return { source: 'server', len };
    try {
      const c = this.fscache.prepareRead(from, len);
      if ((c.source === 'cache' || c.source === 'server') && Number.isSafeInteger(c.len) && c.len >= 1 && c.len <= len) {
        return { source: c.source, len: c.len };
      }
    } catch {
      // A broken cache is not a reason to fail a read: the server has the data.
    }
    return { source: 'server', len };
  }

  maxSize(stream: NetfsStream, source: SubreqSource): number {
    if (stream.index !== 0) return this.fscache!.write!.maxWriteSize();
    return source === 'cache' ? this.fscache!.read.maxReadSize() : this.ops.maxReadSize();
  }

  issue(s: NetfsSubrequest, view: NetfsSubrequestView): void {
    if (s.stream.index !== 0) this.fscache!.write!.issueWrite(view);
    else if (s.source === 'cache') this.fscache!.read.issueRead(view);
    else this.ops.issueRead(view);
  }

  fallback(s: NetfsSubrequest): SubreqSource | null {
    return s.stream.index === 0 && s.source === 'cache' ? 'server' : null;
  }

  reachedEof(s: NetfsSubrequest): boolean {
    if (s.stream.index !== 0 || s.source !== 'server') return false;
    const at = s.start + s.transferred;
    if (!s.eof && at < this.fileSize) return false;
    if (at < this.eofAt) {
      this.eofAt = at;
      traceRreq(s.stream.req, 'eof');
    }
    return true;
  }

  /** Stream 0 passed data from the server: copy it to the cache (stream 1), up to EOF. */
  subreqCollected(s: NetfsSubrequest): void {
    const copy = s.stream.req.streams[1];
    if (s.stream.index !== 0 || s.state !== 'done' || s.source !== 'server' || !copy || copy.error !== 0) return;
    if (this.stale()) return;
    const len = Math.min(s.end, this.eofAt) - s.start;
    if (len > 0) issueRange(copy, s.start, len, 'cache', s.pos.clone());
  }

  slotCollected(stream: NetfsStream, owner: unknown, error: number): void {
    if (stream.index !== 0 || !this.cache || !owner) return;
    const f = owner as Folio;
    if (error !== 0) this.cache.markFailed(f, error);
    else this.cache.markUptodate(f);
  }

  slotRetired(_req: NetfsRequest, owner: unknown): void {
    if (this.copying && this.cache && owner) this.cache.unpin(owner as Folio);
  }
}

export type ReadRequest = NetfsRequest<ReadDirection>;

/** A read request; buffered ones get stream 1 when the cache can be written. */
export function newReadRequest(init: ReadRequestInit): ReadRequest {
  const fscache = init.fscache ?? null;
  const copying = init.cache !== undefined && !init.chain && fscache?.write !== undefined;
  const dir = new ReadDirection(init.ops, init.fileSize, init.cache ?? null, fscache, copying, init.stale ?? (() => false));
  return new NetfsRequest({
    origin: init.origin,
    dir,
    start: init.start,
    len: init.len,
    chain: init.chain,
    stream1: copying ? 'collector' : undefined,
  });
}

/** Load a locked folio at the request's load cursor; the slot carries it. */
export function loadFolio(req: ReadRequest, f: Folio): void {
  req.load(f.buf, f.start, f);
  if (req.dir.copying) req.dir.cache!.pin(f);
}

/**
 * Issuing, after netfslib's read and write issue paths: cut subrequests at
 * the dispatch cursor up to the load cursor, each extent from the source the
 * direction chooses and no larger than that source takes, and hand each to
 * the filesystem (or cache). A subrequest never spans a gap in the chain (a
 * discontiguous segment): the bytes would land at the wrong file position.
 * Streams fed by the issuer get the same extents as stream 0.
 */
import type { BvecqPos } from './bvecq.js';
import { scheduleCollect, failRequest } from './collect.js';
import { NETFS_EIO } from './errors.js';
import { NetfsSubrequest, type NetfsRequest, type NetfsStream, type NetfsSubrequestView, type SubreqSource } from './request.js';
import { traceRreq, traceSreq } from './trace.js';

/** Make a subrequest of `stream` over [start, +len) at chain position `pos` (taken over) and link it. */
function newSubrequest(stream: NetfsStream, start: number, len: number, source: SubreqSource, pos: BvecqPos): NetfsSubrequest {
  const req = stream.req;
  const s = new NetfsSubrequest(stream, req.subreqCount++, start, len, source, pos);
  stream.append(s);
  return s;
}

/** The largest subrequest a stream's source takes now, at least 1. */
function maxSize(stream: NetfsStream, source: SubreqSource): number {
  if (source === 'zero') return Number.MAX_SAFE_INTEGER;
  return Math.max(1, Math.floor(stream.req.dir.maxSize(stream, source)));
}

/**
 * Cut [start, +len) at `pos` into subrequests of `stream` no larger than its
 * source takes, and issue each. `pos` is advanced past the range.
 */
export function issueRange(stream: NetfsStream, start: number, len: number, source: SubreqSource, pos: BvecqPos): void {
  let at = start;
  while (at < start + len) {
    const n = Math.min(maxSize(stream, source), start + len - at);
    const s = newSubrequest(stream, at, n, source, pos.clone());
    pos.advance(n);
    at += n;
    issueSubrequest(s);
  }
}

/**
 * Hand a subrequest out with a fresh view: a private clone of its start
 * position, and a complete() that works once for this issue. A zero-fill
 * subrequest is done at once without anyone. A synchronous throw from the
 * filesystem counts as an EIO completion.
 */
export function issueSubrequest(s: NetfsSubrequest): void {
  const req = s.stream.req;
  const gen = ++s.issueGen;
  s.state = 'in-progress';
  s.transferred = 0;
  s.error = 0;
  s.eof = false;
  s.retryable = false;
  if (s.source === 'zero') {
    s.pos.clone().zero(s.len);
    s.transferred = s.len;
    s.state = 'done';
    traceSreq(s, 'zero');
    return;
  }
  let completed = false;
  const at = s.pos.clone();
  const view: NetfsSubrequestView = {
    debugId: s.debugId,
    start: s.start,
    len: s.len,
    dest: at,
    source: at,
    complete(result) {
      if (completed || gen !== s.issueGen || req.completed) {
        traceSreq(s, 'dup-complete');
        return;
      }
      completed = true;
      s.transferred = result.transferred;
      s.error = result.error ?? 0;
      s.eof = result.eof === true;
      s.retryable = result.retryable === true;
      s.state = 'terminated';
      traceSreq(s, 'terminated');
      req.terminated.push(s);
      scheduleCollect(req);
    },
  };
  traceSreq(s, 'submit');
  try {
    req.dir.issue(s, view);
  } catch {
    if (!completed) view.complete({ transferred: 0, error: NETFS_EIO });
  }
}

/**
 * Issue everything loaded: extents of stream 0 as the direction chooses
 * them, within each contiguous run, the same extents to every other
 * issuer-fed stream still working. Everything goes out at once, so many
 * subrequests are in flight. Never throws; a fault in the engine fails the
 * request.
 */
export function dispatchRequest(req: NetfsRequest): void {
  try {
    while (req.submittedTo < req.loadedTo) {
      // Past a gap the dispatch cursor's file position jumps to the next run.
      const at = req.dispatchPos.fpos;
      if (!(at >= req.submittedTo)) throw new Error(`netfs: ${req.dir.kind}=${req.debugId} dispatch cursor at ${at}`);
      req.submittedTo = at;
      const runEnd = req.dispatchPos.runEnd();
      const ext = req.dir.nextExtent(req, at, runEnd);
      if (!Number.isSafeInteger(ext.len) || ext.len < 1 || ext.len > runEnd - at) {
        throw new Error(`netfs: ${req.dir.kind}=${req.debugId} bad extent ${ext.len} at ${at}`);
      }
      const pos = req.dispatchPos.clone();
      issueRange(req.streams[0]!, at, ext.len, ext.source, req.dispatchPos);
      req.submittedTo = at + ext.len;
      for (const st of req.streams) {
        if (st.index !== 0 && st.feed === 'issuer' && st.error === 0) issueRange(st, at, ext.len, 'cache', pos.clone());
      }
    }
    req.allIssued = true;
    traceRreq(req, 'issued');
    scheduleCollect(req);
  } catch {
    failRequest(req);
  }
}

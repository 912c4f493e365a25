/**
 * Write issuing, after netfslib's write_issue.c: load dirty folio ranges (or
 * the caller's buffer) at the request's load cursor until there is enough for
 * a subrequest, cut subrequests of at most ops.maxWriteSize() at the dispatch
 * cursor and hand each to the filesystem. A subrequest never spans a gap
 * between two dirty runs: the chain is discontiguous there, and the write
 * would put bytes at the wrong file position.
 */
import { NETFS_EIO } from './errors.js';
import type { NetfsWriteSubrequestView } from './ops.js';
import { WriteSubrequest, type WriteRequest } from './request.js';
import { failWriteRequest, scheduleWriteCollect } from './write-collect.js';
import { traceRreq, traceSreq } from './trace.js';

/**
 * Append the next folio's dirty range as a view (no copy) at the load cursor.
 * If it does not follow on from what is loaded, a new run starts: the issuer
 * must have dispatched everything loaded, and its cursor jumps to the run.
 */
function loadFolio(wreq: WriteRequest): boolean {
  const w = wreq.folios[wreq.foliosLoaded];
  if (!w) return false;
  if (w.from !== wreq.loadedTo) {
    if (wreq.submittedTo !== wreq.loadedTo) throw new Error(`netfs: W=${wreq.debugId} gap with undispatched data`);
    wreq.submittedTo = w.from;
  }
  const f = w.folio;
  wreq.chain.append(f.buf.subarray(w.from - f.start, w.to - f.start), w.from);
  wreq.loadPos.advance(w.to - w.from);
  wreq.loadedTo = w.to;
  wreq.foliosLoaded++;
  return true;
}

/** Does the next unloaded folio continue the current run? */
function nextFollows(wreq: WriteRequest): boolean {
  const w = wreq.folios[wreq.foliosLoaded];
  return w !== undefined && w.from === wreq.loadedTo;
}

/** Make a subrequest over [submittedTo, +len) at the dispatch cursor and link it. */
function cutSubrequest(wreq: WriteRequest, len: number): WriteSubrequest {
  const s = new WriteSubrequest(wreq, wreq.subreqCount++, wreq.submittedTo, len, wreq.dispatchPos.clone());
  wreq.dispatchPos.advance(len);
  wreq.submittedTo += len;
  wreq.appendSubreq(s);
  return s;
}

/**
 * Hand a subrequest to the filesystem with a fresh view: a private clone of
 * its start position as `source`, and a complete() that works once for this
 * issue. A synchronous throw from issueWrite counts as an EIO completion.
 */
export function issueWriteSubrequest(wreq: WriteRequest, s: WriteSubrequest): void {
  const gen = ++s.issueGen;
  s.state = 'in-progress';
  s.transferred = 0;
  s.error = 0;
  s.retryable = false;
  let completed = false;
  const view: NetfsWriteSubrequestView = {
    debugId: s.debugId,
    start: s.start,
    len: s.len,
    source: s.sourceStart.clone(),
    complete(result) {
      if (completed || gen !== s.issueGen || wreq.completed) {
        traceSreq(s, 'dup-complete');
        return;
      }
      completed = true;
      s.transferred = result.transferred;
      s.error = result.error ?? 0;
      s.retryable = result.retryable === true;
      s.state = 'terminated';
      traceSreq(s, 'terminated');
      wreq.terminated.push(s);
      scheduleWriteCollect(wreq);
    },
  };
  traceSreq(s, 'submit');
  try {
    wreq.ops.issueWrite(view);
  } catch {
    if (!completed) view.complete({ transferred: 0, error: NETFS_EIO });
  }
}

/**
 * Issue a whole request: for each run, load folios until a subrequest's worth
 * (maxWriteSize(), asked afresh for each) or the run's end is loaded, then cut
 * and issue. Everything goes out at once, so many subrequests are in flight.
 * Never throws; a fault in the engine fails the request.
 */
export function dispatchWriteRequest(wreq: WriteRequest): void {
  try {
    for (;;) {
      if (wreq.submittedTo === wreq.loadedTo && !loadFolio(wreq)) break;
      const max = Math.max(1, Math.floor(wreq.ops.maxWriteSize()));
      while (wreq.loadedTo - wreq.submittedTo < max && nextFollows(wreq)) loadFolio(wreq);
      const s = cutSubrequest(wreq, Math.min(max, wreq.loadedTo - wreq.submittedTo));
      issueWriteSubrequest(wreq, s);
    }
    wreq.allIssued = true;
    traceRreq(wreq, 'issued');
    scheduleWriteCollect(wreq);
  } catch {
    failWriteRequest(wreq);
  }
}

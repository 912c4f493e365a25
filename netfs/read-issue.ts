/**
 * Read issuing, after netfslib's buffered_read.c / direct_read.c dispatch:
 * load buffer at the request's load cursor until there is enough for a
 * subrequest, cut subrequests of at most ops.maxReadSize() at the dispatch
 * cursor and hand each to the filesystem. The part of the range past the file
 * size is zero-filled without asking the server.
 */
import { NETFS_EIO } from './errors.js';
import type { NetfsReadSubrequestView } from './ops.js';
import { scheduleCollect, failRequest } from './read-collect.js';
import { IoRequest, Subrequest, type SubreqSource } from './request.js';
import { traceRreq, traceSreq } from './trace.js';

/** Append folios to the chain at the load cursor until `to` is loaded. */
function loadTo(rreq: IoRequest, to: number): void {
  while (rreq.loadedTo < to) {
    const f = rreq.folios[rreq.foliosLoaded];
    if (!f) throw new Error(`netfs: ${rreq.debugId} has no buffer for ${rreq.loadedTo}`);
    rreq.chain.append(f.buf, f.start);
    rreq.loadPos.advance(f.buf.length);
    rreq.loadedTo = f.start + f.buf.length;
    rreq.foliosLoaded++;
  }
}

/** Make a subrequest over [submittedTo, +len) at the dispatch cursor and link it. */
function cutSubrequest(rreq: IoRequest, len: number, source: SubreqSource): Subrequest {
  loadTo(rreq, rreq.submittedTo + len);
  const s = new Subrequest(rreq, rreq.subreqCount++, rreq.submittedTo, len, source, rreq.dispatchPos.clone());
  rreq.dispatchPos.advance(len);
  rreq.submittedTo += len;
  rreq.appendSubreq(s);
  return s;
}

/**
 * Hand a subrequest to the filesystem with a fresh view: a private clone of its
 * start position as `dest`, and a complete() that works once for this issue.
 * A synchronous throw from issueRead counts as an EIO completion.
 */
export function issueSubrequest(rreq: IoRequest, s: Subrequest): void {
  const gen = ++s.issueGen;
  s.state = 'in-progress';
  s.transferred = 0;
  s.error = 0;
  s.eof = false;
  s.retryable = false;
  let completed = false;
  const view: NetfsReadSubrequestView = {
    debugId: s.debugId,
    start: s.start,
    len: s.len,
    dest: s.destStart.clone(),
    complete(result) {
      if (completed || gen !== s.issueGen || rreq.completed) {
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
      rreq.terminated.push(s);
      scheduleCollect(rreq);
    },
  };
  traceSreq(s, 'submit');
  try {
    rreq.ops.issueRead(view);
  } catch {
    if (!completed) view.complete({ transferred: 0, error: NETFS_EIO });
  }
}

/** Fill a subrequest's slice with zeros; it is done without the server. */
function zeroSubrequest(s: Subrequest): void {
  s.destStart.clone().zero(s.len);
  s.transferred = s.len;
  s.state = 'done';
  traceSreq(s, 'zero');
}

/**
 * Issue a whole request: subrequests of at most maxReadSize() up to the file
 * size (or to the request end for unbuffered reads, where the server decides
 * EOF), then one zero-fill subrequest for the rest. Never throws; a fault in
 * the engine fails the request.
 */
export function dispatchReadRequest(rreq: IoRequest): void {
  try {
    const serverEnd = rreq.origin === 'unbuffered-read' ? rreq.end : Math.min(rreq.end, rreq.fileSize);
    while (rreq.submittedTo < serverEnd && rreq.submittedTo < rreq.eofAt) {
      const max = Math.max(1, Math.floor(rreq.ops.maxReadSize()));
      const s = cutSubrequest(rreq, Math.min(max, serverEnd - rreq.submittedTo), 'server');
      issueSubrequest(rreq, s);
    }
    if (rreq.submittedTo < rreq.end) zeroSubrequest(cutSubrequest(rreq, rreq.end - rreq.submittedTo, 'zero'));
    rreq.allIssued = true;
    traceRreq(rreq, 'issued');
    scheduleCollect(rreq);
  } catch {
    failRequest(rreq);
  }
}

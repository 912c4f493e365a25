/**
 * Read collection, after netfslib's read_collect.c.
 *
 * Subrequests may complete in any order. complete() only records the result
 * and schedules the collector on a microtask (so a filesystem that completes
 * inside issueRead never re-enters the issuer). The collector then:
 *
 *   1. examines each terminated subrequest: too much data is an error; a
 *      retryable error or no progress is reissued (read-retry.ts); a short
 *      read continues with a follow-up for the rest; EOF zero-fills the rest;
 *   2. walks the list from the front in file order while subrequests are
 *      final, advancing collectedTo (forward only) and releasing the chain
 *      behind it;
 *   3. finishes every folio wholly below collectedTo: up to date, or dropped
 *      with the error if it overlaps a failed subrequest;
 *   4. completes the request when everything is issued and collected.
 *
 * The first error becomes the request's error. The collector never throws: an
 * internal fault fails the request instead.
 */
import { NETFS_EIO, toNegErrno } from './errors.js';
import { issueSubrequest } from './read-issue.js';
import { canRetry, retryReadSubrequest } from './read-retry.js';
import { Subrequest, type IoRequest } from './request.js';
import { traceRreq, traceSreq } from './trace.js';

/** Run the collector for a request on a microtask (once, however many completions). */
export function scheduleCollect(rreq: IoRequest): void {
  if (rreq.collectScheduled || rreq.completed) return;
  rreq.collectScheduled = true;
  queueMicrotask(() => {
    rreq.collectScheduled = false;
    collectReadResults(rreq);
  });
}

/** Record a subrequest's final failure; the first one becomes the request error. */
function subreqFailed(rreq: IoRequest, s: Subrequest, error: number): void {
  s.error = error;
  s.state = 'failed';
  traceSreq(s, 'failed');
  if (rreq.error === 0) {
    rreq.error = error;
    traceRreq(rreq, 'failed');
  }
}

/** Zero the rest of a subrequest's slice after `s.transferred` bytes and record EOF. */
function subreqAtEof(rreq: IoRequest, s: Subrequest): void {
  const p = s.destStart.clone();
  p.advance(s.transferred);
  p.zero(s.len - s.transferred);
  const at = s.start + s.transferred;
  if (at < rreq.eofAt) {
    rreq.eofAt = at;
    traceRreq(rreq, 'eof');
  }
  traceSreq(s, 'eof');
  s.state = 'done';
}

/** Continue a short read with a follow-up over the rest of the slice. */
function subreqFollowUp(rreq: IoRequest, s: Subrequest): void {
  traceSreq(s, 'short');
  const dest = s.destStart.clone();
  dest.advance(s.transferred);
  const rest = new Subrequest(rreq, rreq.subreqCount++, s.start + s.transferred, s.len - s.transferred, 'server', dest);
  s.len = s.transferred;
  s.state = 'done';
  rreq.insertAfter(s, rest);
  traceSreq(rest, 'follow-up');
  issueSubrequest(rreq, rest);
}

/** Step 1: decide what a terminated subrequest's result means. */
function examineSubrequest(rreq: IoRequest, s: Subrequest): void {
  const t = s.transferred;
  if (!Number.isSafeInteger(t) || t < 0) {
    s.transferred = 0;
    return subreqFailed(rreq, s, NETFS_EIO);
  }
  if (t > s.len) {
    traceSreq(s, 'too-much');
    s.transferred = 0;
    return subreqFailed(rreq, s, NETFS_EIO);
  }
  const err = toNegErrno(s.error);
  if (err !== 0) {
    if (s.retryable && canRetry(rreq, s)) return retryReadSubrequest(rreq, s);
    return subreqFailed(rreq, s, err);
  }
  if (t === s.len) {
    s.state = 'done';
    return traceSreq(s, 'done');
  }
  if (s.eof || s.start + t >= rreq.fileSize) return subreqAtEof(rreq, s);
  if (t === 0) {
    traceSreq(s, 'no-progress');
    if (canRetry(rreq, s)) return retryReadSubrequest(rreq, s);
    return subreqFailed(rreq, s, NETFS_EIO);
  }
  subreqFollowUp(rreq, s);
}

/** Step 3: finish folios wholly below collectedTo. */
function unlockFolios(rreq: IoRequest): void {
  const cache = rreq.cache;
  if (!cache) return;
  while (rreq.foliosUnlocked < rreq.folios.length) {
    const f = rreq.folios[rreq.foliosUnlocked]!;
    if (f.start + f.buf.length > rreq.collectedTo) break;
    if (f.start < rreq.badTo) cache.markFailed(f, rreq.badError || NETFS_EIO);
    else cache.markUptodate(f);
    rreq.foliosUnlocked++;
  }
}

/** Step 2: walk final subrequests from the front in file order. */
function collectInOrder(rreq: IoRequest): void {
  let s = rreq.front;
  while (s && (s.state === 'done' || s.state === 'failed')) {
    if (s.end < rreq.collectedTo || s.start !== rreq.collectedTo) {
      throw new Error(`netfs: ${s.debugId} [${s.start}, ${s.end}) out of order at ${rreq.collectedTo}`);
    }
    if (s.state === 'failed') {
      rreq.badTo = s.end;
      rreq.badError = s.error;
    }
    rreq.collectedTo = s.end;
    traceSreq(s, 'collected');
    unlockFolios(rreq);
    s = s.next;
    rreq.front = s;
    if (s) rreq.chain.releaseBefore(s.destStart);
    else rreq.back = null;
  }
}

/** Fail everything still pending in a request (engine fault) and finish it. */
export function failRequest(rreq: IoRequest): void {
  if (rreq.error === 0) rreq.error = NETFS_EIO;
  rreq.badTo = Infinity;
  rreq.badError = rreq.error;
  if (rreq.cache) {
    for (let i = rreq.foliosUnlocked; i < rreq.folios.length; i++) rreq.cache.markFailed(rreq.folios[i]!, rreq.error);
  }
  rreq.foliosUnlocked = rreq.folios.length;
  traceRreq(rreq, 'abandoned');
  rreq.finish();
}

/** The collector: steps 1–4 above. Never throws. */
export function collectReadResults(rreq: IoRequest): void {
  if (rreq.completed) return;
  try {
    while (rreq.terminated.length > 0) {
      const s = rreq.terminated.shift()!;
      if (s.state === 'terminated') examineSubrequest(rreq, s);
    }
    collectInOrder(rreq);
    if (rreq.allIssued && !rreq.front) {
      if (rreq.collectedTo !== rreq.end) throw new Error(`netfs: R=${rreq.debugId} collected to ${rreq.collectedTo}`);
      unlockFolios(rreq);
      traceRreq(rreq, 'done');
      rreq.finish();
    }
  } catch {
    failRequest(rreq);
  }
}

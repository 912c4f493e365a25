/**
 * Write collection, after netfslib's write_collect.c.
 *
 * Subrequests may complete in any order. complete() only records the result
 * and schedules the collector on a microtask. The collector then:
 *
 *   1. examines each terminated subrequest: a bad or too large count is an
 *      error; a retryable error or no progress is reissued (write-retry.ts);
 *      a short write continues with a follow-up for the rest;
 *   2. walks the list from the front in file order while subrequests are
 *      final, advancing collectedTo (forward only), reporting written ranges
 *      and releasing the chain behind it; a failed one marks the folios it
 *      overlaps as failed;
 *   3. hands every folio wholly below collectedTo back to the cache: clean
 *      (unless written again meanwhile), or still dirty with the error;
 *   4. completes the request when everything is issued and collected.
 *
 * The first permanent error becomes the request's error. The collector never
 * throws: an internal fault fails the request, leaving its folios dirty.
 */
import { NETFS_EIO, toNegErrno } from './errors.js';
import { WriteSubrequest, type WriteRequest } from './request.js';
import { issueWriteSubrequest } from './write-issue.js';
import { canRetryWrite, retryWriteSubrequest } from './write-retry.js';
import { traceRreq, traceSreq } from './trace.js';

/** Run the collector for a request on a microtask (once, however many completions). */
export function scheduleWriteCollect(wreq: WriteRequest): void {
  if (wreq.collectScheduled || wreq.completed) return;
  wreq.collectScheduled = true;
  queueMicrotask(() => {
    wreq.collectScheduled = false;
    collectWriteResults(wreq);
  });
}

/** Record a subrequest's final failure; the first one becomes the request error. */
function subreqFailed(wreq: WriteRequest, s: WriteSubrequest, error: number): void {
  s.error = error;
  s.state = 'failed';
  traceSreq(s, 'failed');
  if (wreq.error === 0) {
    wreq.error = error;
    traceRreq(wreq, 'failed');
  }
}

/** Continue a short write with a follow-up over the rest of the slice. */
function subreqFollowUp(wreq: WriteRequest, s: WriteSubrequest): void {
  traceSreq(s, 'short');
  const src = s.sourceStart.clone();
  src.advance(s.transferred);
  const rest = new WriteSubrequest(wreq, wreq.subreqCount++, s.start + s.transferred, s.len - s.transferred, src);
  s.len = s.transferred;
  s.state = 'done';
  wreq.insertAfter(s, rest);
  traceSreq(rest, 'follow-up');
  issueWriteSubrequest(wreq, rest);
}

/** Step 1: decide what a terminated subrequest's result means. */
function examineSubrequest(wreq: WriteRequest, s: WriteSubrequest): void {
  const t = s.transferred;
  if (!Number.isSafeInteger(t) || t < 0 || t > s.len) {
    if (t > s.len) traceSreq(s, 'too-much');
    s.transferred = 0;
    return subreqFailed(wreq, s, NETFS_EIO);
  }
  const err = toNegErrno(s.error);
  if (err !== 0) {
    if (s.retryable && canRetryWrite(s)) return retryWriteSubrequest(wreq, s);
    return subreqFailed(wreq, s, err);
  }
  if (t === s.len) {
    s.state = 'done';
    return traceSreq(s, 'done');
  }
  if (t === 0) {
    traceSreq(s, 'no-progress');
    if (canRetryWrite(s)) return retryWriteSubrequest(wreq, s);
    return subreqFailed(wreq, s, NETFS_EIO);
  }
  subreqFollowUp(wreq, s);
}

/** Mark the not yet finished folios overlapping [start, end) as failed. */
function foliosFailed(wreq: WriteRequest, start: number, end: number, error: number): void {
  for (let i = wreq.foliosDone; i < wreq.folios.length; i++) {
    const w = wreq.folios[i]!;
    if (w.from >= end) break;
    if (w.to > start && w.error === 0) w.error = error;
  }
}

/** Step 3: hand folios wholly below collectedTo back to the cache. */
function finishFolios(wreq: WriteRequest, all: boolean): void {
  while (wreq.foliosDone < wreq.folios.length) {
    const w = wreq.folios[wreq.foliosDone]!;
    if (!all && w.to > wreq.collectedTo) break;
    wreq.cache?.endWriteback(w);
    wreq.foliosDone++;
  }
}

/** Step 2: walk final subrequests from the front in file order. */
function collectInOrder(wreq: WriteRequest): void {
  let s = wreq.front;
  while (s && (s.state === 'done' || s.state === 'failed')) {
    if (s.start < wreq.collectedTo) {
      throw new Error(`netfs: ${s.debugId} [${s.start}, ${s.end}) out of order at ${wreq.collectedTo}`);
    }
    if (s.state === 'failed') foliosFailed(wreq, s.start, s.end, s.error);
    else wreq.onWritten?.(s.start, s.end);
    wreq.collectedTo = s.end;
    traceSreq(s, 'collected');
    finishFolios(wreq, false);
    s = s.next;
    wreq.front = s;
    if (s) wreq.chain.releaseBefore(s.sourceStart);
    else wreq.back = null;
  }
}

/** Fail everything still pending in a request (engine fault) and finish it; folios stay dirty. */
export function failWriteRequest(wreq: WriteRequest): void {
  if (wreq.error === 0) wreq.error = NETFS_EIO;
  foliosFailed(wreq, -Infinity, Infinity, wreq.error);
  finishFolios(wreq, true);
  traceRreq(wreq, 'abandoned');
  wreq.finish();
}

/** The collector: steps 1–4 above. Never throws. */
export function collectWriteResults(wreq: WriteRequest): void {
  if (wreq.completed) return;
  try {
    while (wreq.terminated.length > 0) {
      const s = wreq.terminated.shift()!;
      if (s.state === 'terminated') examineSubrequest(wreq, s);
    }
    collectInOrder(wreq);
    if (wreq.allIssued && !wreq.front) {
      finishFolios(wreq, true);
      traceRreq(wreq, 'done');
      wreq.finish();
    }
  } catch {
    failWriteRequest(wreq);
  }
}

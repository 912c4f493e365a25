/**
 * Collection, after netfslib's read_collect.c / write_collect.c, for both
 * directions and every stream.
 *
 * Subrequests may complete in any order. complete() only records the result
 * and schedules the collector on a microtask (so a filesystem that completes
 * inside its issue call never re-enters the issuer). The collector then:
 *
 *   1. examines each terminated subrequest: a bad or too large count is an
 *      error; a source that can be replaced (cache) hands the rest to the
 *      other (server); a retryable error or no progress is reissued
 *      (retry.ts); a read reaching EOF zero-fills the rest; any other short
 *      transfer continues with a follow-up for the rest;
 *   2. per stream, walks the list from the front in file order while
 *      subrequests are final, advancing the stream's collect point and
 *      passing the chain slots below it to the direction (reads: folios up to
 *      date or failed; writes: failed folios get the error);
 *   3. moves the request's collect cursor to the minimum of the streams'
 *      points, retiring the slots below it (writes: folios back to the cache;
 *      reads: pins dropped) and releasing the chain behind it;
 *   4. completes the request when everything is issued and collected.
 *
 * The first error of an essential stream (0) becomes the request's error; an
 * error of another stream only stops that stream. The collector never throws:
 * an internal fault fails the request instead.
 */
import { BvecqPos } from './bvecq.js';
import { NETFS_EIO, toNegErrno } from './errors.js';
import { issueSubrequest } from './issue.js';
import { canRetry, retrySubrequest } from './retry.js';
import { NetfsSubrequest, type NetfsRequest, type NetfsStream, type SubreqSource } from './request.js';
import { traceRreq, traceSreq } from './trace.js';

/** Run the collector for a request on a microtask (once, however many completions). */
export function scheduleCollect(req: NetfsRequest): void {
  if (req.collectScheduled || req.completed) return;
  req.collectScheduled = true;
  queueMicrotask(() => {
    req.collectScheduled = false;
    collectResults(req);
  });
}

/** Record a subrequest's final failure: the first one is the stream's (and, if essential, the request's) error. */
function subreqFailed(s: NetfsSubrequest, error: number): void {
  const st = s.stream;
  s.error = error;
  s.state = 'failed';
  traceSreq(s, 'failed');
  if (st.error === 0) st.error = error;
  if (st.essential && st.req.error === 0) {
    st.req.error = error;
    traceRreq(st.req, 'failed');
  }
}

/** Continue with a follow-up over the rest of the slice after `s.transferred` bytes. */
function subreqFollowUp(s: NetfsSubrequest, source: SubreqSource): void {
  traceSreq(s, 'short');
  const st = s.stream;
  const pos = s.pos.clone();
  pos.advance(s.transferred);
  const rest = new NetfsSubrequest(st, st.req.subreqCount++, s.start + s.transferred, s.len - s.transferred, source, pos);
  s.len = s.transferred;
  s.state = 'done';
  st.insertAfter(s, rest);
  traceSreq(rest, 'follow-up');
  issueSubrequest(rest);
}

/** Step 1: decide what a terminated subrequest's result means. */
function examineSubrequest(s: NetfsSubrequest): void {
  const dir = s.stream.req.dir;
  const t = s.transferred;
  if (!Number.isSafeInteger(t) || t < 0 || t > s.len) {
    if (t > s.len) traceSreq(s, 'too-much');
    s.transferred = 0;
    return subreqFailed(s, NETFS_EIO);
  }
  const err = toNegErrno(s.error);
  if (err !== 0 || t < s.len) {
    const other = dir.fallback(s);
    if (other) {
      traceSreq(s, 'fallback');
      if (err !== 0 || t === 0) {
        s.source = other;
        return issueSubrequest(s);
      }
      return subreqFollowUp(s, other);
    }
  }
  if (err !== 0) {
    if (s.retryable && canRetry(s)) return retrySubrequest(s);
    return subreqFailed(s, err);
  }
  if (t === s.len) {
    s.state = 'done';
    return traceSreq(s, 'done');
  }
  if (dir.reachedEof(s)) {
    const p = s.pos.clone();
    p.advance(t);
    p.zero(s.len - t);
    traceSreq(s, 'eof');
    s.state = 'done';
    return;
  }
  if (t === 0) {
    traceSreq(s, 'no-progress');
    if (canRetry(s)) return retrySubrequest(s);
    return subreqFailed(s, NETFS_EIO);
  }
  subreqFollowUp(s, s.source);
}

/** Pass the stream's slots wholly below `to` to the direction, with the error of any failed subrequest over them. */
function passSlots(st: NetfsStream, to: number): void {
  const dir = st.req.dir;
  const c = st.slots;
  while (c.step(to)) dir.slotCollected(st, c.owner, c.start < st.badTo ? st.badError || NETFS_EIO : 0);
}

/** Step 2: walk one stream's final subrequests from the front in file order. */
function collectStream(st: NetfsStream): void {
  const dir = st.req.dir;
  let s = st.front;
  while (s && (s.state === 'done' || s.state === 'failed')) {
    if (s.start < st.collectedTo) {
      throw new Error(`netfs: ${s.debugId} [${s.start}, ${s.end}) out of order at ${st.collectedTo}`);
    }
    if (s.state === 'failed') {
      st.badTo = s.end;
      st.badError = s.error;
    }
    st.collectedTo = s.end;
    st.front = s.next;
    if (!st.front) st.back = null;
    traceSreq(s, 'collected');
    dir.subreqCollected(s);
    passSlots(st, s.end);
    s = st.front;
  }
  passSlots(st, st.point);
}

/** Retire the slots wholly below `to` and release the chain behind them. */
function retireBelow(req: NetfsRequest, to: number): void {
  const c = req.retired;
  while (c.step(to)) req.dir.slotRetired(req, c.owner);
  if (c.seg) req.chain.releaseBefore(new BvecqPos(req.chain, c.seg, 0, 0));
}

/** Step 3: move the request's collect cursor to the streams' minimum (forward only) and retire behind it. */
function advanceRequest(req: NetfsRequest, to: number): void {
  if (to > req.collectedTo) req.collectedTo = to;
  retireBelow(req, req.collectedTo);
}

/** Fail everything still pending in a request (engine fault) and finish it. */
export function failRequest(req: NetfsRequest): void {
  if (req.error === 0) req.error = NETFS_EIO;
  try {
    for (const st of req.streams) {
      if (st.error === 0) st.error = req.error;
      st.badTo = Infinity;
      st.badError = req.error;
      passSlots(st, Infinity);
    }
    retireBelow(req, Infinity);
  } catch {
    // Nothing more can be done for its buffers; waiters still must wake.
  }
  traceRreq(req, 'abandoned');
  req.finish();
}

/** Has every stream collected all its subrequests? */
function allCollected(req: NetfsRequest): boolean {
  for (const st of req.streams) if (st.front) return false;
  return true;
}

/** The collector: steps 1–4 above. Never throws. */
export function collectResults(req: NetfsRequest): void {
  if (req.completed) return;
  try {
    while (req.terminated.length > 0) {
      const s = req.terminated.shift()!;
      if (s.state === 'terminated') examineSubrequest(s);
    }
    // Stream 0 first: its collection feeds collector-fed streams.
    let min = Infinity;
    for (const st of req.streams) {
      collectStream(st);
      min = Math.min(min, st.point);
    }
    advanceRequest(req, min);
    if (req.allIssued && allCollected(req)) {
      if (req.collectedTo !== req.end) throw new Error(`netfs: ${req.dir.kind}=${req.debugId} collected to ${req.collectedTo}`);
      traceRreq(req, 'done');
      req.finish();
    }
  } catch {
    failRequest(req);
  }
}

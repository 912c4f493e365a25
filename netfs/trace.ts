/**
 * Tracing for the netfs engine, after netfslib's trace_netfs_sreq() and
 * trace_netfs_rreq(). Every subrequest and request transition is published on
 * the 'smbfuse:netfs' diagnostics channel with a reason; when nobody
 * subscribes, a trace costs one property check and builds nothing.
 */
import diagnostics_channel from 'node:diagnostics_channel';

/** The channel name; subscribe with diagnostics_channel.subscribe(). */
export const NETFS_TRACE_CHANNEL = 'smbfuse:netfs';

export const netfsChannel = diagnostics_channel.channel(NETFS_TRACE_CHANNEL);

/** Why a subrequest changed state. */
export type NetfsSreqTrace =
  | 'submit' // handed to the filesystem's (or the cache's) issueRead / issueWrite
  | 'zero' // a range filled with zeros without the server (past the file size)
  | 'terminated' // the filesystem called complete()
  | 'dup-complete' // complete() called again for the same issue: ignored
  | 'too-much' // transferred > len: "too much data read", an error
  | 'short' // transferred < len without eof: a follow-up will read (write) the rest
  | 'follow-up' // the follow-up subrequest for the rest of a short read
  | 'no-progress' // zero bytes without eof or error: retried within the bound
  | 'eof' // end of file: rest of the subrequest zero-filled
  | 'retry' // retryable error: reissued
  | 'fallback' // the cache could not supply it: the rest comes from the server
  | 'failed' // error, not retried (or retries exhausted)
  | 'done' // data in place
  | 'collected'; // collector passed it in file order

/** Why a request changed state. */
export type NetfsRreqTrace = 'new' | 'issued' | 'failed' | 'eof' | 'done' | 'abandoned';

/** Payload of a subrequest trace. */
export interface NetfsSreqTraceEvent {
  kind: 'sreq';
  reason: NetfsSreqTrace;
  debugId: string;
  rreq: number;
  origin: string;
  start: number;
  len: number;
  transferred: number;
  error: number;
  retries: number;
  collectedTo: number;
}

/** Payload of a request trace. */
export interface NetfsRreqTraceEvent {
  kind: 'rreq';
  reason: NetfsRreqTrace;
  rreq: number;
  origin: string;
  start: number;
  len: number;
  collectedTo: number;
  error: number;
}

export type NetfsTraceEvent = NetfsSreqTraceEvent | NetfsRreqTraceEvent;

/** The fields traces read from a request (kept structural to avoid import cycles). */
interface TracedRequest {
  readonly debugId: number;
  readonly origin: string;
  readonly start: number;
  readonly len: number;
  readonly collectedTo: number;
  readonly error: number;
}

/** The fields traces read from a subrequest. */
interface TracedSubrequest {
  readonly debugId: string;
  readonly rreq: TracedRequest;
  readonly start: number;
  readonly len: number;
  readonly transferred: number;
  readonly error: number;
  readonly retries: number;
}

/** Trace a subrequest transition (free when nobody subscribes). */
export function traceSreq(s: TracedSubrequest, reason: NetfsSreqTrace): void {
  if (!netfsChannel.hasSubscribers) return;
  const ev: NetfsSreqTraceEvent = {
    kind: 'sreq',
    reason,
    debugId: s.debugId,
    rreq: s.rreq.debugId,
    origin: s.rreq.origin,
    start: s.start,
    len: s.len,
    transferred: s.transferred,
    error: s.error,
    retries: s.retries,
    collectedTo: s.rreq.collectedTo,
  };
  netfsChannel.publish(ev);
}

/** Trace a request transition (free when nobody subscribes). */
export function traceRreq(r: TracedRequest, reason: NetfsRreqTrace): void {
  if (!netfsChannel.hasSubscribers) return;
  const ev: NetfsRreqTraceEvent = {
    kind: 'rreq',
    reason,
    rreq: r.debugId,
    origin: r.origin,
    start: r.start,
    len: r.len,
    collectedTo: r.collectedTo,
    error: r.error,
  };
  netfsChannel.publish(ev);
}

/**
 * Read retry, after netfslib's read_retry.c: a subrequest that failed with a
 * retryable error (the transport dropped and will reconnect) or made no
 * progress is reissued over the same slice, at most NETFS_MAX_RETRIES times.
 * The filesystem's issueRead waits for the reconnect; netfs only bounds the
 * attempts.
 */
import { issueSubrequest } from './read-issue.js';
import { NETFS_MAX_RETRIES, type IoRequest, type Subrequest } from './request.js';
import { traceSreq } from './trace.js';

/** May this subrequest be reissued? Not once the request has already failed. */
export function canRetry(rreq: IoRequest, s: Subrequest): boolean {
  return s.retries < NETFS_MAX_RETRIES && rreq.error === 0;
}

/** Reissue a subrequest over its whole slice (any partial data is read again). */
export function retryReadSubrequest(rreq: IoRequest, s: Subrequest): void {
  s.retries++;
  traceSreq(s, 'retry');
  issueSubrequest(rreq, s);
}

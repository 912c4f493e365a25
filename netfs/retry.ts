/**
 * Retry, after netfslib's read_retry.c / write_retry.c: a subrequest that
 * failed with a retryable error (the transport dropped and will reconnect)
 * or made no progress is reissued over its whole slice, at most
 * NETFS_MAX_RETRIES times. The filesystem's issue call waits for the
 * reconnect; netfs only bounds the attempts. Rewriting bytes that may already
 * have landed is harmless (writes are idempotent and passes of one file are
 * serialised); reading them again just overwrites the slice.
 */
import { issueSubrequest } from './issue.js';
import { NETFS_MAX_RETRIES, type NetfsSubrequest } from './request.js';
import { traceSreq } from './trace.js';

/** May this subrequest be reissued? Reads stop once their stream has failed (writes go on). */
export function canRetry(s: NetfsSubrequest): boolean {
  if (s.retries >= NETFS_MAX_RETRIES) return false;
  return s.stream.req.dir.retryAfterError || s.stream.error === 0;
}

/** Reissue a subrequest over its whole slice. */
export function retrySubrequest(s: NetfsSubrequest): void {
  s.retries++;
  traceSreq(s, 'retry');
  issueSubrequest(s);
}

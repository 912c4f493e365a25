/**
 * Write retry, after netfslib's write_retry.c: a subrequest that failed with
 * a retryable error (the transport dropped and will reconnect) or made no
 * progress is reissued over its whole slice, at most NETFS_MAX_RETRIES times.
 * Rewriting bytes that may already have landed is harmless: a write is
 * idempotent, and passes of one file are serialised so nothing newer can be
 * overtaken.
 */
import { NETFS_MAX_RETRIES, type WriteRequest, type WriteSubrequest } from './request.js';
import { issueWriteSubrequest } from './write-issue.js';
import { traceSreq } from './trace.js';

/** May this subrequest be reissued? */
export function canRetryWrite(s: WriteSubrequest): boolean {
  return s.retries < NETFS_MAX_RETRIES;
}

/** Reissue a subrequest over its whole slice. */
export function retryWriteSubrequest(wreq: WriteRequest, s: WriteSubrequest): void {
  s.retries++;
  traceSreq(s, 'retry');
  issueWriteSubrequest(wreq, s);
}

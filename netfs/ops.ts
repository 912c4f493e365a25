/**
 * The contract between netfs and a network filesystem, after netfslib's
 * netfs_request_ops. netfs never sees a PDU: it cuts I/O into subrequests over
 * chain slices and hands each to the filesystem, which completes it through
 * the one completion function with the result in fields.
 */
import type { BvecqPos } from './bvecq.js';

/**
 * Set by a caller that stops waiting (the shape of AbortSignal's flag, without
 * its event machinery, which costs tens of microseconds per call): from then
 * on a buffer it lent is not written any more.
 */
export interface NetfsCallerGone {
  readonly aborted: boolean;
}

/**
 * Cached bytes lent without a copy (NetfsInode.lendNow): views of the page
 * cache's own buffers, in file order, `bytes` long in all. They stay valid
 * and are not reused for other bytes until release(), which may be called
 * more than once.
 */
export interface NetfsLent {
  readonly bytes: number;
  readonly pieces: readonly Buffer[];
  release(): void;
}

/** A slice of a read request, handed to NetfsReadOps.issueRead. */
export interface NetfsReadSubrequestView {
  /** Debug id "R=<rreq>[<index>]" for traces and logs. */
  readonly debugId: string;
  /** File position of the first byte wanted. */
  readonly start: number;
  /** Bytes wanted (never more than the ops' maxReadSize() at issue time). */
  readonly len: number;
  /**
   * Where the data goes: a position at the first byte of this subrequest's
   * slice of the request chain. The filesystem (or its transport) decants
   * received bytes here; it must not write more than `len` bytes.
   */
  readonly dest: BvecqPos;
  /**
   * Report completion, exactly once. `transferred` bytes were written at
   * `dest`. `error` is a negative errno (0 on success). `eof` says the server
   * reported end of file (or a short read at EOF), so netfs zero-fills the rest
   * instead of issuing a follow-up for it. `retryable` marks an error that may
   * succeed after the transport reconnects.
   */
  complete(result: { transferred: number; error?: number; eof?: boolean; retryable?: boolean }): void;
}

/** What a filesystem gives netfs for reading one file. */
export interface NetfsReadOps {
  /** Largest single read the filesystem wants now (rsize, credits in hand). */
  maxReadSize(): number;
  /** Start reading one subrequest; completion comes through subreq.complete(). */
  issueRead(subreq: NetfsReadSubrequestView): void;
}

/** A slice of a write request, handed to NetfsWriteOps.issueWrite. */
export interface NetfsWriteSubrequestView {
  /** Debug id "W=<wreq>[<index>]" for traces and logs. */
  readonly debugId: string;
  /** File position of the first byte to write. */
  readonly start: number;
  /** Bytes to write (never more than maxWriteSize() at issue time). */
  readonly len: number;
  /**
   * The data: a position at the first byte of this subrequest's slice of the
   * request chain (folio views or the caller's buffer). The filesystem takes
   * views with `source.clone().slices(len)` and must not modify them.
   */
  readonly source: BvecqPos;
  /**
   * Report completion, exactly once: `transferred` bytes were written from
   * the start. A short write without error is continued by netfs with a
   * follow-up. `error` is a negative errno; `retryable` marks an error that
   * may succeed after the transport reconnects.
   */
  complete(result: { transferred: number; error?: number; retryable?: boolean }): void;
}

/** What a filesystem gives netfs for writing one file. */
export interface NetfsWriteOps {
  /** Largest single write the filesystem wants now (wsize, credits in hand). */
  maxWriteSize(): number;
  /** Start writing one subrequest; completion comes through subreq.complete(). */
  issueWrite(subreq: NetfsWriteSubrequestView): void;
}

/** Where a read extent comes from, as NetfsCacheOps.prepareRead chooses. */
export type NetfsReadSource = 'server' | 'cache';

/**
 * A second source and destination for one file's data (a local disk cache),
 * given to NetfsInode as `fscache`. netfs calls it; it never calls netfs.
 */
export interface NetfsCacheOps {
  /**
   * Choose the source of the next bytes of a read: [start, start + len) lies
   * below the server's end of data. Return 'cache' with the length of the
   * prefix the cache holds, or 'server' with the length to download before
   * asking again (1..len; anything else, or a throw, means the server for
   * all of it). Called by the issuer, once per extent, before any I/O.
   */
  prepareRead(start: number, len: number): { source: NetfsReadSource; len: number };
  /**
   * Reads from the cache, same contract as NetfsReadOps (`eof` is ignored). A
   * cache read that fails or comes up short is continued from the server.
   */
  readonly read: NetfsReadOps;
  /**
   * Writes into the cache, same contract as NetfsWriteOps, as stream 1:
   * buffered reads copy what came from the server once it is collected (the
   * reader does not wait for it); writeback writes what goes to the server.
   * Omitted: the cache is only read. A failure stops stream 1 of that
   * request and fails nothing else.
   */
  readonly write?: NetfsWriteOps;
  /**
   * The cached bytes of [from, to) are no longer the file's (to may be
   * Infinity): the server changed it, it was truncated or deleted, or an
   * unbuffered write went around the cache. netfs issues no new copy of data
   * read before this call; writes already issued may still complete after
   * it, and the cache must not let them revive the range.
   */
  invalidate?(from: number, to: number): void;
  /**
   * null when the cache keeps up with the copies of what is read and knows
   * what it holds of this file; otherwise a promise that settles once it
   * has caught up (or has read its record of the file). While it is behind, netfs
   * issues no readahead and a read that must go to the server first waits
   * for it (at most CACHE_CATCH_UP_MS): reading faster than the cache is
   * written would only have the copies dropped.
   */
  behind?(): Promise<void> | null;
}

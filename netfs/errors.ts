/**
 * netfs errors. Subrequests carry a negative errno, as in netfslib; what
 * reaches a caller of NetfsInode is a NetfsError holding that errno, which the
 * filesystem maps to itself for FUSE.
 */

/** Negative errno values netfs produces on its own. */
export const NETFS_EIO = -5;
export const NETFS_EINVAL = -22;
/** The caller stopped waiting (its signal aborted): its buffer is no longer ours to write. */
export const NETFS_ECANCELED = -125;

/** An I/O error on a file range, surfaced once to the caller of a read. */
export class NetfsError extends Error {
  override readonly name = 'NetfsError';
  /** Stable code, after undici's. */
  readonly code = 'NETFS_IO_ERROR';

  constructor(
    /** Negative errno (e.g. -5 for EIO). */
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/** Normalise an error number from a filesystem to a negative errno (EIO if unusable). */
export function toNegErrno(e: number | undefined): number {
  if (e === undefined || e === 0) return 0;
  if (!Number.isInteger(e)) return NETFS_EIO;
  return e < 0 ? e : -e;
}

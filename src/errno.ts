/**
 * Errors of any layer → the negative errno that fuse-native callbacks expect
 * (Fuse.ENOENT === -2).
 *
 * - SmbStatusError (`code === 'SMB_ERR_STATUS'`, numeric `status`):
 *   through transport's one NTSTATUS → errno table;
 * - SmbTimeoutError (`SMB_ERR_TIMEOUT`): ETIMEDOUT;
 * - SmbTransportError (`SMB_ERR_TRANSPORT`): EIO (a hard mount's calls
 *   wait out a reconnect, so only a lost handle or a soft mount's bound
 *   reaches here);
 * - a number is a netfs errno, already negative: returned as is; so is the
 *   `errno` of a NetfsError (`code === 'NETFS_IO_ERROR'`);
 * - a Node system error with a known `errno` (negative in libuv): itself;
 * - anything else: EIO.
 */
import { ntstatusToErrno } from '../transport/errors.js';

export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EBADF = 9;
export const EACCES = 13;
export const EEXIST = 17;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const EROFS = 30;
export const ERANGE = 34;
export const ENAMETOOLONG = 36;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const EILSEQ = 84;
export const ENODATA = 61;
export const ENOTSUP = 95;
export const ETIMEDOUT = 110;
export const EINTR = 4;
export const ECANCELED = 125;

/** Map any thrown value to a negative errno (never 0). */
export function toFuseErrno(err: unknown): number {
  if (typeof err === 'number') return err < 0 ? err : err > 0 ? -err : -EIO;
  if (typeof err !== 'object' || err === null) return -EIO;
  const e = err as { code?: unknown; status?: unknown; errno?: unknown };
  switch (e.code) {
    case 'SMB_ERR_STATUS':
      if (typeof e.status === 'number') {
        const n = ntstatusToErrno(e.status);
        return n > 0 ? -n : -EIO;
      }
      return -EIO;
    case 'SMB_ERR_TIMEOUT':
      return -ETIMEDOUT;
    case 'SMB_ERR_TRANSPORT':
      return -EIO;
    case 'NETFS_IO_ERROR':
      return typeof e.errno === 'number' && e.errno < 0 ? e.errno : -EIO;
  }
  if (typeof e.errno === 'number' && e.errno < 0 && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return e.errno;
  }
  return -EIO;
}

/**
 * Error taxonomy of the SMB client and the one NTSTATUS → errno table.
 *
 * Every failure the transport reports is an SmbError with a stable `code`:
 *   SmbTransportError  SMB_ERR_TRANSPORT  socket failed or closed (has `cause`)
 *   SmbProtocolError   SMB_ERR_PROTOCOL   malformed or unexpected reply
 *   SmbStatusError     SMB_ERR_STATUS     server answered with an error NTSTATUS
 *   SmbTimeoutError    SMB_ERR_TIMEOUT    no reply in time
 *   SmbCancelledError  SMB_ERR_CANCELLED  the caller cancelled the call
 *   SmbAuthError       SMB_ERR_AUTH       client-side authentication refusal
 *
 * ntstatusToErrno() — comparison with Linux fs/smb/client/smb2maperror.c
 * (map_smb2_to_linux_error), row by row where we differ or chose:
 *   - same as the kernel: OBJECT_NAME_NOT_FOUND, OBJECT_PATH_NOT_FOUND,
 *     NO_SUCH_FILE, DELETE_PENDING, OBJECT_NAME_INVALID, BAD_NETWORK_NAME,
 *     NOT_FOUND → ENOENT; OBJECT_PATH_INVALID → ENOTDIR; SHARING_VIOLATION →
 *     EBUSY (smbprotocol uses EPERM; EBUSY says "in use", which is what it
 *     means); FILE_LOCK_CONFLICT, LOCK_NOT_GRANTED, CANNOT_DELETE,
 *     ACCESS_DENIED, LOGON_FAILURE, ... → EACCES; NAME_TOO_LONG →
 *     ENAMETOOLONG; NOT_SAME_DEVICE → EXDEV; MEDIA_WRITE_PROTECTED → EROFS;
 *     IO_TIMEOUT → EAGAIN (current kernels; older ones said ETIMEDOUT).
 *   - INSUFFICIENT_RESOURCES → EREMOTEIO. Current kernels return EAGAIN
 *     (older ones EREMOTEIO) because the kernel client itself retries on
 *     EAGAIN. We do not retry on an errno, and EAGAIN from read()/write() on
 *     a blocking file descriptor misleads programs into spinning, so we keep
 *     the older "remote side failed" answer.
 *   - NETWORK_NAME_DELETED (kernel EREMCHG), USER_SESSION_DELETED and
 *     NETWORK_SESSION_EXPIRED (kernel EIO) → ECONNRESET: the tree or session
 *     is gone and the connection layer re-establishes it; ECONNRESET tells
 *     callers that a retry after reconnect can succeed.
 *   - EA_TOO_LARGE → E2BIG (kernel EIO): setxattr(2) documents E2BIG for a
 *     value that is too large.
 *   - NO_MORE_FILES and END_OF_FILE are not in the table (kernel: ENODATA):
 *     QUERY_DIRECTORY and READ callers treat them as "end", never as errors,
 *     so reaching the table means misuse and EIO is the honest answer.
 *   - anything not listed → EIO, as in the kernel's default.
 */
import { constants } from 'node:os';
import { smb2CommandName } from './pdu/commands.js';
import { NtStatus, statusName } from './ntstatus.js';

/** Base class: every error the SMB client throws or rejects with. */
export class SmbError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The connection failed: socket error, close, reset. `cause` holds the original. */
export class SmbTransportError extends SmbError {
  /** Sending again cannot help: the handle was lost, or a soft mount's wait for the server ran out. */
  final = false;
  constructor(message: string, cause?: unknown) {
    super(message, 'SMB_ERR_TRANSPORT', cause === undefined ? undefined : { cause });
  }
}

/** The peer sent bytes that do not follow MS-SMB2 (bad size, offset, id...). */
export class SmbProtocolError extends SmbError {
  constructor(message: string) {
    super(message, 'SMB_ERR_PROTOCOL');
  }
}

/** The server answered a request with an error NTSTATUS. */
export class SmbStatusError extends SmbError {
  readonly status: number;
  readonly statusName: string;
  readonly command: number;
  readonly messageId: bigint;
  /**
   * `name` may be omitted (undefined or ''), and is then looked up with
   * statusName(). Message: "STATUS_LOGON_FAILURE (0xc000006d) on SESSION_SETUP".
   */
  constructor(status: number, name: string | undefined, command: number, messageId: bigint, detail?: string) {
    const s = status >>> 0;
    const hex = `0x${s.toString(16).padStart(8, '0')}`;
    const n = name || statusName(s);
    const head = n === hex ? hex : `${n} (${hex})`;
    super(`${head} on ${smb2CommandName(command)}${detail ? `: ${detail}` : ''}`, 'SMB_ERR_STATUS');
    this.status = s;
    this.statusName = n;
    this.command = command;
    this.messageId = messageId;
  }
  /** The positive errno for this status (ntstatusToErrno). */
  get errno(): number {
    return ntstatusToErrno(this.status);
  }
}

/** No reply arrived within the allowed time. */
export class SmbTimeoutError extends SmbError {
  constructor(message: string) {
    super(message, 'SMB_ERR_TIMEOUT');
  }
}

/** The caller cancelled the operation (abort signal, unmount). */
export class SmbCancelledError extends SmbError {
  constructor(message: string) {
    super(message, 'SMB_ERR_CANCELLED');
  }
}

/** Authentication failed on the client side (e.g. guest fallback refused). */
export class SmbAuthError extends SmbError {
  constructor(message: string) {
    super(message, 'SMB_ERR_AUTH');
  }
}

/**
 * Node's os.constants.errno omits a few Linux errnos; these values are
 * Linux's (asm-generic/errno.h), the only platform smbfuse runs on.
 */
const E = {
  ...constants.errno,
  EREMOTE: 66,
  EREMOTEIO: 121,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
} as const;

/**
 * The one NTSTATUS → positive errno table. Exported so tests and docs can walk
 * it; use ntstatusToErrno() to look a status up.
 */
export const NTSTATUS_ERRNO: ReadonlyMap<number, number> = new Map<number, number>([
  // Names that do not exist.
  [NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, E.ENOENT],
  [NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, E.ENOENT],
  [NtStatus.STATUS_NO_SUCH_FILE, E.ENOENT],
  [NtStatus.STATUS_DELETE_PENDING, E.ENOENT],
  [NtStatus.STATUS_OBJECT_NAME_INVALID, E.ENOENT],
  [NtStatus.STATUS_BAD_NETWORK_NAME, E.ENOENT],
  [NtStatus.STATUS_NOT_FOUND, E.ENOENT],
  [NtStatus.STATUS_OBJECT_PATH_INVALID, E.ENOTDIR],
  [NtStatus.STATUS_OBJECT_NAME_COLLISION, E.EEXIST],
  [NtStatus.STATUS_NAME_TOO_LONG, E.ENAMETOOLONG],
  // Type of object.
  [NtStatus.STATUS_FILE_IS_A_DIRECTORY, E.EISDIR],
  [NtStatus.STATUS_NOT_A_DIRECTORY, E.ENOTDIR],
  [NtStatus.STATUS_DIRECTORY_NOT_EMPTY, E.ENOTEMPTY],
  // Permission and authentication.
  [NtStatus.STATUS_ACCESS_DENIED, E.EACCES],
  [NtStatus.STATUS_NETWORK_ACCESS_DENIED, E.EACCES],
  [NtStatus.STATUS_LOGON_FAILURE, E.EACCES],
  [NtStatus.STATUS_WRONG_PASSWORD, E.EACCES],
  [NtStatus.STATUS_ACCOUNT_RESTRICTION, E.EACCES],
  [NtStatus.STATUS_INVALID_LOGON_HOURS, E.EACCES],
  [NtStatus.STATUS_INVALID_WORKSTATION, E.EACCES],
  [NtStatus.STATUS_ACCOUNT_LOCKED_OUT, E.EACCES],
  [NtStatus.STATUS_PASSWORD_EXPIRED, E.EKEYEXPIRED],
  [NtStatus.STATUS_ACCOUNT_EXPIRED, E.EKEYEXPIRED],
  [NtStatus.STATUS_ACCOUNT_DISABLED, E.EKEYREVOKED],
  [NtStatus.STATUS_CANNOT_DELETE, E.EACCES],
  [NtStatus.STATUS_FILE_LOCK_CONFLICT, E.EACCES],
  [NtStatus.STATUS_LOCK_NOT_GRANTED, E.EACCES],
  [NtStatus.STATUS_PRIVILEGE_NOT_HELD, E.EPERM],
  [NtStatus.STATUS_SHARING_VIOLATION, E.EBUSY],
  [NtStatus.STATUS_DEVICE_BUSY, E.EBUSY],
  [NtStatus.STATUS_NETWORK_BUSY, E.EBUSY],
  // Space and limits.
  [NtStatus.STATUS_DISK_FULL, E.ENOSPC],
  [NtStatus.STATUS_QUOTA_EXCEEDED, E.EDQUOT],
  [NtStatus.STATUS_TOO_MANY_OPENED_FILES, E.EMFILE],
  [NtStatus.STATUS_TOO_MANY_LINKS, E.EMLINK],
  [NtStatus.STATUS_EA_TOO_LARGE, E.E2BIG],
  [NtStatus.STATUS_BUFFER_OVERFLOW, E.E2BIG],
  [NtStatus.STATUS_NO_EAS_ON_FILE, E.ENODATA],
  [NtStatus.STATUS_INSUFFICIENT_RESOURCES, E.EREMOTEIO],
  [NtStatus.STATUS_NO_MEMORY, E.EREMOTEIO],
  // Handles.
  [NtStatus.STATUS_INVALID_HANDLE, E.EBADF],
  [NtStatus.STATUS_FILE_CLOSED, E.EBADF],
  // Unsupported or invalid requests.
  [NtStatus.STATUS_NOT_SUPPORTED, E.EOPNOTSUPP],
  [NtStatus.STATUS_NOT_IMPLEMENTED, E.EOPNOTSUPP],
  [NtStatus.STATUS_INVALID_DEVICE_REQUEST, E.EOPNOTSUPP],
  [NtStatus.STATUS_EAS_NOT_SUPPORTED, E.EOPNOTSUPP],
  [NtStatus.STATUS_STOPPED_ON_SYMLINK, E.EOPNOTSUPP],
  [NtStatus.STATUS_IO_REPARSE_TAG_NOT_HANDLED, E.EOPNOTSUPP],
  [NtStatus.STATUS_INVALID_PARAMETER, E.EINVAL],
  [NtStatus.STATUS_INVALID_EA_NAME, E.EINVAL],
  // Cross-device, read-only, DFS.
  [NtStatus.STATUS_NOT_SAME_DEVICE, E.EXDEV],
  [NtStatus.STATUS_MEDIA_WRITE_PROTECTED, E.EROFS],
  [NtStatus.STATUS_PATH_NOT_COVERED, E.EREMOTE],
  // Connection, session and timing.
  [NtStatus.STATUS_IO_TIMEOUT, E.EAGAIN],
  [NtStatus.STATUS_RETRY, E.EAGAIN],
  [NtStatus.STATUS_NETWORK_NAME_DELETED, E.ECONNRESET],
  [NtStatus.STATUS_USER_SESSION_DELETED, E.ECONNRESET],
  [NtStatus.STATUS_NETWORK_SESSION_EXPIRED, E.ECONNRESET],
  [NtStatus.STATUS_CONNECTION_DISCONNECTED, E.ECONNABORTED],
  [NtStatus.STATUS_CONNECTION_RESET, E.ENETRESET],
  [NtStatus.STATUS_PIPE_BROKEN, E.EPIPE],
  [NtStatus.STATUS_PIPE_DISCONNECTED, E.EPIPE],
]);

/** Positive errno for an NTSTATUS; EIO for anything the table does not name. */
export function ntstatusToErrno(status: number): number {
  return NTSTATUS_ERRNO.get(status >>> 0) ?? E.EIO;
}

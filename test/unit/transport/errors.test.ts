import t from 'tap';
import {
  NTSTATUS_ERRNO,
  SmbAuthError,
  SmbCancelledError,
  SmbError,
  SmbProtocolError,
  SmbStatusError,
  SmbTimeoutError,
  SmbTransportError,
  ntstatusToErrno,
} from '../../../transport/errors.js';
import { NtStatus, isErrorStatus, statusName } from '../../../transport/ntstatus.js';
import { Smb2Command } from '../../../transport/pdu/header.js';

/** Expected row for every table entry, written out by hand (Linux errno values). */
const EXPECTED: Array<[keyof typeof NtStatus, string, number]> = [
  ['STATUS_OBJECT_NAME_NOT_FOUND', 'ENOENT', 2],
  ['STATUS_OBJECT_PATH_NOT_FOUND', 'ENOENT', 2],
  ['STATUS_NO_SUCH_FILE', 'ENOENT', 2],
  ['STATUS_DELETE_PENDING', 'ENOENT', 2],
  ['STATUS_OBJECT_NAME_INVALID', 'ENOENT', 2],
  ['STATUS_BAD_NETWORK_NAME', 'ENOENT', 2],
  ['STATUS_NOT_FOUND', 'ENOENT', 2],
  ['STATUS_OBJECT_PATH_INVALID', 'ENOTDIR', 20],
  ['STATUS_OBJECT_NAME_COLLISION', 'EEXIST', 17],
  ['STATUS_NAME_TOO_LONG', 'ENAMETOOLONG', 36],
  ['STATUS_FILE_IS_A_DIRECTORY', 'EISDIR', 21],
  ['STATUS_NOT_A_DIRECTORY', 'ENOTDIR', 20],
  ['STATUS_DIRECTORY_NOT_EMPTY', 'ENOTEMPTY', 39],
  ['STATUS_ACCESS_DENIED', 'EACCES', 13],
  ['STATUS_NETWORK_ACCESS_DENIED', 'EACCES', 13],
  ['STATUS_LOGON_FAILURE', 'EACCES', 13],
  ['STATUS_WRONG_PASSWORD', 'EACCES', 13],
  ['STATUS_ACCOUNT_RESTRICTION', 'EACCES', 13],
  ['STATUS_INVALID_LOGON_HOURS', 'EACCES', 13],
  ['STATUS_INVALID_WORKSTATION', 'EACCES', 13],
  ['STATUS_ACCOUNT_LOCKED_OUT', 'EACCES', 13],
  ['STATUS_PASSWORD_EXPIRED', 'EKEYEXPIRED', 127],
  ['STATUS_ACCOUNT_EXPIRED', 'EKEYEXPIRED', 127],
  ['STATUS_ACCOUNT_DISABLED', 'EKEYREVOKED', 128],
  ['STATUS_CANNOT_DELETE', 'EACCES', 13],
  ['STATUS_FILE_LOCK_CONFLICT', 'EACCES', 13],
  ['STATUS_LOCK_NOT_GRANTED', 'EACCES', 13],
  ['STATUS_PRIVILEGE_NOT_HELD', 'EPERM', 1],
  ['STATUS_SHARING_VIOLATION', 'EBUSY', 16],
  ['STATUS_DEVICE_BUSY', 'EBUSY', 16],
  ['STATUS_NETWORK_BUSY', 'EBUSY', 16],
  ['STATUS_DISK_FULL', 'ENOSPC', 28],
  ['STATUS_QUOTA_EXCEEDED', 'EDQUOT', 122],
  ['STATUS_TOO_MANY_OPENED_FILES', 'EMFILE', 24],
  ['STATUS_TOO_MANY_LINKS', 'EMLINK', 31],
  ['STATUS_EA_TOO_LARGE', 'E2BIG', 7],
  ['STATUS_BUFFER_OVERFLOW', 'E2BIG', 7],
  ['STATUS_NO_EAS_ON_FILE', 'ENODATA', 61],
  ['STATUS_INSUFFICIENT_RESOURCES', 'EREMOTEIO', 121],
  ['STATUS_NO_MEMORY', 'EREMOTEIO', 121],
  ['STATUS_INVALID_HANDLE', 'EBADF', 9],
  ['STATUS_FILE_CLOSED', 'EBADF', 9],
  ['STATUS_NOT_SUPPORTED', 'EOPNOTSUPP', 95],
  ['STATUS_NOT_IMPLEMENTED', 'EOPNOTSUPP', 95],
  ['STATUS_INVALID_DEVICE_REQUEST', 'EOPNOTSUPP', 95],
  ['STATUS_EAS_NOT_SUPPORTED', 'EOPNOTSUPP', 95],
  ['STATUS_STOPPED_ON_SYMLINK', 'EOPNOTSUPP', 95],
  ['STATUS_IO_REPARSE_TAG_NOT_HANDLED', 'EOPNOTSUPP', 95],
  ['STATUS_INVALID_PARAMETER', 'EINVAL', 22],
  ['STATUS_INVALID_EA_NAME', 'EINVAL', 22],
  ['STATUS_NOT_SAME_DEVICE', 'EXDEV', 18],
  ['STATUS_MEDIA_WRITE_PROTECTED', 'EROFS', 30],
  ['STATUS_PATH_NOT_COVERED', 'EREMOTE', 66],
  ['STATUS_IO_TIMEOUT', 'EAGAIN', 11],
  ['STATUS_RETRY', 'EAGAIN', 11],
  ['STATUS_NETWORK_NAME_DELETED', 'ECONNRESET', 104],
  ['STATUS_USER_SESSION_DELETED', 'ECONNRESET', 104],
  ['STATUS_NETWORK_SESSION_EXPIRED', 'ECONNRESET', 104],
  ['STATUS_CONNECTION_DISCONNECTED', 'ECONNABORTED', 103],
  ['STATUS_CONNECTION_RESET', 'ENETRESET', 102],
  ['STATUS_PIPE_BROKEN', 'EPIPE', 32],
  ['STATUS_PIPE_DISCONNECTED', 'EPIPE', 32],
];

t.test('every table row maps as written', async (t) => {
  for (const [name, errName, errno] of EXPECTED) {
    t.equal(ntstatusToErrno(NtStatus[name]), errno, `${name} → ${errName}`);
  }
  t.equal(EXPECTED.length, NTSTATUS_ERRNO.size, 'the table has no rows the test does not list');
  const listed = new Set<number>(EXPECTED.map(([n]) => NtStatus[n]));
  for (const code of NTSTATUS_ERRNO.keys()) t.ok(listed.has(code), `row ${statusName(code)} is tested`);
});

t.test('unlisted statuses are EIO, including the ones callers handle', async (t) => {
  for (const s of [NtStatus.STATUS_NO_MORE_FILES, NtStatus.STATUS_END_OF_FILE, NtStatus.STATUS_UNSUCCESSFUL, NtStatus.STATUS_CANCELLED, 0xc0ffee00]) {
    t.equal(ntstatusToErrno(s), 5, statusName(s));
  }
  t.equal(ntstatusToErrno(-0x3fffffcc), 2, 'a negative int32 reading of OBJECT_NAME_NOT_FOUND still matches');
});

t.test('statusName and severity', async (t) => {
  t.equal(statusName(0xc000006d), 'STATUS_LOGON_FAILURE');
  t.equal(statusName(0), 'STATUS_SUCCESS');
  t.equal(statusName(0xc0ffee00), '0xc0ffee00');
  t.equal(statusName(0x5), '0x00000005');
  t.ok(isErrorStatus(NtStatus.STATUS_ACCESS_DENIED));
  t.notOk(isErrorStatus(NtStatus.STATUS_BUFFER_OVERFLOW));
  t.notOk(isErrorStatus(NtStatus.STATUS_PENDING));
  t.ok(Object.keys(NtStatus).length >= 60, 'at least 60 named statuses');
  const values = Object.values(NtStatus);
  t.equal(new Set(values).size, values.length, 'no duplicate codes');
});

t.test('error classes', async (t) => {
  const s = new SmbStatusError(NtStatus.STATUS_LOGON_FAILURE, undefined, Smb2Command.SESSION_SETUP, 7n);
  t.equal(s.message, 'STATUS_LOGON_FAILURE (0xc000006d) on SESSION_SETUP');
  t.equal(s.code, 'SMB_ERR_STATUS');
  t.equal(s.name, 'SmbStatusError');
  t.equal(s.status, 0xc000006d);
  t.equal(s.statusName, 'STATUS_LOGON_FAILURE');
  t.equal(s.command, 1);
  t.equal(s.messageId, 7n);
  t.equal(s.errno, 13);
  t.ok(s instanceof SmbError && s instanceof Error);
  const named = new SmbStatusError(0xc0000034, 'STATUS_OBJECT_NAME_NOT_FOUND', Smb2Command.CREATE, 1n);
  t.equal(named.message, 'STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034) on CREATE');
  const unknown = new SmbStatusError(0xc0ffee00, '', 0x55, 1n);
  t.equal(unknown.message, '0xc0ffee00 on COMMAND_0x0055');

  const cause = new Error('ECONNRESET');
  const tr = new SmbTransportError('socket closed', cause);
  t.equal(tr.code, 'SMB_ERR_TRANSPORT');
  t.equal(tr.cause, cause);
  t.equal(tr.name, 'SmbTransportError');
  const cases: Array<[SmbError, string, string]> = [
    [new SmbProtocolError('x'), 'SMB_ERR_PROTOCOL', 'SmbProtocolError'],
    [new SmbTimeoutError('x'), 'SMB_ERR_TIMEOUT', 'SmbTimeoutError'],
    [new SmbCancelledError('x'), 'SMB_ERR_CANCELLED', 'SmbCancelledError'],
    [new SmbAuthError('x'), 'SMB_ERR_AUTH', 'SmbAuthError'],
  ];
  for (const [e, code, name] of cases) {
    t.equal(e.code, code);
    t.equal(e.name, name);
    t.ok(e instanceof SmbError);
  }
});

import t from 'tap';
import { toFuseErrno } from '../../../src/errno.js';
import { NtStatus } from '../../../transport/ntstatus.js';
import { SmbStatusError, SmbTimeoutError, SmbTransportError } from '../../../transport/errors.js';

t.test('status errors go through the NTSTATUS table', async (t) => {
  t.equal(toFuseErrno({ code: 'SMB_ERR_STATUS', status: NtStatus.STATUS_OBJECT_NAME_NOT_FOUND }), -2);
  t.equal(toFuseErrno({ code: 'SMB_ERR_STATUS', status: NtStatus.STATUS_ACCESS_DENIED }), -13);
  t.equal(toFuseErrno(new SmbStatusError(NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, undefined, 5, 1n)), -2);
  t.equal(toFuseErrno({ code: 'SMB_ERR_STATUS', status: 0xc0009999 }), -5, 'unknown status: EIO');
  t.equal(toFuseErrno({ code: 'SMB_ERR_STATUS' }), -5, 'no status: EIO');
});

t.test('transport errors', async (t) => {
  t.equal(toFuseErrno(new SmbTimeoutError('slow')), -110);
  t.equal(toFuseErrno(new SmbTransportError('gone')), -5);
});

t.test('numbers and the rest', async (t) => {
  t.equal(toFuseErrno(-2), -2);
  t.equal(toFuseErrno(-30), -30);
  t.equal(toFuseErrno(13), -13);
  t.equal(toFuseErrno(0), -5);
  t.equal(toFuseErrno(new Error('x')), -5);
  t.equal(toFuseErrno('str'), -5);
  t.equal(toFuseErrno(null), -5);
  t.equal(toFuseErrno(undefined), -5);
  t.equal(toFuseErrno(Object.assign(new Error('x'), { code: 'ENOENT', errno: -2 })), -2);
});

t.test('netfs errors carry their errno', async (t) => {
  const { NetfsError } = await import('../../../netfs/errors.js');
  t.equal(toFuseErrno(new NetfsError(-13, 'denied')), -13);
  t.equal(toFuseErrno(Object.assign(new Error('x'), { code: 'NETFS_IO_ERROR', errno: 5 })), -5);
});

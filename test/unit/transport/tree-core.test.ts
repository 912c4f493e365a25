/** nameError: Samba's OBJECT_NAME_INVALID for an over-long component becomes NAME_TOO_LONG (ENAMETOOLONG). */
import t from 'tap';
import { constants } from 'node:os';
import { SmbStatusError } from '../../../transport/errors.js';
import { NtStatus } from '../../../transport/ntstatus.js';
import { nameError } from '../../../transport/tree-core.js';

const invalid = () => new SmbStatusError(NtStatus.STATUS_OBJECT_NAME_INVALID, undefined, 5, 3n);

t.test('too-long component → ENAMETOOLONG', async (t) => {
  const e = nameError(invalid(), [`d\\${'x'.repeat(256)}`]);
  t.equal(e.status, NtStatus.STATUS_NAME_TOO_LONG);
  t.equal(e.errno, constants.errno.ENAMETOOLONG);
  t.equal(e.command, 5);
  // 128 two-byte characters are 256 bytes of UTF-8: too long for a POSIX back end.
  t.equal(nameError(invalid(), ['é'.repeat(128)]).status, NtStatus.STATUS_NAME_TOO_LONG);
});

t.test('other names and statuses pass through', async (t) => {
  const e = invalid();
  t.equal(nameError(e, ['x'.repeat(255)]), e, '255 bytes is allowed');
  const other = new SmbStatusError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, undefined, 5, 3n);
  t.equal(nameError(other, ['x'.repeat(300)]), other, 'only OBJECT_NAME_INVALID is translated');
});

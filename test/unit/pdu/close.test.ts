// Expected and response bytes are built from MS-SMB2 2.2.15 / 2.2.16 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { CloseFlags, decodeCloseResponse, encodeCloseRequest } from '../../../transport/pdu/close.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown } from '../../helpers/bytes.js';

t.test('CLOSE request', async (t) => {
  const want = new ByteList()
    .u16(24, 'StructureSize')
    .u16(1, 'Flags POSTQUERY_ATTRIB')
    .u32(0, 'Reserved')
    .bytes(FILE_ID, 'FileId')
    .toBuffer();
  t.equal(hex(encodeCloseRequest({ flags: CloseFlags.POSTQUERY_ATTRIB, fileId: FILE_ID })), hex(want));
  t.throws(() => encodeCloseRequest({ flags: 0, fileId: Buffer.alloc(8) }), RangeError);
});

t.test('CLOSE response', async (t) => {
  const b = new ByteList()
    .u16(60, 'StructureSize')
    .u16(1, 'Flags')
    .u32(0, 'Reserved')
    .u64(11n, 'CreationTime')
    .u64(12n, 'LastAccessTime')
    .u64(13n, 'LastWriteTime')
    .u64(14n, 'ChangeTime')
    .u64(8192, 'AllocationSize')
    .u64(5000, 'EndofFile')
    .u32(0x10, 'FileAttributes');
  const msg = responseMessage(Smb2Command.CLOSE, b);
  t.same(decodeCloseResponse(msg), {
    flags: 1,
    creationTime: 11n,
    lastAccessTime: 12n,
    lastWriteTime: 13n,
    changeTime: 14n,
    allocationSize: 8192,
    endOfFile: 5000,
    fileAttributes: 0x10,
  });
  t.type(thrown(() => decodeCloseResponse(msg.subarray(0, 64 + 59))), SmbProtocolError, 'truncated');
  const bad = Buffer.from(msg);
  bad.writeUInt16LE(4, 64);
  t.type(thrown(() => decodeCloseResponse(bad)), SmbProtocolError, 'StructureSize');
});

// Expected and response bytes are built from MS-SMB2 2.2.19 / 2.2.20 / 2.2.21 / 2.2.22 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import { READ_RESPONSE_FIXED_END, decodeReadResponse, decodeReadResponseFixed, encodeReadRequest } from '../../../transport/pdu/read.js';
import { WRITE_DATA_OFFSET, decodeWriteResponse, encodeWriteRequest } from '../../../transport/pdu/write.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown } from '../../helpers/bytes.js';

t.test('READ request', async (t) => {
  const want = new ByteList()
    .u16(49, 'StructureSize')
    .u8(0x50, 'Padding')
    .u8(0, 'Flags')
    .u32(65536, 'Length')
    .u64(0x123456789an, 'Offset')
    .bytes(FILE_ID, 'FileId')
    .u32(1, 'MinimumCount')
    .u32(0, 'Channel')
    .u32(4096, 'RemainingBytes')
    .u16(0, 'ReadChannelInfoOffset')
    .u16(0, 'ReadChannelInfoLength')
    .zeros(1, 'Buffer')
    .toBuffer();
  const body = encodeReadRequest({
    padding: 0x50, flags: 0, length: 65536, offset: 0x123456789a, fileId: FILE_ID,
    minimumCount: 1, channel: 0, remainingBytes: 4096,
  });
  t.equal(hex(body), hex(want));
});

/** READ response fixed part. */
function fixed(dataOffset: number, dataLength: number): ByteList {
  return new ByteList()
    .u16(17, 'StructureSize')
    .u8(dataOffset, 'DataOffset')
    .u8(0, 'Reserved')
    .u32(dataLength, 'DataLength')
    .u32(7, 'DataRemaining')
    .u32(0, 'Reserved2');
}

t.test('READ response fixed part from just 80 bytes', async (t) => {
  t.equal(READ_RESPONSE_FIXED_END, 80);
  const msg = responseMessage(Smb2Command.READ, fixed(0x50, 1 << 20));
  t.equal(msg.length, 80);
  t.same(decodeReadResponseFixed(msg), { dataOffset: 0x50, dataLength: 1 << 20, dataRemaining: 7 });
  const empty = responseMessage(Smb2Command.READ, fixed(0, 0));
  t.same(decodeReadResponseFixed(empty), { dataOffset: 0, dataLength: 0, dataRemaining: 7 }, 'empty read may have offset 0');
});

t.test('READ response with data', async (t) => {
  const msg = responseMessage(Smb2Command.READ, fixed(0x50, 5).ascii('hello'));
  const r = decodeReadResponse(msg);
  t.equal(r.data.toString(), 'hello');
  t.equal(r.data.buffer, msg.buffer, 'view');
});

t.test('READ response malformed variants throw', async (t) => {
  t.type(thrown(() => decodeReadResponseFixed(responseMessage(Smb2Command.READ, fixed(0x50, 5)).subarray(0, 79))), SmbProtocolError, 'truncated');
  const ss = responseMessage(Smb2Command.READ, fixed(0x50, 5));
  ss.writeUInt16LE(16, 64);
  t.type(thrown(() => decodeReadResponseFixed(ss)), SmbProtocolError, 'StructureSize');
  t.type(thrown(() => decodeReadResponseFixed(responseMessage(Smb2Command.READ, fixed(0x40, 5)))), SmbProtocolError, 'DataOffset in header');
  t.type(thrown(() => decodeReadResponseFixed(responseMessage(Smb2Command.READ, fixed(0x4f, 5)))), SmbProtocolError, 'DataOffset in fixed part');
  t.type(thrown(() => decodeReadResponse(responseMessage(Smb2Command.READ, fixed(0x50, 6).ascii('hello')))), SmbProtocolError, 'data past end');
});

t.test('WRITE request fixed part', async (t) => {
  const want = new ByteList()
    .u16(49, 'StructureSize')
    .u16(0x70, 'DataOffset')
    .u32(131072, 'Length')
    .u64(1n << 40n, 'Offset')
    .bytes(FILE_ID, 'FileId')
    .u32(0, 'Channel')
    .u32(0, 'RemainingBytes')
    .u16(0, 'WriteChannelInfoOffset')
    .u16(0, 'WriteChannelInfoLength')
    .u32(1, 'Flags WRITE_THROUGH')
    .toBuffer();
  t.equal(WRITE_DATA_OFFSET, 0x70);
  t.equal(hex(encodeWriteRequest({ offset: 2 ** 40, fileId: FILE_ID, length: 131072, flags: 1 })), hex(want));
});

t.test('WRITE response', async (t) => {
  const b = new ByteList()
    .u16(17, 'StructureSize')
    .u16(0, 'Reserved')
    .u32(131072, 'Count')
    .u32(0, 'Remaining')
    .u16(0, 'WriteChannelInfoOffset')
    .u16(0, 'WriteChannelInfoLength');
  const msg = responseMessage(Smb2Command.WRITE, b);
  t.same(decodeWriteResponse(msg), { count: 131072, remaining: 0 });
  t.type(thrown(() => decodeWriteResponse(msg.subarray(0, 79))), SmbProtocolError, 'truncated');
  const bad = Buffer.from(msg);
  bad.writeUInt16LE(49, 64);
  t.type(thrown(() => decodeWriteResponse(bad)), SmbProtocolError, 'StructureSize');
});

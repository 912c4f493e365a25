// Expected and response bytes are built from MS-SMB2 2.2.37-2.2.40 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { FileInfoClass } from '../../../transport/pdu/fscc.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import {
  InfoType,
  decodeQueryInfoResponse,
  decodeSetInfoResponse,
  encodeQueryInfoRequest,
  encodeSetInfoRequest,
} from '../../../transport/pdu/query-info.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown, unhex } from '../../helpers/bytes.js';

t.test('QUERY_INFO request without input', async (t) => {
  const want = new ByteList()
    .u16(41, 'StructureSize')
    .u8(1, 'InfoType FILE')
    .u8(18, 'FileInfoClass FileAllInformation')
    .u32(4096, 'OutputBufferLength')
    .u16(0, 'InputBufferOffset')
    .u16(0, 'Reserved')
    .u32(0, 'InputBufferLength')
    .u32(0, 'AdditionalInformation')
    .u32(0, 'Flags')
    .bytes(FILE_ID, 'FileId')
    .zeros(1, 'Buffer')
    .toBuffer();
  const body = encodeQueryInfoRequest({
    infoType: InfoType.FILE, fileInfoClass: FileInfoClass.FileAllInformation, outputBufferLength: 4096,
    additionalInformation: 0, flags: 0, fileId: FILE_ID,
  });
  t.equal(hex(body), hex(want));
});

t.test('QUERY_INFO request with input (EA list)', async (t) => {
  const input = unhex('0000000004000000');
  const want = new ByteList()
    .u16(41).u8(1).u8(15).u32(65536)
    .u16(104, 'InputBufferOffset')
    .u16(0)
    .u32(8, 'InputBufferLength')
    .u32(0).u32(1, 'Flags SL_RESTART_SCAN')
    .bytes(FILE_ID)
    .bytes(input)
    .toBuffer();
  const body = encodeQueryInfoRequest({
    infoType: 1, fileInfoClass: 15, outputBufferLength: 65536, additionalInformation: 0, flags: 1, fileId: FILE_ID, inputBuffer: input,
  });
  t.equal(hex(body), hex(want));
});

t.test('QUERY_INFO response', async (t) => {
  const b = new ByteList().u16(9, 'StructureSize').u16(72, 'OutputBufferOffset').u32(4, 'OutputBufferLength').hex('deadbeef');
  const msg = responseMessage(Smb2Command.QUERY_INFO, b);
  const r = decodeQueryInfoResponse(msg);
  t.equal(hex(r.outputBuffer), 'deadbeef');
  t.equal(r.outputBuffer.buffer, msg.buffer, 'view');
  t.type(thrown(() => decodeQueryInfoResponse(msg.subarray(0, 71))), SmbProtocolError, 'truncated');
  const past = Buffer.from(msg);
  past.writeUInt32LE(5, 68);
  t.type(thrown(() => decodeQueryInfoResponse(past)), SmbProtocolError, 'length past end');
  const inHdr = Buffer.from(msg);
  inHdr.writeUInt16LE(0x40, 66);
  t.type(thrown(() => decodeQueryInfoResponse(inHdr)), SmbProtocolError, 'offset into header');
  const ss = Buffer.from(msg);
  ss.writeUInt16LE(8, 64);
  t.type(thrown(() => decodeQueryInfoResponse(ss)), SmbProtocolError, 'StructureSize');
});

t.test('SET_INFO request and response', async (t) => {
  const data = unhex('0010000000000000');
  const want = new ByteList()
    .u16(33, 'StructureSize')
    .u8(1, 'InfoType')
    .u8(20, 'FileInfoClass FileEndOfFileInformation')
    .u32(8, 'BufferLength')
    .u16(96, 'BufferOffset')
    .u16(0, 'Reserved')
    .u32(0, 'AdditionalInformation')
    .bytes(FILE_ID, 'FileId')
    .bytes(data, 'Buffer')
    .toBuffer();
  const body = encodeSetInfoRequest({ infoType: 1, fileInfoClass: FileInfoClass.FileEndOfFileInformation, additionalInformation: 0, fileId: FILE_ID, buffer: data });
  t.equal(hex(body), hex(want));
  decodeSetInfoResponse(responseMessage(Smb2Command.SET_INFO, new ByteList().u16(2)));
  t.type(thrown(() => decodeSetInfoResponse(responseMessage(Smb2Command.SET_INFO, new ByteList().u8(2)))), SmbProtocolError);
  t.type(thrown(() => decodeSetInfoResponse(responseMessage(Smb2Command.SET_INFO, new ByteList().u16(9)))), SmbProtocolError);
});

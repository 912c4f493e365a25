// Expected and response bytes are built from MS-SMB2 2.2.31 / 2.2.32 (+ .4 / .6) field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import {
  FSCTL_VALIDATE_NEGOTIATE_INFO,
  IoctlFlags,
  decodeIoctlResponse,
  decodeValidateNegotiateInfoResponse,
  encodeIoctlRequest,
  encodeValidateNegotiateInfoRequest,
} from '../../../transport/pdu/ioctl.js';
import { ByteList, hex, responseMessage, thrown, unhex } from '../../helpers/bytes.js';

const NO_FILE = Buffer.alloc(16, 0xff);
const guid = unhex('000102030405060708090a0b0c0d0e0f');

t.test('IOCTL VALIDATE_NEGOTIATE_INFO request', async (t) => {
  const input = encodeValidateNegotiateInfoRequest({ capabilities: 0x7f, guid, securityMode: 1, dialects: [0x0300, 0x0302] });
  t.equal(
    hex(input),
    hex(new ByteList().u32(0x7f, 'Capabilities').bytes(guid, 'Guid').u16(1, 'SecurityMode').u16(2, 'DialectCount').u16(0x0300).u16(0x0302).toBuffer()),
  );
  const want = new ByteList()
    .u16(57, 'StructureSize')
    .u16(0, 'Reserved')
    .u32(0x00140204, 'CtlCode')
    .bytes(NO_FILE, 'FileId')
    .u32(120, 'InputOffset')
    .u32(input.length, 'InputCount')
    .u32(0, 'MaxInputResponse')
    .u32(0, 'OutputOffset')
    .u32(0, 'OutputCount')
    .u32(24, 'MaxOutputResponse')
    .u32(1, 'Flags IS_FSCTL')
    .u32(0, 'Reserved2')
    .bytes(input, 'Buffer')
    .toBuffer();
  const body = encodeIoctlRequest({ ctlCode: FSCTL_VALIDATE_NEGOTIATE_INFO, fileId: NO_FILE, input, maxOutputResponse: 24, flags: IoctlFlags.IS_FSCTL });
  t.equal(hex(body), hex(want));
});

t.test('IOCTL response', async (t) => {
  const out = new ByteList().u32(0x2f, 'Capabilities').bytes(guid, 'Guid').u16(3, 'SecurityMode').u16(0x0302, 'Dialect').toBuffer();
  const b = new ByteList()
    .u16(49, 'StructureSize')
    .u16(0, 'Reserved')
    .u32(0x00140204, 'CtlCode')
    .bytes(NO_FILE, 'FileId')
    .u32(112, 'InputOffset')
    .u32(0, 'InputCount')
    .u32(112, 'OutputOffset')
    .u32(24, 'OutputCount')
    .u32(0, 'Flags')
    .u32(0, 'Reserved2')
    .bytes(out);
  const msg = responseMessage(Smb2Command.IOCTL, b);
  const r = decodeIoctlResponse(msg);
  t.equal(r.ctlCode, FSCTL_VALIDATE_NEGOTIATE_INFO);
  t.equal(r.input.length, 0);
  t.equal(hex(r.output), hex(out));
  t.same(decodeValidateNegotiateInfoResponse(r.output), { capabilities: 0x2f, guid: r.output.subarray(4, 20), securityMode: 3, dialect: 0x0302 });
  t.type(thrown(() => decodeValidateNegotiateInfoResponse(r.output.subarray(0, 23))), SmbProtocolError);
  t.type(thrown(() => decodeIoctlResponse(msg.subarray(0, 64 + 47))), SmbProtocolError, 'truncated');
  const past = Buffer.from(msg);
  past.writeUInt32LE(25, 64 + 36);
  t.type(thrown(() => decodeIoctlResponse(past)), SmbProtocolError, 'output past end');
  const inHdr = Buffer.from(msg);
  inHdr.writeUInt32LE(32, 64 + 32);
  t.type(thrown(() => decodeIoctlResponse(inHdr)), SmbProtocolError, 'output offset in header');
  const ss = Buffer.from(msg);
  ss.writeUInt16LE(57, 64);
  t.type(thrown(() => decodeIoctlResponse(ss)), SmbProtocolError, 'StructureSize');
});

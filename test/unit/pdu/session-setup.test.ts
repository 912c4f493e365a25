// Expected and response bytes are built from MS-SMB2 2.2.5 / 2.2.6 / 2.2.9-2.2.12 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import { SessionFlags, decodeSessionSetupResponse, encodeSessionSetupRequest } from '../../../transport/pdu/session-setup.js';
import { ByteList, hex, responseMessage, thrown, unhex } from '../../helpers/bytes.js';

const token = unhex('4e544c4d5353500001000000');

t.test('SESSION_SETUP request', async (t) => {
  const body = encodeSessionSetupRequest({ flags: 0, securityMode: 1, capabilities: 1, previousSessionId: 0x1122n, securityBuffer: token });
  const want = new ByteList()
    .u16(25, 'StructureSize')
    .u8(0, 'Flags')
    .u8(1, 'SecurityMode')
    .u32(1, 'Capabilities')
    .u32(0, 'Channel')
    .u16(88, 'SecurityBufferOffset')
    .u16(token.length, 'SecurityBufferLength')
    .u64(0x1122n, 'PreviousSessionId')
    .bytes(token, 'Buffer')
    .toBuffer();
  t.equal(hex(body), hex(want));
});

t.test('SESSION_SETUP response', async (t) => {
  const b = new ByteList()
    .u16(9, 'StructureSize')
    .u16(SessionFlags.IS_GUEST, 'SessionFlags')
    .u16(72, 'SecurityBufferOffset')
    .u16(token.length, 'SecurityBufferLength')
    .bytes(token);
  const msg = responseMessage(Smb2Command.SESSION_SETUP, b, 0xc0000016);
  const r = decodeSessionSetupResponse(msg);
  t.equal(r.sessionFlags, 1);
  t.equal(hex(r.securityBuffer), hex(token));
  t.equal(r.securityBuffer.buffer, msg.buffer, 'view');

  const empty = decodeSessionSetupResponse(responseMessage(Smb2Command.SESSION_SETUP, new ByteList().u16(9).u16(0).u16(0).u16(0)));
  t.equal(empty.securityBuffer.length, 0);

  t.type(thrown(() => decodeSessionSetupResponse(msg.subarray(0, 71))), SmbProtocolError, 'truncated');
  const bad = Buffer.from(msg);
  bad.writeUInt16LE(8, 64);
  t.type(thrown(() => decodeSessionSetupResponse(bad)), SmbProtocolError, 'StructureSize');
  const past = Buffer.from(msg);
  past.writeUInt16LE(token.length + 1, 70);
  t.type(thrown(() => decodeSessionSetupResponse(past)), SmbProtocolError, 'length past end');
  const inHdr = Buffer.from(msg);
  inHdr.writeUInt16LE(60, 68);
  t.type(thrown(() => decodeSessionSetupResponse(inHdr)), SmbProtocolError, 'offset in header');
});

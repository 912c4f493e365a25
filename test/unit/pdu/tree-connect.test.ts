// Expected and response bytes are built from MS-SMB2 2.2.9-2.2.12 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import {
  ShareFlags,
  ShareType,
  decodeTreeConnectResponse,
  decodeTreeDisconnectResponse,
  encodeTreeConnectRequest,
  encodeTreeDisconnectRequest,
} from '../../../transport/pdu/tree-connect.js';
import { ByteList, hex, responseMessage, thrown } from '../../helpers/bytes.js';

t.test('TREE_CONNECT request', async (t) => {
  const path = '\\\\srv\\share';
  const want = new ByteList()
    .u16(9, 'StructureSize')
    .u16(0, 'Flags')
    .u16(72, 'PathOffset')
    .u16(path.length * 2, 'PathLength')
    .utf16(path, 'Buffer')
    .toBuffer();
  t.equal(hex(encodeTreeConnectRequest({ path })), hex(want));
});

t.test('TREE_CONNECT response', async (t) => {
  const b = new ByteList()
    .u16(16, 'StructureSize')
    .u8(ShareType.DISK, 'ShareType')
    .u8(0, 'Reserved')
    .u32(ShareFlags.ENCRYPT_DATA | ShareFlags.NO_CACHING, 'ShareFlags')
    .u32(0x10, 'Capabilities')
    .u32(0x001f01ff, 'MaximalAccess');
  const msg = responseMessage(Smb2Command.TREE_CONNECT, b);
  t.same(decodeTreeConnectResponse(msg), { shareType: 1, shareFlags: 0x8030, capabilities: 0x10, maximalAccess: 0x001f01ff });
  t.type(thrown(() => decodeTreeConnectResponse(msg.subarray(0, 79))), SmbProtocolError, 'truncated');
  const bad = Buffer.from(msg);
  bad.writeUInt16LE(9, 64);
  t.type(thrown(() => decodeTreeConnectResponse(bad)), SmbProtocolError, 'StructureSize');
});

t.test('TREE_DISCONNECT', async (t) => {
  t.equal(hex(encodeTreeDisconnectRequest()), hex(new ByteList().u16(4, 'StructureSize').u16(0, 'Reserved').toBuffer()));
  decodeTreeDisconnectResponse(responseMessage(Smb2Command.TREE_DISCONNECT, new ByteList().u16(4).u16(0)));
  t.type(thrown(() => decodeTreeDisconnectResponse(responseMessage(Smb2Command.TREE_DISCONNECT, new ByteList().u16(4)))), SmbProtocolError);
  t.type(thrown(() => decodeTreeDisconnectResponse(responseMessage(Smb2Command.TREE_DISCONNECT, new ByteList().u16(9).u16(0)))), SmbProtocolError);
});

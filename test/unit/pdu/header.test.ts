// Expected bytes are built from MS-SMB2 2.2.1 and 2.2.41 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import {
  Smb2Command,
  Smb2Flags,
  decodeHeader,
  decodeTransformHeader,
  encodeHeader,
  encodeMessage,
  encodeTransformHeader,
  isSmb1,
  protocolKind,
  type Smb2Header,
} from '../../../transport/pdu/header.js';
import { ByteList, hex, thrown, unhex } from '../../helpers/bytes.js';

const sig = unhex('00112233445566778899aabbccddeeff');

const syncHeader: Smb2Header = {
  creditCharge: 2,
  status: 0,
  command: Smb2Command.READ,
  creditRequest: 31,
  flags: Smb2Flags.SIGNED,
  nextCommand: 0,
  messageId: 0x1122334455667788n,
  asyncId: 0n,
  treeId: 0xdeadbeef,
  sessionId: 0x0102030405060708n,
  signature: sig,
};

t.test('sync header encodes field by field', async (t) => {
  const want = new ByteList()
    .hex('fe534d42', 'ProtocolId')
    .u16(64, 'StructureSize')
    .u16(2, 'CreditCharge')
    .u32(0, 'ChannelSequence/Reserved')
    .u16(0x0008, 'Command READ')
    .u16(31, 'CreditRequest')
    .u32(0x00000008, 'Flags SIGNED')
    .u32(0, 'NextCommand')
    .u64(0x1122334455667788n, 'MessageId')
    .u32(0, 'Reserved')
    .u32(0xdeadbeef, 'TreeId')
    .u64(0x0102030405060708n, 'SessionId')
    .bytes(sig, 'Signature')
    .toBuffer();
  const out = Buffer.alloc(70, 0xee);
  encodeHeader(syncHeader, out, 3);
  t.equal(hex(out.subarray(3, 67)), hex(want));
  t.equal(out[2], 0xee, 'bytes before untouched');
  t.equal(out[67], 0xee, 'bytes after untouched');
  const back = decodeHeader(out, 3);
  t.same({ ...back, signature: hex(back.signature) }, { ...syncHeader, signature: hex(sig) });
});

t.test('async header carries AsyncId instead of TreeId', async (t) => {
  const h: Smb2Header = {
    ...syncHeader,
    status: 0x00000103,
    flags: Smb2Flags.SERVER_TO_REDIR | Smb2Flags.ASYNC_COMMAND,
    asyncId: 0xa1a2a3a4a5a6a7a8n,
    treeId: 0,
  };
  const want = new ByteList()
    .hex('fe534d42').u16(64).u16(2)
    .u32(0x00000103, 'Status STATUS_PENDING')
    .u16(8).u16(31)
    .u32(0x00000003, 'Flags SERVER_TO_REDIR|ASYNC')
    .u32(0)
    .u64(0x1122334455667788n)
    .u64(0xa1a2a3a4a5a6a7a8n, 'AsyncId')
    .u64(0x0102030405060708n)
    .bytes(sig)
    .toBuffer();
  const out = Buffer.alloc(64);
  encodeHeader(h, out);
  t.equal(hex(out), hex(want));
  const back = decodeHeader(out);
  t.equal(back.asyncId, 0xa1a2a3a4a5a6a7a8n);
  t.equal(back.treeId, 0);
  t.equal(back.status, 0x103);
});

t.test('decodeHeader rejects bad frames', async (t) => {
  const good = encodeMessage(syncHeader, Buffer.alloc(0));
  t.type(thrown(() => decodeHeader(good.subarray(0, 63))), SmbProtocolError, 'short');
  const smb1 = Buffer.from(good);
  smb1[0] = 0xff;
  t.type(thrown(() => decodeHeader(smb1)), SmbProtocolError, 'SMB1');
  const badSize = Buffer.from(good);
  badSize.writeUInt16LE(65, 4);
  t.type(thrown(() => decodeHeader(badSize)), SmbProtocolError, 'StructureSize');
});

t.test('protocol id classification', async (t) => {
  t.equal(protocolKind(unhex('fe534d42')), 'smb2');
  t.equal(protocolKind(unhex('fd534d42')), 'transform');
  t.equal(protocolKind(unhex('fc534d42')), 'compression');
  t.equal(protocolKind(unhex('ff534d42')), 'smb1');
  t.equal(protocolKind(unhex('00000000')), 'unknown');
  t.ok(isSmb1(unhex('ff534d4272')));
  t.notOk(isSmb1(unhex('fe534d42')));
  t.notOk(isSmb1(unhex('ff53')));
  t.type(thrown(() => protocolKind(unhex('fe53'))), SmbProtocolError);
});

t.test('transform header (2.2.41)', async (t) => {
  const nonce = unhex('0102030405060708090a0b'); // 11-byte CCM nonce
  const want = new ByteList()
    .hex('fd534d42', 'ProtocolId')
    .bytes(sig, 'Signature')
    .bytes(nonce, 'Nonce').zeros(5, 'Nonce padding')
    .u32(0x1234, 'OriginalMessageSize')
    .u16(0, 'Reserved')
    .u16(1, 'Flags: Encrypted')
    .u64(0x0102030405060708n, 'SessionId')
    .toBuffer();
  t.equal(want.length, 52);
  const out = Buffer.alloc(52, 0xee);
  encodeTransformHeader({ signature: sig, nonce, originalMessageSize: 0x1234, flags: 1, sessionId: 0x0102030405060708n }, out);
  t.equal(hex(out), hex(want));
  const d = decodeTransformHeader(out);
  t.equal(hex(d.signature), hex(sig));
  t.equal(hex(d.nonce), hex(nonce) + '0000000000');
  t.equal(d.originalMessageSize, 0x1234);
  t.equal(d.flags, 1);
  t.equal(d.sessionId, 0x0102030405060708n);
  t.type(thrown(() => decodeTransformHeader(out.subarray(0, 51))), SmbProtocolError);
  t.type(thrown(() => decodeTransformHeader(Buffer.concat([unhex('fe'), out.subarray(1)]))), SmbProtocolError);
});

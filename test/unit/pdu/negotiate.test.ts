// Expected and response bytes are built from MS-SMB2 2.2.3 / 2.2.4 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import { decodeNegotiateResponse, encodeNegotiateRequest } from '../../../transport/pdu/negotiate.js';
import { ByteList, hex, responseMessage, thrown, unhex } from '../../helpers/bytes.js';

const guid = unhex('000102030405060708090a0b0c0d0e0f');
const salt = Buffer.alloc(32, 0x5a);

t.test('NEGOTIATE request without 3.1.1', async (t) => {
  const body = encodeNegotiateRequest({ dialects: [0x0202, 0x0210], securityMode: 1, capabilities: 0x45, clientGuid: guid });
  const want = new ByteList()
    .u16(36, 'StructureSize')
    .u16(2, 'DialectCount')
    .u16(1, 'SecurityMode')
    .u16(0, 'Reserved')
    .u32(0x45, 'Capabilities')
    .bytes(guid, 'ClientGuid')
    .u64(0, 'ClientStartTime')
    .u16(0x0202).u16(0x0210)
    .toBuffer();
  t.equal(hex(body), hex(want));
});

t.test('NEGOTIATE request with 3.1.1 contexts', async (t) => {
  const body = encodeNegotiateRequest({
    dialects: [0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
    securityMode: 1,
    capabilities: 0x7f,
    clientGuid: guid,
    contexts: { preauthSalt: salt, ciphers: [2, 1], signingAlgorithms: [2, 1, 0] },
  });
  // Dialects end at message offset 100 + 10 = 110; contexts start at 112.
  const want = new ByteList()
    .u16(36, 'StructureSize')
    .u16(5, 'DialectCount')
    .u16(1, 'SecurityMode')
    .u16(0, 'Reserved')
    .u32(0x7f, 'Capabilities')
    .bytes(guid, 'ClientGuid')
    .u32(112, 'NegotiateContextOffset')
    .u16(3, 'NegotiateContextCount')
    .u16(0, 'Reserved2')
    .u16(0x0202).u16(0x0210).u16(0x0300).u16(0x0302).u16(0x0311)
    .pad8(64, 'Padding')
    // PREAUTH_INTEGRITY_CAPABILITIES
    .u16(1, 'ContextType').u16(38, 'DataLength').u32(0, 'Reserved')
    .u16(1, 'HashAlgorithmCount').u16(32, 'SaltLength').u16(1, 'SHA-512').bytes(salt, 'Salt')
    .pad8(64)
    // ENCRYPTION_CAPABILITIES
    .u16(2).u16(6).u32(0)
    .u16(2, 'CipherCount').u16(2, 'AES-128-GCM').u16(1, 'AES-128-CCM')
    .pad8(64)
    // SIGNING_CAPABILITIES (last: no trailing padding)
    .u16(8).u16(8).u32(0)
    .u16(3, 'SigningAlgorithmCount').u16(2).u16(1).u16(0)
    .toBuffer();
  t.equal(hex(body), hex(want));
});

t.test('empty cipher list leaves the encryption context out', async (t) => {
  const body = encodeNegotiateRequest({
    dialects: [0x0311],
    securityMode: 1,
    capabilities: 0,
    clientGuid: guid,
    contexts: { preauthSalt: salt, ciphers: [], signingAlgorithms: [1] },
  });
  t.equal(body.readUInt16LE(32), 2, 'NegotiateContextCount');
  t.equal(body.readUInt16LE(40), 1, "first context (message offset 104) is preauth");
  t.equal(body.readUInt16LE(40 + 8 + 38 + 2), 8, "then signing, at the next 8-aligned offset");
});

/** A 3.1.1 response body with a security blob and three contexts. */
function response311(): { msg: Buffer; blob: Buffer } {
  const blob = unhex('6082aabbccdd');
  const serverGuid = unhex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  const b = new ByteList()
    .u16(65, 'StructureSize')
    .u16(3, 'SecurityMode')
    .u16(0x0311, 'DialectRevision')
    .u16(3, 'NegotiateContextCount')
    .bytes(serverGuid, 'ServerGuid')
    .u32(0x2f, 'Capabilities')
    .u32(8388608, 'MaxTransactSize')
    .u32(8388608, 'MaxReadSize')
    .u32(8388608, 'MaxWriteSize')
    .u64(133000000000000000n, 'SystemTime')
    .u64(0, 'ServerStartTime')
    .u16(128, 'SecurityBufferOffset')
    .u16(blob.length, 'SecurityBufferLength')
    .u32(136, 'NegotiateContextOffset')
    .bytes(blob, 'Buffer')
    .pad8(64)
    .u16(1).u16(38).u32(0).u16(1).u16(32).u16(1).bytes(salt)
    .pad8(64)
    .u16(2).u16(4).u32(0).u16(1).u16(4, 'AES-256-GCM')
    .pad8(64)
    .u16(8).u16(4).u32(0).u16(1).u16(1, 'AES-CMAC');
  return { msg: responseMessage(Smb2Command.NEGOTIATE, b), blob };
}

t.test('NEGOTIATE response 3.1.1 decodes field by field', async (t) => {
  const { msg, blob } = response311();
  const r = decodeNegotiateResponse(msg);
  t.equal(r.securityMode, 3);
  t.equal(r.dialectRevision, 0x0311);
  t.equal(hex(r.serverGuid), 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  t.equal(r.capabilities, 0x2f);
  t.equal(r.maxTransactSize, 8388608);
  t.equal(r.maxReadSize, 8388608);
  t.equal(r.maxWriteSize, 8388608);
  t.equal(r.systemTime, 133000000000000000n);
  t.equal(r.serverStartTime, 0n);
  t.equal(hex(r.securityBuffer), hex(blob));
  t.equal(r.securityBuffer.buffer, msg.buffer, 'security buffer is a view');
  t.equal(r.contexts.preauthHashAlgorithm, 1);
  t.equal(hex(r.contexts.preauthSalt!), hex(salt));
  t.equal(r.contexts.cipher, 4);
  t.equal(r.contexts.signingAlgorithm, 1);
});

t.test('NEGOTIATE response 2.1 ignores context fields', async (t) => {
  const b = new ByteList()
    .u16(65).u16(1).u16(0x0210).u16(0).zeros(16).u32(7).u32(65536).u32(65536).u32(65536)
    .u64(1).u64(2).u16(0, 'SecurityBufferOffset').u16(0).u32(0xffff, 'Reserved2 (garbage ok)');
  const r = decodeNegotiateResponse(responseMessage(Smb2Command.NEGOTIATE, b));
  t.equal(r.dialectRevision, 0x0210);
  t.equal(r.securityBuffer.length, 0);
  t.same(r.contexts, {});
});

t.test('NEGOTIATE response malformed variants throw', async (t) => {
  const { msg } = response311();
  t.type(thrown(() => decodeNegotiateResponse(msg.subarray(0, 64 + 63))), SmbProtocolError, 'truncated fixed part');
  const ss = Buffer.from(msg);
  ss.writeUInt16LE(64, 64);
  t.type(thrown(() => decodeNegotiateResponse(ss)), SmbProtocolError, 'StructureSize');
  const secLen = Buffer.from(msg);
  secLen.writeUInt16LE(0x7fff, 64 + 58);
  t.type(thrown(() => decodeNegotiateResponse(secLen)), SmbProtocolError, 'security buffer past end');
  const secOff = Buffer.from(msg);
  secOff.writeUInt16LE(8, 64 + 56);
  t.type(thrown(() => decodeNegotiateResponse(secOff)), SmbProtocolError, 'security buffer inside header');
  const ctxOff = Buffer.from(msg);
  ctxOff.writeUInt32LE(0x10000, 64 + 60);
  t.type(thrown(() => decodeNegotiateResponse(ctxOff)), SmbProtocolError, 'context offset outside');
  const ctxCount = Buffer.from(msg);
  ctxCount.writeUInt16LE(4, 64 + 6);
  t.type(thrown(() => decodeNegotiateResponse(ctxCount)), SmbProtocolError, 'more contexts than bytes');
  t.type(thrown(() => decodeNegotiateResponse(msg.subarray(0, msg.length - 1))), SmbProtocolError, 'last context cut');
});

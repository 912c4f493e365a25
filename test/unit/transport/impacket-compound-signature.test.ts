/**
 * Captured bytes: why impacket's compounded replies do not verify.
 *
 * The first member of a CREATE+QUERY_INFO+CLOSE compound reply from impacket
 * 0.10 `smbserver.py -smb2support` (dialect 2.0.2, signing enabled but not
 * required), as received: a 64-byte header with NextCommand 160 and
 * SMB2_FLAGS_SIGNED, an 89-byte CREATE response and 7 bytes of padding to the
 * next member. The key is that session's session key (HMAC-SHA256 signing).
 *
 * MS-SMB2 3.1.5.1 signs a compounded message as sent, NextCommand and padding
 * included; impacket signed it before setting NextCommand and appending the
 * padding. The test pins that down, which is why a client that checks this
 * signature (we do under `sign`) must refuse the reply.
 */
import t from 'tap';
import { verifyMessage } from '../../../transport/signing.js';

const key = Buffer.from('498b681b1ffef2bf60474bd5a51c5a03', 'hex');
const reply = Buffer.from(
  'fe534d4240000000000000000500030109000000a0000000040000000000000000000000010000000cee7e3400000000b9f3f8cb1240adfc6b804ce409c12a50' +
    '5900000001000000003954a9d181dd01805680add181dd01003954a9d181dd010000000000000000001000000000000000100000000000001000000000000000' +
    'dd7381344d8e737463f25811813cc32700000000000000000000000000000000',
  'hex',
);

t.equal(reply.length, 160, 'header, CREATE response and padding');
t.equal(reply.readUInt32LE(20), 160, 'NextCommand points past the padding');
t.equal(reply.readUInt32LE(16) & 0x8, 0x8, 'SMB2_FLAGS_SIGNED is set');

t.notOk(verifyMessage('hmac-sha256', key, [reply]), 'the signature does not cover the message as sent (MS-SMB2 3.1.5.1)');

const asSigned = Buffer.from(reply.subarray(0, 64 + 89));
asSigned.writeUInt32LE(0, 20);
t.ok(verifyMessage('hmac-sha256', key, [asSigned]), 'it covers the message with NextCommand 0 and no padding');

for (let len = 64 + 89 + 1; len <= reply.length; len++) {
  const m = Buffer.from(reply.subarray(0, len));
  m.writeUInt32LE(0, 20);
  if (verifyMessage('hmac-sha256', key, [m])) t.fail(`also verifies with ${len - 153} padding bytes`);
}
const keepNext = Buffer.from(reply.subarray(0, 64 + 89));
t.notOk(verifyMessage('hmac-sha256', key, [keepNext]), 'nor without padding but with NextCommand kept');

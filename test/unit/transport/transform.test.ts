/**
 * SMB 3.x encryption against the published vectors of the Microsoft
 * open-specifications blog "SMB 3.1.1 Encryption in Windows 10" (Appendix
 * A.1 AES-128-GCM, A.2 AES-128-CCM: a WRITE request encrypted with the
 * EncryptionKey, a READ response decrypted with the DecryptionKey), plus
 * round trips for the 256-bit ciphers, nonce uniqueness, and tampered or
 * truncated frames.
 */
import t from 'tap';
import { deriveSmb3Keys } from '../../../transport/crypto.js';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Cipher, OFFERED_CIPHERS, SessionCipher, cipherSpec, offeredCiphers } from '../../../transport/transform.js';
import { Dialect } from '../../../transport/types.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Vector {
  name: string;
  cipher: number;
  sessionId: bigint;
  encKey: string;
  decKey: string;
  write: { nonce: string; plain: string; signature: string; encrypted: string };
  readReply: { transformed: string; plain: string };
}

const VECTORS: Vector[] = [
  {
    name: 'AES-128-GCM (A.1)',
    cipher: Cipher.AES_128_GCM,
    sessionId: 0x100000000025n,
    encKey: 'A2F5E80E5D59103034F32E52F698E5EC',
    decKey: '748C50868C90F302962A5C35F5F9A8BF',
    write: {
      nonce: 'C7D6822D269CAF48904C664C',
      plain:
        'FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000' +
        '25000000001000000000000000000000000000000000000031007000170000000000000000000000' +
        '0600000004000000010000000400000000000000000000007000000000000000536D623320656E63' +
        '72797074696F6E2074657374696E67',
      signature: 'BD73D97D2BC9001BCAFAC0FDFF5FEEBC',
      encrypted:
        '6ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02D14EF247F8BDE38ACF6256F8' +
        'B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C014D47C9' +
        'FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E91AF013F00D17E3ABC2FC3D36' +
        'C8C1B6B93973253852DBD442E46EE8',
    },
    readReply: {
      transformed:
        'FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000' +
        '000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C' +
        'BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500' +
        '202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A',
      plain:
        'FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000' +
        '25000000001000000000000000000000000000000000000011005000170000000000000000000000' +
        '536D623320656E6372797074696F6E2074657374696E67',
    },
  },
  {
    name: 'AES-128-CCM (A.2)',
    cipher: Cipher.AES_128_CCM,
    sessionId: 0x100000000021n,
    encKey: 'DFAAA31AAE40A2485D47AC4DF09FDA1D',
    decKey: '95C544AEF6072680DA1CE49A68A97FA6',
    write: {
      nonce: '9F6F1EAAD7E9F24AACD38F',
      plain:
        'FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000' +
        '21000000001000000000000000000000000000000000000031007000170000000000000000000000' +
        '0500000004000000010000000400000000000000000000007000000000000000536D623320656E63' +
        '72797074696F6E2074657374696E67',
      signature: 'E89551D666DAB8993488F5A97103116C',
      encrypted:
        '56A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381AE8689F973ACDB8D716E4477' +
        '803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6E' +
        'FB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024FE8BA79154F340A82740D1D5' +
        '180C69B0A2DE6A4BA893BD55D3210E',
    },
    readReply: {
      transformed:
        'FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000' +
        '00000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606' +
        'BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63' +
        '7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B',
      plain:
        'FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000' +
        '21000000001000000000000000000000000000000000000011005000170000000000000000000000' +
        '536D623320656E6372797074696F6E2074657374696E67',
    },
  },
];

for (const v of VECTORS) {
  t.test(`${v.name}: WRITE request encrypts to the published transform`, async (t) => {
    const c = new SessionCipher(v.cipher, v.sessionId, hex(v.encKey), hex(v.decKey));
    const plain = hex(v.write.plain);
    // As the connection hands it over: header, body, payload in separate fragments.
    const frags = [plain.subarray(0, 64), plain.subarray(64, 112), plain.subarray(112)];
    const out = c.seal(frags, 4, hex(v.write.nonce));
    t.equal(out.length, 4 + 52 + plain.length);
    const th = out.subarray(4, 56);
    t.equal(th.readUInt32LE(0), 0x424d53fd, 'ProtocolId FD SMB');
    t.equal(th.subarray(4, 20).toString('hex').toUpperCase(), v.write.signature, 'Signature = AEAD tag');
    const nonce16 = Buffer.alloc(16);
    hex(v.write.nonce).copy(nonce16);
    t.same(th.subarray(20, 36), nonce16, 'Nonce padded with zeros');
    t.equal(th.readUInt32LE(36), plain.length, 'OriginalMessageSize');
    t.equal(th.readUInt16LE(42), 1, 'Flags Encrypted');
    t.equal(th.readBigUInt64LE(44), v.sessionId, 'SessionId');
    t.equal(out.subarray(56).toString('hex').toUpperCase(), v.write.encrypted, 'ciphertext');
  });

  t.test(`${v.name}: READ response decrypts to the published plaintext`, async (t) => {
    const frame = hex(v.readReply.transformed);
    // The server's keys are the other way round: decrypt with DecryptionKey.
    const c = new SessionCipher(v.cipher, v.sessionId, hex(v.encKey), hex(v.decKey));
    t.equal(c.openFrame(frame).toString('hex').toUpperCase(), v.readReply.plain);
    // Chunk by chunk, split at awkward places.
    const o = c.open(frame.subarray(0, 52), frame.length - 52);
    for (let i = 52; i < frame.length; i += 7) o.update(frame.subarray(i, Math.min(frame.length, i + 7)));
    t.equal(o.final().toString('hex').toUpperCase(), v.readReply.plain, 'streamed in 7-byte chunks');
  });

  t.test(`${v.name}: tampering and truncation are refused`, async (t) => {
    const frame = hex(v.readReply.transformed);
    const c = new SessionCipher(v.cipher, v.sessionId, hex(v.encKey), hex(v.decKey));
    for (const at of [4, 20, 36, 44, 52, frame.length - 1]) {
      const bad = Buffer.from(frame);
      bad[at] = bad[at]! ^ 0x01;
      t.throws(() => c.openFrame(bad), SmbProtocolError, `bit flipped at byte ${at}`);
    }
    t.throws(() => c.openFrame(frame.subarray(0, frame.length - 1)), SmbProtocolError, 'one byte short');
    t.throws(() => c.openFrame(frame.subarray(0, 40)), SmbProtocolError, 'header truncated');
    const o = c.open(frame.subarray(0, 52), frame.length - 52);
    o.update(frame.subarray(52, 60));
    t.throws(() => o.final(), SmbProtocolError, 'final() before all bytes arrived');
    const other = new SessionCipher(v.cipher, v.sessionId + 1n, hex(v.encKey), hex(v.decKey));
    t.throws(() => other.openFrame(frame), SmbProtocolError, 'frame of another session');
  });
}

t.test('3.1.1 key derivation gives the blog\'s encryption keys', async (t) => {
  const hash = hex(
    'B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9' +
      '77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770',
  );
  const k = deriveSmb3Keys(hex('419FDDF34C1E001909D362AE7FB6AF79'), Dialect.SMB3_1_1, hash, 128);
  t.equal(k.encryptionKey.toString('hex').toUpperCase(), 'A2F5E80E5D59103034F32E52F698E5EC');
  t.equal(k.decryptionKey.toString('hex').toUpperCase(), '748C50868C90F302962A5C35F5F9A8BF');
  const k256 = deriveSmb3Keys(hex('419FDDF34C1E001909D362AE7FB6AF79'), Dialect.SMB3_1_1, hash, 256);
  t.equal(k256.encryptionKey.length, 32, '256-bit ciphers get 32-byte keys (L = 256)');
  t.not(k256.encryptionKey.subarray(0, 16).toString('hex'), k.encryptionKey.toString('hex'), 'L is part of the KDF input');
});

t.test('round trips for every cipher, messages of many sizes and fragmentings', async (t) => {
  t.same(OFFERED_CIPHERS, [Cipher.AES_128_GCM, Cipher.AES_128_CCM, Cipher.AES_256_GCM, Cipher.AES_256_CCM]);
  for (const id of OFFERED_CIPHERS) {
    const spec = cipherSpec(id);
    const kb = spec.keyBits / 8;
    const a = Buffer.alloc(kb, 0x11);
    const b = Buffer.alloc(kb, 0x22);
    // Client side encrypts with a; the "server" decrypts with a (its DecryptionKey is our EncryptionKey).
    const client = new SessionCipher(id, 7n, a, b);
    const server = new SessionCipher(id, 7n, b, a);
    for (const len of [64, 65, 1000, 65536 + 64, 1 << 20]) {
      const msg = Buffer.alloc(len);
      for (let i = 0; i < len; i++) msg[i] = (i * 31 + len) & 0xff;
      const frags = [msg.subarray(0, 64), msg.subarray(64, Math.min(len, 100)), msg.subarray(Math.min(len, 100))];
      const out = client.seal(frags, 4);
      const frame = out.subarray(4);
      t.same(server.openFrame(frame), msg, `${spec.name} ${len} bytes`);
      const o = server.open(frame.subarray(0, 52), len);
      for (let i = 52; i < frame.length; i += 40000) o.update(frame.subarray(i, Math.min(frame.length, i + 40000)));
      t.ok(o.final().equals(msg), `${spec.name} ${len} bytes streamed`);
    }
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) nonces.add(client.nextNonce().toString('hex'));
    t.equal(nonces.size, 1000, `${spec.name}: nonces do not repeat`);
    t.equal(client.nextNonce().length, spec.nonceBytes, `${spec.name}: nonce of ${spec.nonceBytes} bytes`);
    const frame = client.seal([Buffer.alloc(100, 1)]);
    const bad = Buffer.from(frame);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x80;
    t.throws(() => server.openFrame(bad), SmbProtocolError, `${spec.name}: tampered ciphertext refused`);
    t.throws(() => new SessionCipher(id, 1n, Buffer.alloc(kb === 16 ? 32 : 16), b), RangeError, 'wrong key length');
  }
  t.throws(() => cipherSpec(9), SmbProtocolError);
});

t.test('SMBFUSE_TEST_CIPHERS narrows the offer (benchmarks)', async (t) => {
  t.same(offeredCiphers({}), OFFERED_CIPHERS);
  t.same(offeredCiphers({ SMBFUSE_TEST_CIPHERS: 'aes-256-gcm' }), [Cipher.AES_256_GCM]);
  t.same(offeredCiphers({ SMBFUSE_TEST_CIPHERS: 'AES-128-CCM, aes-256-ccm' }), [Cipher.AES_128_CCM, Cipher.AES_256_CCM]);
  t.throws(() => offeredCiphers({ SMBFUSE_TEST_CIPHERS: 'des' }), RangeError);
});

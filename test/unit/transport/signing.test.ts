/**
 * transport/signing.ts.
 *
 * Published vector: the final SESSION_SETUP response of the SMB 3.1.1
 * example in the appendix of Microsoft's Open Specifications blog post "SMB
 * 2 and SMB 3 security in Windows 10: the anatomy of signing and
 * cryptographic keys" is signed with AES-CMAC under the SigningKey that
 * the same appendix derives (73FE7A9A…); its signature field holds
 * EBE146DA120BA25FC3376A49DFE31BC1.
 *
 * No published vector was found for HMAC-SHA256 or AES-GMAC SMB signing:
 * those are checked against an independent computation on the whole
 * concatenated message (Node's HMAC / AES-GCM with the nonce built by hand),
 * plus round trips and tamper detection.
 */
import t from 'tap';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  computeSignature,
  defaultSigningAlgo,
  gmacNonce,
  signingAlgoFromId,
  SigningAlgorithmId,
  signMessage,
  verifyMessage,
  type SigningAlgo,
} from '../../../transport/signing.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const BLOG_RESPONSE = hex(
  'FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000' +
    '1900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00A11B3019A0030A01' +
    '00A3120410010000003B453CDC3524164200000000',
);
const BLOG_SIGNING_KEY = hex('73FE7A9A77BEF0BDE49C650D8CCB5F76');

t.test('blog 3.1.1 SESSION_SETUP response verifies with AES-CMAC', async (t) => {
  t.ok(verifyMessage('aes-cmac', BLOG_SIGNING_KEY, [Buffer.from(BLOG_RESPONSE)]));
  t.equal(computeSignature('aes-cmac', BLOG_SIGNING_KEY, [BLOG_RESPONSE]).toString('hex'), 'ebe146da120ba25fc3376a49dfe31bc1');
  // Split across fragments at every point after the header.
  for (let cut = 64; cut <= BLOG_RESPONSE.length; cut++) {
    const frags = [BLOG_RESPONSE.subarray(0, cut), BLOG_RESPONSE.subarray(cut)];
    if (!verifyMessage('aes-cmac', BLOG_SIGNING_KEY, frags)) t.fail(`cut at ${cut}`);
  }
  // Re-signing a copy with the field cleared writes the same bytes back.
  const copy = Buffer.from(BLOG_RESPONSE);
  copy.fill(0, 48, 64);
  signMessage('aes-cmac', BLOG_SIGNING_KEY, [copy.subarray(0, 72), copy.subarray(72)]);
  t.ok(copy.equals(BLOG_RESPONSE), 'signMessage writes the signature at offset 48 of fragments[0]');
  // Any flipped bit fails.
  for (let i = 0; i < BLOG_RESPONSE.length * 8; i += 5) {
    const bad = Buffer.from(BLOG_RESPONSE);
    bad[i >> 3] = bad[i >> 3]! ^ (1 << (i & 7));
    if (verifyMessage('aes-cmac', BLOG_SIGNING_KEY, [bad])) t.fail(`bit ${i} flip not detected`);
  }
});

/** A fake request: header with MessageId and flags, then a body. */
function makeMessage(messageId: bigint, flags: number, command: number, body: Buffer): Buffer[] {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0xfe534d42, 0);
  h.writeUInt16LE(64, 4);
  h.writeUInt16LE(command, 12);
  h.writeUInt32LE(flags | 0x8, 16);
  h.writeBigUInt64LE(messageId, 24);
  h.writeBigUInt64LE(0x100000000019n, 40);
  return [h, body.subarray(0, 10), body.subarray(10)];
}

t.test('HMAC-SHA256 equals HMAC of the concatenated message, truncated', async (t) => {
  const key = randomBytes(16);
  const msg = makeMessage(7n, 0, 0x0008, randomBytes(1000));
  const sig = signMessage('hmac-sha256', key, msg);
  const whole = Buffer.concat(msg);
  whole.fill(0, 48, 64);
  t.equal(sig.toString('hex'), createHmac('sha256', key).update(whole).digest().subarray(0, 16).toString('hex'));
  t.ok(verifyMessage('hmac-sha256', key, msg));
});

t.test('AES-GMAC equals AES-GCM with the nonce built by hand and the message as AAD', async (t) => {
  const key = randomBytes(16);
  const cases: Array<[bigint, number, number, string]> = [
    [0x0102030405060708n, 0, 0x0008, '0807060504030201' + '00000000'],
    [5n, 1, 0x0008, '0500000000000000' + '01000000'],
    [9n, 0, 0x000c, '0900000000000000' + '02000000'],
    [9n, 1, 0x000c, '0900000000000000' + '03000000'],
  ];
  for (const [mid, flags, cmd, nonceHex] of cases) {
    const msg = makeMessage(mid, flags, cmd, randomBytes(77));
    t.equal(gmacNonce(msg[0]!).toString('hex'), nonceHex, `nonce mid=${mid} flags=${flags} cmd=${cmd}`);
    const sig = signMessage('aes-gmac', key, msg);
    const whole = Buffer.concat(msg);
    whole.fill(0, 48, 64);
    const gcm = createCipheriv('aes-128-gcm', key, hex(nonceHex));
    gcm.setAAD(whole);
    gcm.final();
    t.equal(sig.toString('hex'), gcm.getAuthTag().toString('hex'), 'tag');
  }
});

t.test('round trip and tamper detection, every algorithm', async (t) => {
  const algos: SigningAlgo[] = ['hmac-sha256', 'aes-cmac', 'aes-gmac'];
  for (const algo of algos) {
    const key = randomBytes(16);
    const msg = makeMessage(42n, 0, 0x0009, randomBytes(300));
    signMessage(algo, key, msg);
    t.ok(verifyMessage(algo, key, msg), `${algo} verifies`);
    const flipped = msg.map((b) => Buffer.from(b));
    flipped[2]![5] = flipped[2]![5]! ^ 0x01;
    t.notOk(verifyMessage(algo, key, flipped), `${algo}: flipped payload bit fails`);
    const hdr = msg.map((b) => Buffer.from(b));
    hdr[0]![24] = hdr[0]![24]! ^ 0x01; // MessageId
    t.notOk(verifyMessage(algo, key, hdr), `${algo}: changed MessageId fails`);
    const sig = msg.map((b) => Buffer.from(b));
    sig[0]![63] = sig[0]![63]! ^ 0x80;
    t.notOk(verifyMessage(algo, key, sig), `${algo}: changed signature fails`);
    t.notOk(verifyMessage(algo, randomBytes(16), msg), `${algo}: wrong key fails`);
  }
});

t.test('a response with the same bytes but the server flag signs differently under GMAC', async (t) => {
  const key = randomBytes(16);
  const body = randomBytes(40);
  const a = computeSignature('aes-gmac', key, makeMessage(3n, 0, 8, body));
  const b = computeSignature('aes-gmac', key, makeMessage(3n, 0, 8, body));
  t.ok(a.equals(b));
  const msg = makeMessage(3n, 0, 8, body);
  signMessage('aes-gmac', key, msg);
  const asResponse = msg.map((x) => Buffer.from(x));
  asResponse[0]!.writeUInt32LE(asResponse[0]!.readUInt32LE(16) | 1, 16);
  t.notOk(verifyMessage('aes-gmac', key, asResponse));
});

t.test('ids, defaults and argument checks', async (t) => {
  t.equal(SigningAlgorithmId.HMAC_SHA256, 0);
  t.equal(SigningAlgorithmId.AES_CMAC, 1);
  t.equal(SigningAlgorithmId.AES_GMAC, 2);
  t.equal(signingAlgoFromId(2), 'aes-gmac');
  t.throws(() => signingAlgoFromId(3));
  t.equal(defaultSigningAlgo(0x0210), 'hmac-sha256');
  t.equal(defaultSigningAlgo(0x0300), 'aes-cmac');
  t.throws(() => computeSignature('aes-cmac', randomBytes(16), [Buffer.alloc(63)]));
  t.throws(() => computeSignature('aes-cmac', randomBytes(16), []));
});

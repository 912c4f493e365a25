/**
 * transport/crypto.ts against published vectors:
 *  - RFC 4493 section 4 (AES-CMAC subkeys and all four examples);
 *  - RFC 4231 test case 2 (HMAC-SHA256);
 *  - Microsoft Open Specifications blog, "SMB 2 and SMB 3 security in
 *    Windows 10: the anatomy of signing and cryptographic keys", appendix
 *    "Key derivation examples" (SP800-108 keys for 3.0 and 3.1.1, and the
 *    3.1.1 pre-authentication hash chain).
 */
import t from 'tap';
import {
  aesCmac,
  cmacSubkeys,
  deriveSmb3Keys,
  hmacSha256,
  PREAUTH_HASH_INITIAL,
  preauthHashUpdate,
  sp800108Kdf,
} from '../../../transport/crypto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const CMAC_KEY = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
const CMAC_MSG = hex(
  '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51' +
    '30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
);
const CMAC_EXAMPLES: Array<[number, string]> = [
  [0, 'bb1d6929 e9593728 7fa37d12 9b756746'],
  [16, '070a16b4 6b4d4144 f79bdd9d d04a287c'],
  [40, 'dfa66747 de9ae630 30ca3261 1497c827'],
  [64, '51f0bebf 7e3b9d92 fc497417 79363cfe'],
];

t.test('RFC 4493 subkeys', async (t) => {
  const { k1, k2 } = cmacSubkeys(CMAC_KEY);
  t.equal(k1.toString('hex'), 'fbeed618357133667c85e08f7236a8de');
  t.equal(k2.toString('hex'), 'f7ddac306ae266ccf90bc11ee46d513b');
});

t.test('RFC 4493 examples 1-4, one part', async (t) => {
  for (const [len, mac] of CMAC_EXAMPLES) {
    t.equal(aesCmac(CMAC_KEY, [CMAC_MSG.subarray(0, len)]).toString('hex'), hex(mac).toString('hex'), `len ${len}`);
  }
});

t.test('RFC 4493 examples split into parts at every position', async (t) => {
  for (const [len, mac] of CMAC_EXAMPLES) {
    const msg = CMAC_MSG.subarray(0, len);
    for (let a = 0; a <= len; a++) {
      for (let b = a; b <= len; b += 7) {
        const got = aesCmac(CMAC_KEY, [msg.subarray(0, a), msg.subarray(a, b), Buffer.alloc(0), msg.subarray(b)]);
        if (!got.equals(hex(mac))) t.fail(`len ${len} split ${a}/${b}`);
      }
    }
    // Byte-at-a-time.
    const bytes = Array.from(msg, (_, i) => msg.subarray(i, i + 1));
    t.equal(aesCmac(CMAC_KEY, bytes).toString('hex'), hex(mac).toString('hex'), `len ${len} one byte per part`);
  }
  t.equal(aesCmac(CMAC_KEY, []).toString('hex'), hex(CMAC_EXAMPLES[0]![1]).toString('hex'), 'no parts = empty message');
});

t.test('RFC 4231 test case 2 (HMAC-SHA256), whole and in parts', async (t) => {
  const want = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
  const key = Buffer.from('Jefe');
  t.equal(hmacSha256(key, Buffer.from('what do ya want for nothing?')).toString('hex'), want);
  t.equal(hmacSha256(key, Buffer.from('what do ya '), Buffer.from('want for nothing?')).toString('hex'), want);
});

// Blog appendix, "Key derivation example for SMB 3.0 multichannel".
t.test('SMB 3.0 keys (blog appendix)', async (t) => {
  const k = deriveSmb3Keys(hex('7CD451825D0450D235424E44BA6E78CC'), 0x0300, null, 128);
  t.equal(k.signingKey.toString('hex'), hex('0B7E9C5CAC36C0F6EA9AB275298CEDCE').toString('hex'), 'SigningKey');
  t.equal(k.encryptionKey.toString('hex'), hex('FAD27796665B313EBB578F388632B4F7').toString('hex'), 'EncryptionKey');
  t.equal(k.decryptionKey.toString('hex'), hex('B0F0427F7CEB416D1D9DCC0CD4F99447').toString('hex'), 'DecryptionKey');
  t.equal(k.applicationKey.toString('hex'), hex('BB23A4575AA26C721AF525AF15A87B4F').toString('hex'), 'ApplicationKey');
  // Second channel: only the signing key is new.
  const k2 = deriveSmb3Keys(hex('4E01A2B313BCF660CC250BEF021AEDE6'), 0x0302, null);
  t.equal(k2.signingKey.toString('hex'), hex('BA1A17DBBFEC349BCA105563D598952F').toString('hex'), 'second channel SigningKey');
  // The same key through the raw KDF with the spec's strings.
  const raw = sp800108Kdf(hex('7CD451825D0450D235424E44BA6E78CC'), Buffer.from('SMB2AESCMAC\0'), Buffer.from('SmbSign\0'));
  t.equal(raw.toString('hex'), hex('0B7E9C5CAC36C0F6EA9AB275298CEDCE').toString('hex'), 'raw KDF');
});

const PREAUTH_311 = hex(
  '0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97' +
    '51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01',
);

// Blog appendix, "Key derivation example for SMB 3.1.1 multichannel".
t.test('SMB 3.1.1 keys (blog appendix)', async (t) => {
  const k = deriveSmb3Keys(hex('270E1BA896585EEB7AF3472D3B4C75A7'), 0x0311, PREAUTH_311, 128);
  t.equal(k.signingKey.toString('hex'), hex('73FE7A9A77BEF0BDE49C650D8CCB5F76').toString('hex'), 'SigningKey');
  t.equal(k.encryptionKey.toString('hex'), hex('629BCBC54422A0F572B97F45989B6073').toString('hex'), 'EncryptionKey');
  t.equal(k.decryptionKey.toString('hex'), hex('E2AF0DCEFAC68DA71A0DFBD0D1350D74').toString('hex'), 'DecryptionKey');
  t.equal(k.applicationKey.toString('hex'), hex('6D7AD7954E9EC61E907B4D473DC178FF').toString('hex'), 'ApplicationKey');
  t.throws(() => deriveSmb3Keys(hex('270E1BA896585EEB7AF3472D3B4C75A7'), 0x0311, null), 'needs the preauth hash');
});

t.test('AES-256 cipher keys: 32 bytes; signing and application keys unchanged', async (t) => {
  const sk = hex('270E1BA896585EEB7AF3472D3B4C75A7');
  const k = deriveSmb3Keys(sk, 0x0311, PREAUTH_311, 256);
  t.equal(k.encryptionKey.length, 32);
  t.equal(k.decryptionKey.length, 32);
  t.equal(k.signingKey.toString('hex'), hex('73FE7A9A77BEF0BDE49C650D8CCB5F76').toString('hex'));
  // Counter mode with L=256: one HMAC block, [L] = 0x00000100 (independent
  // computation straight from the SP800-108 definition).
  const want = hmacSha256(sk, hex('00000001'), Buffer.from('SMBC2SCipherKey\0'), hex('00'), PREAUTH_311, hex('00000100'));
  t.equal(k.encryptionKey.toString('hex'), want.toString('hex'));
  // L=384 takes two blocks, i=1 and i=2.
  const two = sp800108Kdf(sk, Buffer.from('L\0'), Buffer.from('C\0'), 384);
  const b1 = hmacSha256(sk, hex('00000001'), Buffer.from('L\0'), hex('00'), Buffer.from('C\0'), hex('00000180'));
  const b2 = hmacSha256(sk, hex('00000002'), Buffer.from('L\0'), hex('00'), Buffer.from('C\0'), hex('00000180'));
  t.equal(two.toString('hex'), Buffer.concat([b1, b2]).subarray(0, 48).toString('hex'));
});

t.test('dialects 2.x: the session key signs, nothing is derived', async (t) => {
  const sk = hex('00112233445566778899aabbccddeeff');
  const k = deriveSmb3Keys(sk, 0x0210, null);
  t.equal(k.signingKey.toString('hex'), sk.toString('hex'));
  t.equal(k.encryptionKey.length, 0);
});

// Blog appendix, SMB 3.1.1 master session: NEGOTIATE request and first
// SESSION_SETUP request with the hash values before and after.
t.test('pre-authentication integrity hash chain (blog appendix)', async (t) => {
  const negotiateRequest = hex(
    'FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000' +
      '00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32' +
      '6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000' +
      '010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000' +
      '0200060000000000020002000100',
  );
  const afterNegotiate = preauthHashUpdate(PREAUTH_HASH_INITIAL, negotiateRequest);
  t.equal(
    afterNegotiate.toString('hex'),
    hex(
      'DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0' +
        'CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426',
    ).toString('hex'),
  );
  const before = hex(
    '324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99' +
      '7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513',
  );
  const sessionSetup = hex(
    'FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000' +
      '00000000000000000000000000000000000000000000000019000001010000000000000058004A00' +
      '0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A' +
      '04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000' +
      '000F',
  );
  const want = hex(
    'AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33' +
      '197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9',
  ).toString('hex');
  t.equal(preauthHashUpdate(before, sessionSetup).toString('hex'), want);
  t.equal(preauthHashUpdate(before, [sessionSetup.subarray(0, 64), sessionSetup.subarray(64)]).toString('hex'), want, 'fragments');
});

/**
 * transport/spnego.ts.
 *
 * Real tokens come from the SMB 3.1.1 exchange published in the appendix
 * of Microsoft's Open Specifications blog post "SMB 2 and SMB 3 security in
 * Windows 10: the anatomy of signing and cryptographic keys" (Windows 10
 * client and server). The NEGOTIATE response packet is checked against
 * the blog's pre-auth hash chain so the transcription is known good; the
 * smaller tokens are re-encoded byte for byte by our encoders.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  encodeOid,
  NTLMSSP_OID,
  SpnegoError,
  unwrapNegToken,
  wrapNegTokenInit,
  wrapNegTokenResp,
} from '../../../transport/spnego.js';
import { preauthHashUpdate } from '../../../transport/crypto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h = (b: Buffer | undefined): string => (b === undefined ? 'undefined' : b.toString('hex'));

const NTLM_NEGOTIATE = hex('4E544C4D5353500001000000978208E200000000000000000000000000000000060380250000000F');
/** SESSION_SETUP request 1 security buffer (Windows client). */
const WIN_INIT = Buffer.concat([
  hex('604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A0428'),
  NTLM_NEGOTIATE,
]);
/** SESSION_SETUP response 1 security buffer (Windows server, NTLM CHALLENGE). */
const NTLM_CHALLENGE = hex(
  '4E544C4D53535000020000000C000C003800000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53' +
    '005500540033003100310002000C0053005500540033003100310001000C00530055005400330031' +
    '00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1' +
    'A1F5ADCBAED00100000000',
);
const WIN_RESP1 = Buffer.concat([hex('A181B03081ADA0030A0101A10C060A2B06010401823702020AA281970481 94'), NTLM_CHALLENGE]);
/** Final SESSION_SETUP response security buffer. */
const WIN_RESP_DONE = hex('A11B3019A0030A0100A3120410010000003B453CDC3524164200000000');

/** NEGOTIATE response of the blog's 3.1.1 example (server's NegTokenInit, NEGOEX + NTLMSSP). */
const NEGOTIATE_RESPONSE = hex(
  'FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000' +
    '000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942' +
    'BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001' +
    '80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182' +
    '3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000' +
    '60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51' +
    'FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000' +
    '5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000' +
    '7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000' +
    '3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562' +
    '6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075' +
    '626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4' +
    '83CA5B65385A251117BEB30712E50000020004000000000001000200',
);
const SERVER_INIT = NEGOTIATE_RESPONSE.subarray(0x80, 0x80 + 0x140);

t.test('fixture check: NEGOTIATE response matches the blog pre-auth hash', async (t) => {
  const before = hex(
    'DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0' +
      'CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426',
  );
  t.equal(
    h(preauthHashUpdate(before, NEGOTIATE_RESPONSE)),
    h(
      hex(
        '324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99' +
          '7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513',
      ),
    ),
  );
  t.equal(NEGOTIATE_RESPONSE.readUInt16LE(64 + 56), 0x80, 'SecurityBufferOffset');
  t.equal(NEGOTIATE_RESPONSE.readUInt16LE(64 + 58), 0x140, 'SecurityBufferLength');
});

t.test("server's NegTokenInit from the NEGOTIATE response", async (t) => {
  const tok = unwrapNegToken(SERVER_INIT);
  t.same(tok.mechTypes, ['1.3.6.1.4.1.311.2.2.30', NTLMSSP_OID]);
  t.equal(tok.mechToken?.subarray(0, 8).toString('latin1'), 'NEGOEXTS');
  t.equal(tok.mechToken?.length, 0x108);
});

t.test('wrapNegTokenInit reproduces the Windows client token', async (t) => {
  t.equal(h(wrapNegTokenInit(NTLM_NEGOTIATE)), h(WIN_INIT));
  const tok = unwrapNegToken(WIN_INIT);
  t.same(tok.mechTypes, [NTLMSSP_OID]);
  t.equal(h(tok.mechToken), h(NTLM_NEGOTIATE));
});

t.test('NegTokenResp with the CHALLENGE', async (t) => {
  const tok = unwrapNegToken(WIN_RESP1);
  t.equal(tok.negState, 1);
  t.equal(tok.supportedMech, NTLMSSP_OID);
  t.equal(h(tok.mechToken), h(NTLM_CHALLENGE));
});

t.test('wrapNegTokenResp reproduces the Windows AUTHENTICATE token (negState and mechListMIC given)', async (t) => {
  const auth = randomBytes(0x1a6);
  auth.write('NTLMSSP\0', 'latin1');
  const mic = hex('0100000063775A9A5FD97F0600000000');
  const want = Buffer.concat([hex('A18201CB308201C7A0030A0101A28201AA048201A6'), auth, hex('A3120410'), mic]);
  t.equal(h(wrapNegTokenResp(auth, { negState: 1, mechListMIC: mic })), h(want));
  const back = unwrapNegToken(want);
  t.equal(back.negState, 1);
  t.equal(h(back.mechToken), h(auth));
  t.equal(h(back.mechListMIC), h(mic));
  // Default: responseToken only.
  const plain = wrapNegTokenResp(auth);
  const p = unwrapNegToken(plain);
  t.equal(p.negState, undefined);
  t.equal(p.mechListMIC, undefined);
  t.equal(h(p.mechToken), h(auth));
});

t.test('final NegTokenResp: accept-completed with a mechListMIC', async (t) => {
  const tok = unwrapNegToken(WIN_RESP_DONE);
  t.equal(tok.negState, 0);
  t.equal(tok.mechToken, undefined);
  t.equal(h(tok.mechListMIC), '010000003b453cdc3524164200000000');
});

t.test('raw NTLMSSP passes through', async (t) => {
  t.equal(h(unwrapNegToken(NTLM_CHALLENGE).mechToken), h(NTLM_CHALLENGE));
});

t.test('NegTokenInit with negHints (as Samba sends) and reqFlags is accepted', async (t) => {
  const hint = Buffer.from('not_defined_in_RFC4178@please_ignore', 'latin1');
  const der = (tag: number, ...c: Buffer[]): Buffer => {
    const b = Buffer.concat(c);
    return Buffer.concat([Buffer.from([tag]), b.length < 128 ? Buffer.from([b.length]) : Buffer.from([0x81, b.length]), b]);
  };
  const init = der(
    0x60,
    encodeOid('1.3.6.1.5.5.2'),
    der(
      0xa0,
      der(
        0x30,
        der(0xa0, der(0x30, encodeOid('1.2.840.48018.1.2.2'), encodeOid(NTLMSSP_OID))),
        der(0xa1, hex('03020000')),
        der(0xa3, der(0x30, der(0xa0, der(0x1b, hint)))),
      ),
    ),
  );
  const tok = unwrapNegToken(init);
  t.same(tok.mechTypes, ['1.2.840.48018.1.2.2', NTLMSSP_OID]);
  t.equal(tok.mechToken, undefined);
});

t.test('OID encoding', async (t) => {
  t.equal(h(encodeOid(NTLMSSP_OID)), '060a2b06010401823702020a');
  t.equal(h(encodeOid('1.3.6.1.5.5.2')), '06062b0601050502');
  t.throws(() => encodeOid('x.1'), SpnegoError);
});

/** Asserts that parsing throws SpnegoError (and nothing else) or succeeds. */
function parsesOrSpnegoError(buf: Buffer): 'ok' | 'error' {
  try {
    unwrapNegToken(buf);
    return 'ok';
  } catch (e) {
    if (e instanceof SpnegoError && e.code === 'SMB_ERR_AUTH') return 'error';
    throw e;
  }
}

t.test('truncation at every length throws SpnegoError', async (t) => {
  for (const [name, tok] of [
    ['client init', WIN_INIT],
    ['server init', SERVER_INIT],
    ['resp challenge', WIN_RESP1],
    ['resp done', WIN_RESP_DONE],
  ] as const) {
    let bad = 0;
    for (let len = 0; len < tok.length; len++) {
      if (parsesOrSpnegoError(tok.subarray(0, len)) !== 'error') bad++;
    }
    t.equal(bad, 0, `${name}: every truncation rejected`);
    t.equal(parsesOrSpnegoError(Buffer.concat([tok, Buffer.from([0])])), 'error', `${name}: trailing byte rejected`);
  }
});

t.test('specific malformations', async (t) => {
  t.throws(() => unwrapNegToken(hex('a18400000001')), SpnegoError, 'length past end');
  t.throws(() => unwrapNegToken(hex('a180')), SpnegoError, 'indefinite length');
  t.throws(() => unwrapNegToken(hex('a185000000000000')), SpnegoError, 'five length bytes');
  t.throws(() => unwrapNegToken(hex('a1053003a00500')), SpnegoError, 'inner element longer than its container');
  t.throws(() => unwrapNegToken(hex('6008060228010a03300100')), SpnegoError, 'GSS token for another mechanism');
  t.throws(() => unwrapNegToken(hex('a2023000')), SpnegoError, 'unknown choice');
  t.throws(() => unwrapNegToken(hex('a0053003a00101')), SpnegoError, 'mechTypes not a SEQUENCE');
  t.throws(() => unwrapNegToken(hex('a0083006a0043002068f')), SpnegoError, 'truncated OID arc');
  t.throws(() => unwrapNegToken(Buffer.alloc(0)), SpnegoError, 'empty');
});

t.test('random corruption never throws anything but SpnegoError', async (t) => {
  const toks = [WIN_INIT, SERVER_INIT, WIN_RESP1, WIN_RESP_DONE];
  let seen = 0;
  for (let i = 0; i < 3000; i++) {
    const src = toks[i % toks.length]!;
    const b = Buffer.from(src);
    const flips = 1 + (i % 4);
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(Math.random() * b.length);
      b[at] = Math.floor(Math.random() * 256);
    }
    parsesOrSpnegoError(b);
    seen++;
  }
  t.equal(seen, 3000);
});

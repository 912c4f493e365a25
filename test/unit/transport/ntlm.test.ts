/**
 * transport/ntlm.ts against published vectors:
 *  - MS-NLMP 4.2.4 (NTLMv2 authentication): common values of 4.2.1, the
 *    CHALLENGE_MESSAGE of 4.2.4.3, NTOWFv2 (4.2.4.1.1), session base key
 *    (4.2.4.1.2), temp (4.2.4.1.3), LMv2 and NTLMv2 responses (4.2.4.2.1-2)
 *    and the encrypted session key (4.2.4.2.3);
 *  - Microsoft Open Specifications blog "SMB 2 and SMB 3 security in
 *    Windows 10: the anatomy of signing and cryptographic keys", appendix
 *    "NTLMv2 SessionKey calculation example": a Windows NEGOTIATE /
 *    CHALLENGE / AUTHENTICATE exchange with its password, NTOWFv2,
 *    NTProofStr, KeyExchangeKey, ExportedSessionKey and MIC. The SMB2
 *    packets carrying them are checked against the blog's pre-auth hash
 *    chain first, so a transcription error cannot go unnoticed.
 */
import t from 'tap';
import { createHmac } from 'node:crypto';
import {
  AvId,
  computeMic,
  computeNtlmv2Response,
  decodeChallenge,
  encodeAuthenticate,
  encodeNegotiate,
  NtlmError,
  NtlmFlag,
  ntowfv1,
  ntowfv2,
  parseAvPairs,
  rc4,
} from '../../../transport/ntlm.js';
import { preauthHashUpdate } from '../../../transport/crypto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h = (b: Buffer): string => b.toString('hex');

/** Reads an AUTHENTICATE (Len, MaxLen, Offset) field. */
function field(msg: Buffer, at: number): Buffer {
  const len = msg.readUInt16LE(at);
  const off = msg.readUInt32LE(at + 4);
  return msg.subarray(off, off + len);
}

// ---- MS-NLMP 4.2.4 ----------------------------------------------------

const SERVER_CHALLENGE = hex('0123456789abcdef');
const CLIENT_CHALLENGE = hex('aaaaaaaaaaaaaaaa');
const TIME = Buffer.alloc(8);
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);
/** 4.2.4.3 CHALLENGE_MESSAGE. */
const SPEC_CHALLENGE = hex(
  '4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef' +
    '00000000000000002400240044000000060070170000000f5300650072007600' +
    '6500720002000c0044006f006d00610069006e0001000c005300650072007600' +
    '6500720000000000',
);
/** 4.2.4.1.3 temp. */
const SPEC_TEMP = hex(
  '0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000' +
    '02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000 00000000',
);

t.test('MS-NLMP 4.2.4.1.1 NTOWFv2 (and 4.2.2.1.2 NTOWFv1)', async (t) => {
  t.equal(h(ntowfv1('Password')), 'a4f49c406510bdcab6824ee7c30fd852');
  t.equal(h(ntowfv2('Password', 'User', 'Domain')), '0c868a403bfd7a93a3001ef22ef02e3f');
});

t.test('MS-NLMP 4.2.4.3 CHALLENGE decodes', async (t) => {
  const c = decodeChallenge(SPEC_CHALLENGE);
  t.equal(c.flags >>> 0, 0xe28a8233);
  t.equal(h(c.serverChallenge), h(SERVER_CHALLENGE));
  t.equal(c.targetName, 'Server');
  t.equal(c.timestamp, undefined);
  t.same(
    parseAvPairs(c.targetInfo).map((p) => [p.id, p.value.toString('utf16le')]),
    [
      [AvId.MsvAvNbDomainName, 'Domain'],
      [AvId.MsvAvNbComputerName, 'Server'],
    ],
  );
});

t.test('MS-NLMP 4.2.4.1-2 responses and keys', async (t) => {
  const key = ntowfv2('Password', 'User', 'Domain');
  const c = decodeChallenge(SPEC_CHALLENGE);
  const r = computeNtlmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE, TIME, c.targetInfo);
  t.equal(h(r.ntProofStr), '68cd0ab851e51c96aabc927bebef6a1c', '4.2.4.2.2 NTProofStr');
  t.equal(h(r.ntChallengeResponse), '68cd0ab851e51c96aabc927bebef6a1c' + h(SPEC_TEMP), 'NTProofStr || temp (4.2.4.1.3)');
  t.equal(h(r.lmChallengeResponse), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa', '4.2.4.2.1 LMv2');
  t.equal(h(r.sessionBaseKey), '8de40ccadbc14a82f15cb0ad0de95ca3', '4.2.4.1.2 session base key');
  t.equal(h(rc4(r.sessionBaseKey, RANDOM_SESSION_KEY)), 'c5dad2544fc9799094ce1ce90bc9d03e', '4.2.4.2.3 encrypted session key');
});

t.test('MS-NLMP 4.2.4 AUTHENTICATE from encodeAuthenticate with the fixed inputs', async (t) => {
  const { message, sessionKey } = encodeAuthenticate({
    challenge: decodeChallenge(SPEC_CHALLENGE),
    username: 'User',
    password: 'Password',
    domain: 'Domain',
    workstation: 'COMPUTER',
    clientChallenge: CLIENT_CHALLENGE,
    timestamp: TIME,
    exportedSessionKey: RANDOM_SESSION_KEY,
  });
  t.equal(message.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
  t.equal(message.readUInt32LE(8), 3);
  t.equal(h(field(message, 12)), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa', 'LmChallengeResponse');
  t.equal(h(field(message, 20)), '68cd0ab851e51c96aabc927bebef6a1c' + h(SPEC_TEMP), 'NtChallengeResponse');
  t.equal(field(message, 28).toString('utf16le'), 'Domain');
  t.equal(field(message, 36).toString('utf16le'), 'User');
  t.equal(field(message, 44).toString('utf16le'), 'COMPUTER');
  t.equal(h(field(message, 52)), 'c5dad2544fc9799094ce1ce90bc9d03e', 'EncryptedRandomSessionKey');
  t.equal(h(sessionKey), h(RANDOM_SESSION_KEY), 'exported session key');
  t.equal(h(message.subarray(72, 88)), '00'.repeat(16), 'no MIC without MsvAvTimestamp');
  const flags = message.readUInt32LE(60);
  t.ok(flags & NtlmFlag.NEGOTIATE_KEY_EXCH && flags & NtlmFlag.NEGOTIATE_UNICODE && flags & NtlmFlag.NEGOTIATE_EXTENDED_SESSIONSECURITY);
});

// ---- Blog: Windows exchange (SMB 3.1.1 master session) ----------------

/** SESSION_SETUP response 1 (STATUS_MORE_PROCESSING_REQUIRED, NTLM CHALLENGE). */
const BLOG_SS_RESP1 = hex(
  'FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000' +
    '190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003' +
    '0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038' +
    '00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53' +
    '005500540033003100310002000C0053005500540033003100310001000C00530055005400330031' +
    '00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1' +
    'A1F5ADCBAED00100000000',
);
/** SESSION_SETUP request 2 (NTLM AUTHENTICATE). */
const BLOG_SS_REQ2 = hex(
  'FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000' +
    '1900000000100000000000000000000000000000000000001900000101000000000000005800CF01' +
    '0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000' +
    '001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000' +
    '001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055' +
    '005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049' +
    '0056004500520033003100310000000000000000000000000000000000000000000000000063078E' +
    'B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000' +
    '0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055' +
    '00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004' +
    '00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B' +
    '8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016' +
    '0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F' +
    '5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000',
);
/** NTLM NEGOTIATE inside SESSION_SETUP request 1. */
const BLOG_NEGOTIATE = hex('4E544C4D5353500001000000978208E200000000000000000000000000000000060380250000000F');

/** The NTLM token inside an SMB2 packet: from "NTLMSSP\0", `len` bytes. */
function ntlmIn(packet: Buffer, len: number): Buffer {
  const at = packet.indexOf(Buffer.from('NTLMSSP\0', 'latin1'));
  return packet.subarray(at, at + len);
}

t.test('blog packets match the published pre-auth hash chain (fixture check)', async (t) => {
  const h1 = preauthHashUpdate(
    hex(
      'AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33' +
        '197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9',
    ),
    BLOG_SS_RESP1,
  );
  t.equal(
    h(h1),
    h(
      hex(
        '2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B8835740A7376008563336' +
          '4C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387',
      ),
    ),
  );
  t.equal(
    h(preauthHashUpdate(h1, BLOG_SS_REQ2)),
    h(
      hex(
        '0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97' +
          '51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01',
      ),
    ),
  );
});

t.test('blog: Windows CHALLENGE decodes, with MsvAvTimestamp', async (t) => {
  const c = decodeChallenge(ntlmIn(BLOG_SS_RESP1, 0x94));
  t.equal(c.flags >>> 0, 0xe28a8215);
  t.equal(h(c.serverChallenge), '0d1d8ba31179d008');
  t.equal(c.targetName, 'SUT311');
  t.equal(h(c.timestamp!), 'a1a1f5adcbaed001');
  t.equal(parseAvPairs(c.targetInfo).length, 5);
});

t.test('blog: NTLMv2 session key calculation of the Windows AUTHENTICATE', async (t) => {
  t.equal(h(ntowfv1('Password01!')), '7c4fe5eada682714a036e39378362bab', 'NtHash');
  const key = ntowfv2('Password01!', 'administrator', 'SUT311');
  t.equal(h(key), 'aee3959b44a815f1eb28c9511b4f533b', 'NTOWFv2 (user upper-cased)');
  const auth = ntlmIn(BLOG_SS_REQ2, 0x1a6);
  const nt = field(auth, 20);
  t.equal(nt.length, 238);
  // temp = 0x0101 Z(6) Time ClientChallenge Z(4) AvPairs Z(4): take the
  // AvPairs back out and recompute through computeNtlmv2Response.
  const temp = nt.subarray(16);
  const time = temp.subarray(8, 16);
  const cc = temp.subarray(16, 24);
  const avPairs = temp.subarray(28, temp.length - 4);
  const r = computeNtlmv2Response(key, hex('0D1D8BA31179D008'), cc, time, avPairs);
  t.equal(h(r.ntProofStr), '63078eb639fe03e20a231c3ae3bf2308', 'NTProofStr');
  t.equal(h(r.ntChallengeResponse), h(nt), 'whole NtChallengeResponse');
  t.equal(h(r.sessionBaseKey), 'b4cf22566926b1c069acd80e4d73c814', 'KeyExchangeKey');
  const exported = rc4(r.sessionBaseKey, field(auth, 52));
  t.equal(h(exported), '270e1ba896585eeb7af3472d3b4c75a7', 'ExportedSessionKey');
  const mic = computeMic(exported, BLOG_NEGOTIATE, ntlmIn(BLOG_SS_RESP1, 0x94), auth);
  t.equal(h(mic), 'ecac77a5f385a8bf9c38c706eeeddcd3', 'MIC of the Windows exchange');
});

t.test('encodeAuthenticate against the Windows CHALLENGE: timestamp, MIC, MsvAvFlags', async (t) => {
  const challengeBytes = ntlmIn(BLOG_SS_RESP1, 0x94);
  const challenge = decodeChallenge(challengeBytes);
  const negotiate = encodeNegotiate();
  const exportedSessionKey = hex('000102030405060708090a0b0c0d0e0f');
  const { message, sessionKey } = encodeAuthenticate({
    challenge,
    username: 'administrator',
    password: 'Password01!',
    domain: 'SUT311',
    workstation: 'DRIVER311',
    clientChallenge: hex('BC4AD05F223CC90F'),
    timestamp: hex('ffffffffffffffff'),
    exportedSessionKey,
    negotiateMessage: negotiate,
  });
  t.equal(h(sessionKey), h(exportedSessionKey));
  t.equal(h(field(message, 12)), '00'.repeat(24), 'LM response is Z(24) when the server sent a timestamp');
  const nt = field(message, 20);
  t.equal(h(nt.subarray(24, 32)), 'a1a1f5adcbaed001', "the challenge's timestamp is used, not the option");
  const pairs = parseAvPairs(nt.subarray(16 + 28));
  const flagsPair = pairs.find((p) => p.id === AvId.MsvAvFlags);
  t.equal(flagsPair?.value.readUInt32LE(0), 2, 'MsvAvFlags has the MIC bit');
  // Independent MIC check: HMAC-MD5 over the three messages with the field zeroed.
  const zeroed = Buffer.from(message);
  zeroed.fill(0, 72, 88);
  const want = createHmac('md5', exportedSessionKey).update(negotiate).update(challengeBytes).update(zeroed).digest();
  t.equal(h(message.subarray(72, 88)), h(want), 'MIC');
  // A server that knows the password recovers the session key and the proof.
  const key = ntowfv2('Password01!', 'administrator', 'SUT311');
  const temp = nt.subarray(16);
  const proof = createHmac('md5', key).update(challenge.serverChallenge).update(temp).digest();
  t.equal(h(nt.subarray(0, 16)), h(proof), 'NTProofStr verifies');
  const base = createHmac('md5', key).update(proof).digest();
  t.equal(h(rc4(base, field(message, 52))), h(exportedSessionKey), 'key exchange round trip');
});

t.test('an existing MsvAvFlags value keeps its bits', async (t) => {
  const c = decodeChallenge(ntlmIn(BLOG_SS_RESP1, 0x94));
  const info = Buffer.concat([hex('06000400 01000000'), c.targetInfo]);
  const { message } = encodeAuthenticate({
    challenge: { ...c, targetInfo: info },
    username: 'u',
    password: 'p',
    domain: 'd',
    workstation: 'w',
  });
  const pairs = parseAvPairs(field(message, 20).subarray(44));
  t.equal(pairs.filter((p) => p.id === AvId.MsvAvFlags).length, 1);
  t.equal(pairs.find((p) => p.id === AvId.MsvAvFlags)?.value.readUInt32LE(0), 3);
});

t.test('anonymous AUTHENTICATE', async (t) => {
  const { message, sessionKey } = encodeAuthenticate({
    challenge: decodeChallenge(SPEC_CHALLENGE),
    username: '',
    password: '',
    domain: '',
    workstation: 'WS',
    anonymous: true,
  });
  t.equal(h(field(message, 12)), '00', 'LM response is one zero byte');
  t.equal(field(message, 20).length, 0, 'empty NT response');
  t.equal(field(message, 36).length, 0, 'empty user');
  t.equal(field(message, 52).length, 0, 'no encrypted session key');
  t.equal(h(sessionKey), '00'.repeat(16));
  const flags = message.readUInt32LE(60);
  t.ok(flags & NtlmFlag.ANONYMOUS);
  t.notOk(flags & NtlmFlag.NEGOTIATE_KEY_EXCH);
});

t.test('NEGOTIATE', async (t) => {
  const n = encodeNegotiate();
  t.equal(n.length, 40);
  t.equal(n.subarray(0, 12).toString('hex'), '4e544c4d5353500001000000');
  const flags = n.readUInt32LE(12);
  for (const f of [
    NtlmFlag.NEGOTIATE_UNICODE,
    NtlmFlag.REQUEST_TARGET,
    NtlmFlag.NEGOTIATE_NTLM,
    NtlmFlag.NEGOTIATE_SIGN,
    NtlmFlag.NEGOTIATE_ALWAYS_SIGN,
    NtlmFlag.NEGOTIATE_EXTENDED_SESSIONSECURITY,
    NtlmFlag.NEGOTIATE_VERSION,
    NtlmFlag.NEGOTIATE_128,
    NtlmFlag.NEGOTIATE_56,
    NtlmFlag.NEGOTIATE_KEY_EXCH,
  ]) {
    t.ok((flags & f) >>> 0 === f >>> 0, `flag 0x${(f >>> 0).toString(16)}`);
  }
  t.ok(encodeNegotiate().equals(n), 'deterministic');
});

t.test('malformed CHALLENGE messages throw NtlmError', async (t) => {
  const good = ntlmIn(BLOG_SS_RESP1, 0x94);
  for (let len = 0; len < good.length; len++) {
    try {
      decodeChallenge(good.subarray(0, len));
      t.fail(`truncated to ${len} accepted`);
    } catch (e) {
      if (!(e instanceof NtlmError) || e.code !== 'SMB_ERR_AUTH') t.fail(`truncated to ${len}: wrong error ${String(e)}`);
    }
  }
  const badSig = Buffer.from(good);
  badSig[0] = 0x41;
  t.throws(() => decodeChallenge(badSig), NtlmError);
  const badType = Buffer.from(good);
  badType.writeUInt32LE(3, 8);
  t.throws(() => decodeChallenge(badType), NtlmError);
  const badOffset = Buffer.from(good);
  badOffset.writeUInt32LE(0xfffffff0, 44);
  t.throws(() => decodeChallenge(badOffset), NtlmError);
  const badAv = Buffer.from(good);
  badAv.writeUInt16LE(0x7fff, 68 + 2);
  t.throws(() => decodeChallenge(badAv), NtlmError, 'AV_PAIR length past the end');
});

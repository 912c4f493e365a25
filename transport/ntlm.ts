/**
 * NTLMSSP client, MS-NLMP: NEGOTIATE (2.2.1.1), CHALLENGE (2.2.1.2) and
 * AUTHENTICATE (2.2.1.3) messages with NTLMv2 (3.3.2), key exchange
 * (3.4.5.1-2, RC4 of a random exported session key under the key exchange
 * key) and the MIC (3.1.5.1.2). Anonymous authentication follows 3.2.5.1.2.
 *
 * The session key handed back is the ExportedSessionKey, which SMB uses as
 * its session key (MS-SMB2 3.2.5.3.1).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.js';

/** Malformed NTLM input, or authentication that cannot proceed. */
export class NtlmError extends Error {
  readonly code = 'SMB_ERR_AUTH';
  override name = 'NtlmError';
}

/** NegotiateFlags bits, MS-NLMP 2.2.2.5. */
export const NtlmFlag = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_SIGN: 0x00000010,
  NEGOTIATE_SEAL: 0x00000020,
  NEGOTIATE_LM_KEY: 0x00000080,
  NEGOTIATE_NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  NEGOTIATE_KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AV_PAIR ids, MS-NLMP 2.2.2.1. */
export const AvId = {
  MsvAvEOL: 0,
  MsvAvNbComputerName: 1,
  MsvAvNbDomainName: 2,
  MsvAvDnsComputerName: 3,
  MsvAvDnsDomainName: 4,
  MsvAvDnsTreeName: 5,
  MsvAvFlags: 6,
  MsvAvTimestamp: 7,
  MsvAvSingleHost: 8,
  MsvAvTargetName: 9,
  MsvAvChannelBindings: 10,
} as const;

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const MSG_NEGOTIATE = 1;
const MSG_CHALLENGE = 2;
const MSG_AUTHENTICATE = 3;
/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
const AV_FLAG_MIC_PRESENT = 0x00000002;
/** Fixed part of AUTHENTICATE with Version and MIC; the MIC is at 72. */
const AUTH_FIXED_SIZE = 88;
const AUTH_MIC_OFFSET = 72;

/**
 * Flags this client asks for (MS-NLMP 3.1.5.1.1): Unicode, NTLM with
 * extended session security, signing (which is what makes a session key
 * come out), 128-bit and 56-bit keys, key exchange, always-sign, the
 * server's target info and the version field.
 */
export const CLIENT_FLAGS: number =
  (NtlmFlag.NEGOTIATE_UNICODE |
    NtlmFlag.REQUEST_TARGET |
    NtlmFlag.NEGOTIATE_SIGN |
    NtlmFlag.NEGOTIATE_NTLM |
    NtlmFlag.NEGOTIATE_ALWAYS_SIGN |
    NtlmFlag.NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NtlmFlag.NEGOTIATE_VERSION |
    NtlmFlag.NEGOTIATE_128 |
    NtlmFlag.NEGOTIATE_KEY_EXCH |
    NtlmFlag.NEGOTIATE_56) >>>
  0;

/**
 * VERSION structure (MS-NLMP 2.2.2.10): "for debugging purposes only";
 * 10.0 build 0, NTLMSSP_REVISION_W2K3 (0x0F).
 */
const VERSION = Buffer.from([10, 0, 0, 0, 0, 0, 0, 0x0f]);

/**
 * NEGOTIATE_MESSAGE with CLIENT_FLAGS, no domain or workstation, and the
 * version field (40 bytes). Deterministic: calling it twice gives the same
 * bytes, which the MIC relies on when the caller does not keep them.
 */
export function encodeNegotiate(): Buffer {
  const b = Buffer.alloc(40);
  SIGNATURE.copy(b, 0);
  b.writeUInt32LE(MSG_NEGOTIATE, 8);
  b.writeUInt32LE(CLIENT_FLAGS, 12);
  // DomainNameFields and WorkstationFields: empty, offsets at the payload.
  b.writeUInt32LE(40, 20);
  b.writeUInt32LE(40, 28);
  VERSION.copy(b, 32);
  return b;
}

/** A decoded CHALLENGE_MESSAGE. */
export interface NtlmChallenge {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  /** The TargetInfo AV_PAIR list as received (empty if none). */
  targetInfo: Buffer;
  /** MsvAvTimestamp value (8-byte FILETIME) when the target info has one. */
  timestamp?: Buffer;
  /** The whole message, for the MIC. */
  raw: Buffer;
}

/** Reads a (Len, MaxLen, Offset) field and returns the bytes it names. */
function readField(buf: Buffer, at: number, what: string): Buffer {
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off > buf.length || len > buf.length - off) throw new NtlmError(`NTLM ${what} field runs past the message`);
  return buf.subarray(off, off + len);
}

/** One AV_PAIR of a target info list. */
interface AvPair {
  id: number;
  value: Buffer;
}

/**
 * Splits a TargetInfo list into AV_PAIRs, stopping at MsvAvEOL. Throws if
 * a pair runs past the buffer; a list without MsvAvEOL is accepted.
 */
export function parseAvPairs(info: Buffer): AvPair[] {
  const out: AvPair[] = [];
  let pos = 0;
  while (pos < info.length) {
    if (info.length - pos < 4) throw new NtlmError('truncated AV_PAIR header in NTLM target info');
    const id = info.readUInt16LE(pos);
    const len = info.readUInt16LE(pos + 2);
    pos += 4;
    if (id === AvId.MsvAvEOL) break;
    if (len > info.length - pos) throw new NtlmError('AV_PAIR runs past the NTLM target info');
    out.push({ id, value: info.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

/** Serialises AV_PAIRs and the terminating MsvAvEOL. */
function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(p.id, 0);
    h.writeUInt16LE(p.value.length, 2);
    parts.push(h, p.value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/**
 * Decodes and checks a CHALLENGE_MESSAGE: signature, message type, the
 * fixed part's length, and that every field lies inside the message.
 * Throws NtlmError otherwise.
 */
export function decodeChallenge(buf: Buffer): NtlmChallenge {
  if (buf.length < 48) throw new NtlmError(`NTLM CHALLENGE too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new NtlmError('not an NTLMSSP message');
  const type = buf.readUInt32LE(8);
  if (type !== MSG_CHALLENGE) throw new NtlmError(`expected NTLM CHALLENGE (2), got message type ${type}`);
  const flags = buf.readUInt32LE(20);
  const nameBytes = readField(buf, 12, 'TargetName');
  const targetInfo = readField(buf, 40, 'TargetInfo');
  const pairs = parseAvPairs(targetInfo);
  const ts = pairs.find((p) => p.id === AvId.MsvAvTimestamp);
  if (ts !== undefined && ts.value.length !== 8) throw new NtlmError('MsvAvTimestamp is not 8 bytes');
  const unicode = (flags & NtlmFlag.NEGOTIATE_UNICODE) !== 0;
  const out: NtlmChallenge = {
    flags,
    serverChallenge: Buffer.from(buf.subarray(24, 32)),
    targetName: nameBytes.toString(unicode ? 'utf16le' : 'latin1'),
    targetInfo: Buffer.from(targetInfo),
    raw: Buffer.from(buf),
  };
  if (ts !== undefined) out.timestamp = Buffer.from(ts.value);
  return out;
}

/** HMAC-MD5 of the concatenated parts. */
function hmacMd5(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RC4 keystream XOR (used once per session, for the key exchange, MS-NLMP 3.4.5.2). */
export function rc4(key: Buffer, data: Buffer): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    const t = s[i]!;
    s[i] = s[j]!;
    s[j] = t;
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    const t = s[i]!;
    s[i] = s[j]!;
    s[j] = t;
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

/** NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password. */
export function ntowfv1(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/**
 * NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 under NTOWFv1(password) of
 * UTF-16LE(Uppercase(user) || domain). Also LMOWFv2.
 */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(ntowfv1(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** The NTLMv2 responses and keys of MS-NLMP 3.3.2. */
export interface Ntlmv2Response {
  /** NTProofStr || temp (the NTLMv2_RESPONSE structure). */
  ntChallengeResponse: Buffer;
  ntProofStr: Buffer;
  /** LMv2: HMAC-MD5(key, ServerChallenge || ClientChallenge) || ClientChallenge. */
  lmChallengeResponse: Buffer;
  sessionBaseKey: Buffer;
}

/**
 * ComputeResponse for NTLMv2 (MS-NLMP 3.3.2), with ResponseKeyNT =
 * ResponseKeyLM = NTOWFv2. `time` is the 8-byte FILETIME and `targetInfo`
 * the AV_PAIR list (with its MsvAvEOL) that goes into temp as ServerName.
 */
export function computeNtlmv2Response(
  responseKeyNT: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
  time: Buffer,
  targetInfo: Buffer,
): Ntlmv2Response {
  if (serverChallenge.length !== 8 || clientChallenge.length !== 8 || time.length !== 8) {
    throw new NtlmError('server challenge, client challenge and time must be 8 bytes each');
  }
  // temp = Responserversion(1) HiResponserversion(1) Z(6) Time ClientChallenge Z(4) ServerName Z(4)
  const temp = Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(6), time, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
  const ntProofStr = hmacMd5(responseKeyNT, serverChallenge, temp);
  return {
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    ntProofStr,
    lmChallengeResponse: Buffer.concat([hmacMd5(responseKeyNT, serverChallenge, clientChallenge), clientChallenge]),
    sessionBaseKey: hmacMd5(responseKeyNT, ntProofStr),
  };
}

/** Current time as a Windows FILETIME (100 ns since 1601-01-01), 8 bytes LE. */
export function fileTimeNow(nowMs: number = Date.now()): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((BigInt(nowMs) + 11644473600000n) * 10000n, 0);
  return b;
}

export interface AuthenticateOptions {
  /** The decoded CHALLENGE_MESSAGE. */
  challenge: NtlmChallenge;
  username: string;
  password: string;
  domain: string;
  workstation: string;
  /** Anonymous logon: empty user and password, no session key. */
  anonymous?: boolean;
  /** The NEGOTIATE_MESSAGE sent, for the MIC (default: encodeNegotiate()). */
  negotiateMessage?: Buffer;
  /** The CHALLENGE_MESSAGE bytes received, for the MIC (default: challenge.raw). */
  challengeMessage?: Buffer;
  /** Fixed client challenge (tests); default random. */
  clientChallenge?: Buffer;
  /** Time when the challenge has no MsvAvTimestamp (tests); default now. */
  timestamp?: Buffer;
  /** Fixed exported session key (tests); default random. */
  exportedSessionKey?: Buffer;
}

/** Result of encodeAuthenticate. */
export interface AuthenticateResult {
  message: Buffer;
  /** ExportedSessionKey (16 bytes); all zeros for anonymous. */
  sessionKey: Buffer;
}

/**
 * Builds the AUTHENTICATE_MESSAGE (MS-NLMP 3.1.5.1.2) for NTLMv2.
 *
 * Flags are ours intersected with the server's. With KEY_EXCH a random
 * ExportedSessionKey is sent RC4-encrypted under the KeyExchangeKey (for
 * NTLMv2 the SessionBaseKey); without it the SessionBaseKey is the session
 * key. When the challenge's target info holds MsvAvTimestamp, that time is
 * used, the LM response is 24 zero bytes, MsvAvFlags gets bit 0x2 in the
 * echoed target info, and the MIC (HMAC-MD5 under the ExportedSessionKey of
 * NEGOTIATE || CHALLENGE || AUTHENTICATE with a zero MIC) is filled in.
 */
export function encodeAuthenticate(opts: AuthenticateOptions): AuthenticateResult {
  const ch = opts.challenge;
  const anonymous = opts.anonymous === true;
  let flags = (CLIENT_FLAGS & ch.flags) | (ch.flags & NtlmFlag.NEGOTIATE_UNICODE);
  if ((flags & NtlmFlag.NEGOTIATE_UNICODE) === 0 && (ch.flags & NtlmFlag.NEGOTIATE_OEM) !== 0) flags |= NtlmFlag.NEGOTIATE_OEM;
  flags |= NtlmFlag.NEGOTIATE_VERSION;
  const unicode = (flags & NtlmFlag.NEGOTIATE_UNICODE) !== 0;
  const str = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');

  if (anonymous) {
    // MS-NLMP 3.3.2: empty NT response, LM response Z(1), no session key.
    flags = (flags | NtlmFlag.ANONYMOUS) & ~NtlmFlag.NEGOTIATE_KEY_EXCH;
    const message = buildAuthenticate(flags, Buffer.alloc(1), Buffer.alloc(0), str(''), str(''), str(opts.workstation), Buffer.alloc(0));
    return { message, sessionKey: Buffer.alloc(16) };
  }

  const useMic = ch.timestamp !== undefined;
  const time = ch.timestamp ?? opts.timestamp ?? fileTimeNow();
  let targetInfo: Buffer = ch.targetInfo;
  if (useMic) targetInfo = withMicFlag(targetInfo);
  const key = ntowfv2(opts.password, opts.username, opts.domain);
  const clientChallenge = opts.clientChallenge ?? randomBytes(8);
  const r = computeNtlmv2Response(key, ch.serverChallenge, clientChallenge, time, targetInfo);
  const lm = useMic ? Buffer.alloc(24) : r.lmChallengeResponse;

  let sessionKey: Buffer = r.sessionBaseKey;
  let encryptedKey: Buffer = Buffer.alloc(0);
  if ((flags & NtlmFlag.NEGOTIATE_KEY_EXCH) !== 0) {
    sessionKey = opts.exportedSessionKey ?? randomBytes(16);
    encryptedKey = rc4(r.sessionBaseKey, sessionKey);
  }
  const message = buildAuthenticate(flags, lm, r.ntChallengeResponse, str(opts.domain), str(opts.username), str(opts.workstation), encryptedKey);
  if (useMic) {
    computeMic(sessionKey, opts.negotiateMessage ?? encodeNegotiate(), opts.challengeMessage ?? ch.raw, message).copy(message, AUTH_MIC_OFFSET);
  }
  return { message, sessionKey };
}

/**
 * The MIC of MS-NLMP 3.1.5.1.2: HMAC-MD5 under the ExportedSessionKey of
 * NEGOTIATE || CHALLENGE || AUTHENTICATE, the last with its MIC field (16
 * bytes at offset 72) taken as zero. Does not modify `authenticate`.
 */
export function computeMic(exportedSessionKey: Buffer, negotiate: Buffer, challenge: Buffer, authenticate: Buffer): Buffer {
  if (authenticate.length < AUTH_FIXED_SIZE) throw new NtlmError('AUTHENTICATE message too short for a MIC');
  const zeroed = Buffer.from(authenticate);
  zeroed.fill(0, AUTH_MIC_OFFSET, AUTH_MIC_OFFSET + 16);
  return hmacMd5(exportedSessionKey, negotiate, challenge, zeroed);
}

/** Target info with MsvAvFlags bit 0x2 set (added if absent), MS-NLMP 3.1.5.1.2. */
function withMicFlag(targetInfo: Buffer): Buffer {
  const pairs = parseAvPairs(targetInfo).map((p) => ({ id: p.id, value: Buffer.from(p.value) }));
  const f = pairs.find((p) => p.id === AvId.MsvAvFlags);
  if (f !== undefined && f.value.length === 4) {
    f.value.writeUInt32LE((f.value.readUInt32LE(0) | AV_FLAG_MIC_PRESENT) >>> 0, 0);
  } else {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(AV_FLAG_MIC_PRESENT, 0);
    if (f !== undefined) f.value = v;
    else pairs.push({ id: AvId.MsvAvFlags, value: v });
  }
  return encodeAvPairs(pairs);
}

/**
 * Lays out an AUTHENTICATE_MESSAGE: the 88-byte fixed part (with Version
 * and a zero MIC) and the payload in the order domain, user, workstation,
 * LM response, NT response, encrypted session key.
 */
function buildAuthenticate(
  flags: number,
  lm: Buffer,
  nt: Buffer,
  domain: Buffer,
  user: Buffer,
  workstation: Buffer,
  encryptedKey: Buffer,
): Buffer {
  const payload: Array<[number, Buffer]> = [
    [28, domain],
    [36, user],
    [44, workstation],
    [12, lm],
    [20, nt],
    [52, encryptedKey],
  ];
  let size = AUTH_FIXED_SIZE;
  for (const [, b] of payload) size += b.length;
  const msg = Buffer.alloc(size);
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(MSG_AUTHENTICATE, 8);
  let off = AUTH_FIXED_SIZE;
  for (const [at, b] of payload) {
    if (b.length > 0xffff) throw new NtlmError('NTLM AUTHENTICATE field too long');
    msg.writeUInt16LE(b.length, at);
    msg.writeUInt16LE(b.length, at + 2);
    msg.writeUInt32LE(off, at + 4);
    b.copy(msg, off);
    off += b.length;
  }
  msg.writeUInt32LE(flags >>> 0, 60);
  VERSION.copy(msg, 64);
  return msg;
}

/** NTLM2 (extended session security) signing and sealing keys, MS-NLMP 3.4.5.2/3.4.5.3. */
function ntlmKey(exportedSessionKey: Buffer, magic: string): Buffer {
  return createHash('md5').update(exportedSessionKey).update(Buffer.from(magic + '\0', 'latin1')).digest();
}

/**
 * MS-NLMP 3.4.4.2 message signature (NTLMSSP_MESSAGE_SIGNATURE with extended
 * session security and key exchange) of the client's message number `seq`:
 * Version 1, the first 8 bytes of HMAC-MD5(signing key, seq || message)
 * sealed with RC4 under the client sealing key, then seq. SPNEGO uses the
 * first client signature (seq 0, a fresh RC4 state) as its mechListMIC.
 */
export function clientSignature(exportedSessionKey: Buffer, seq: number, message: Buffer): Buffer {
  const signKey = ntlmKey(exportedSessionKey, 'session key to client-to-server signing key magic constant');
  const sealKey = ntlmKey(exportedSessionKey, 'session key to client-to-server sealing key magic constant');
  const seqBuf = Buffer.alloc(4);
  seqBuf.writeUInt32LE(seq >>> 0, 0);
  const mac = createHmac('md5', signKey).update(seqBuf).update(message).digest().subarray(0, 8);
  const out = Buffer.alloc(16);
  out.writeUInt32LE(1, 0);
  rc4(sealKey, mac).copy(out, 4);
  seqBuf.copy(out, 12);
  return out;
}

/**
 * Connection setup: NEGOTIATE (2.0.2 … 3.1.1, with 3.1.1 negotiate contexts
 * and SHA-512 pre-auth integrity), then SESSION_SETUP with SPNEGO-wrapped
 * NTLMSSP (NTLMv2) or as guest, key derivation and signing (MS-SMB2 3.2.4.2,
 * 3.2.5.2, 3.2.5.3).
 */
import { randomBytes } from 'node:crypto';
import type { SmbConnection } from './connection.js';
import { deriveSmb3Keys, PREAUTH_HASH_INITIAL, preauthHashUpdate } from './crypto.js';
import { encryptionCapabilities, negotiatedCipher, offeredCiphers, startEncryption, type SessionCipher } from './transform.js';
import { SmbAuthError, SmbProtocolError, SmbStatusError } from './errors.js';
import { SmbMessage, type SmbResponse } from './message.js';
import { clientSignature, decodeChallenge, encodeAuthenticate, encodeNegotiate } from './ntlm.js';
import { NtStatus, statusName } from './ntstatus.js';
import { Smb2Command } from './pdu/header.js';
import { decodeNegotiateResponse, encodeNegotiateRequest, type NegotiateResponse } from './pdu/negotiate.js';
import { decodeSessionSetupResponse, encodeSessionSetupRequest } from './pdu/session-setup.js';
import { defaultSigningAlgo, signingAlgoFromId, verifyMessage, signMessage, type SigningAlgo } from './signing.js';
import { offeredMechTypeList, unwrapNegToken, wrapNegTokenInit, wrapNegTokenResp } from './spnego.js';
import { Dialect, type SmbConnectOptions } from './types.js';

const SECURITY_SIGNING_ENABLED = 0x1;
const SECURITY_SIGNING_REQUIRED = 0x2;
const CAP_DFS = 0x1;
const CAP_LARGE_MTU = 0x4;
const SESSION_FLAG_IS_GUEST = 0x1;
const SESSION_FLAG_IS_NULL = 0x2;

const ALL_DIALECTS: Dialect[] = [Dialect.SMB2_0_2, Dialect.SMB2_1, Dialect.SMB3_0, Dialect.SMB3_0_2, Dialect.SMB3_1_1];

/** What NEGOTIATE settled, kept per connection. */
export interface Negotiated {
  dialect: Dialect;
  serverGuid: Buffer;
  securityMode: number;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  signingAlgo: SigningAlgo;
  /** The cipher NEGOTIATE settled (transform.ts Cipher id), 0 when the connection cannot encrypt. */
  cipher: number;
  /** 3.1.1 connection pre-auth hash after NEGOTIATE. */
  preauthHash: Buffer | null;
  /** The server's SPNEGO hint from the NEGOTIATE response. */
  securityBuffer: Buffer;
  /** What this client sent in NEGOTIATE (for FSCTL_VALIDATE_NEGOTIATE_INFO). */
  sent: { clientGuid: Buffer; dialects: Dialect[]; securityMode: number; capabilities: number };
}

/** 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1 (as vers= writes them, 3.02 aside). */
export function dialectName(d: number): string {
  return d === Dialect.SMB3_0 ? '3.0' : `${d >> 8}.${(d >> 4) & 0xf}${d & 0xf ? `.${d & 0xf}` : ''}`;
}

/** The dialects to offer, between the options' floor and ceiling. */
export function dialectsToOffer(opts: Pick<SmbConnectOptions, 'minDialect' | 'maxDialect'>): Dialect[] {
  const lo = opts.minDialect ?? Dialect.SMB2_0_2;
  const hi = opts.maxDialect ?? Dialect.SMB3_1_1;
  return ALL_DIALECTS.filter((d) => d >= lo && d <= hi);
}

/** Build a request message around an encoded body. */
export function message(command: number, body: Buffer, charge = 1): SmbMessage {
  return new SmbMessage(command, body, charge);
}

/** Throw SmbStatusError unless the reply's status is one of `ok`. */
export function expectStatus(r: SmbResponse, ok: readonly number[] = [NtStatus.STATUS_SUCCESS]): void {
  const s = r.header.status;
  if (!ok.includes(s)) {
    throw new SmbStatusError(s, statusName(s), r.header.command, r.header.messageId);
  }
}

function concat(parts: readonly Buffer[]): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * NEGOTIATE with the dialects the options allow. A reconnect passes the
 * ClientGuid of the first NEGOTIATE: durable handles belong to it.
 */
export async function negotiate(conn: SmbConnection, opts: SmbConnectOptions, clientGuid: Buffer = randomBytes(16)): Promise<Negotiated> {
  const dialects = dialectsToOffer(opts);
  if (dialects.length === 0) throw new SmbProtocolError('no SMB dialect lies within the vers= limits');
  const offers311 = dialects.includes(Dialect.SMB3_1_1);
  const sent = {
    clientGuid,
    dialects,
    securityMode: opts.sign ? SECURITY_SIGNING_ENABLED | SECURITY_SIGNING_REQUIRED : SECURITY_SIGNING_ENABLED,
    capabilities: (dialects.some((d) => d >= Dialect.SMB2_1) ? CAP_LARGE_MTU | CAP_DFS : 0) | encryptionCapabilities(dialects),
  };
  const body = encodeNegotiateRequest({
    ...sent,
    ...(offers311
      ? {
          contexts: {
            preauthSalt: randomBytes(32),
            ciphers: offeredCiphers(),
            signingAlgorithms: opts.signingAlgorithms ?? [2, 1, 0],
          },
        }
      : {}),
  });
  const m = message(Smb2Command.NEGOTIATE, body);
  m.creditRequest = 64;
  const r = await conn.request(m);
  if (r.header.status === NtStatus.STATUS_NOT_SUPPORTED) {
    const names = dialects.map(dialectName).join(', ');
    throw new SmbStatusError(r.header.status, undefined, Smb2Command.NEGOTIATE, r.header.messageId, `the server accepts none of the dialects offered (${names}); check vers=`);
  }
  expectStatus(r);
  const n: NegotiateResponse = decodeNegotiateResponse(r.msg);
  const dialect = n.dialectRevision as Dialect;
  if (!dialects.includes(dialect)) {
    throw new SmbProtocolError(`server chose dialect 0x${dialect.toString(16)}, which was not offered`);
  }
  let preauthHash: Buffer | null = null;
  let signingAlgo = defaultSigningAlgo(dialect);
  if (dialect === Dialect.SMB3_1_1) {
    if (n.contexts.preauthHashAlgorithm !== 1) throw new SmbProtocolError('3.1.1 server did not select SHA-512 pre-auth integrity');
    preauthHash = preauthHashUpdate(preauthHashUpdate(PREAUTH_HASH_INITIAL, concat(m.wire)), r.msg);
    const sa = n.contexts.signingAlgorithm;
    if (sa !== undefined) {
      if (!(opts.signingAlgorithms ?? [2, 1, 0]).includes(sa)) throw new SmbProtocolError(`server chose signing algorithm ${sa}, which was not offered`);
      signingAlgo = signingAlgoFromId(sa);
    }
  }
  conn.multiCredit = dialect >= Dialect.SMB2_1 && (n.capabilities & CAP_LARGE_MTU) !== 0;
  const cap = conn.multiCredit ? 8 * 1024 * 1024 : 65536;
  return {
    dialect,
    serverGuid: n.serverGuid,
    securityMode: n.securityMode,
    capabilities: n.capabilities,
    maxTransactSize: Math.min(n.maxTransactSize, cap),
    maxReadSize: Math.min(n.maxReadSize, cap),
    maxWriteSize: Math.min(n.maxWriteSize, cap),
    signingAlgo,
    preauthHash,
    securityBuffer: n.securityBuffer,
    cipher: negotiatedCipher(dialect, n.capabilities, n.contexts.cipher),
    sent,
  };
}

/** An authenticated session on a connection. */
export interface SessionState {
  sessionId: bigint;
  isGuest: boolean;
  /** Requests must be signed (server requires it); 3.1.1 tree connects are signed anyway. */
  signingRequired: boolean;
  signingKey: Buffer | null;
  signingAlgo: SigningAlgo;
  /** The session's cipher when it has one (encrypts all of it, or only trees that require it). */
  cipher?: SessionCipher | null;
}

/**
 * SESSION_SETUP: SPNEGO(NTLMSSP NEGOTIATE) → challenge → SPNEGO(AUTHENTICATE).
 * Registers the session's signer on the connection when it has keys.
 */
export async function sessionSetup(conn: SmbConnection, neg: Negotiated, opts: SmbConnectOptions): Promise<SessionState> {
  const anonymous = opts.guest && opts.username === '';
  let hash = neg.preauthHash;
  const negotiateMsg = encodeNegotiate();
  const leg1 = message(
    Smb2Command.SESSION_SETUP,
    encodeSessionSetupRequest({ flags: 0, securityMode: SECURITY_SIGNING_ENABLED, capabilities: 0, previousSessionId: 0n, securityBuffer: wrapNegTokenInit(negotiateMsg) }),
  );
  leg1.creditRequest = 64;
  const r1 = await conn.request(leg1);
  expectStatus(r1, [NtStatus.STATUS_MORE_PROCESSING_REQUIRED]);
  const sessionId = r1.header.sessionId;
  if (hash) hash = preauthHashUpdate(preauthHashUpdate(hash, concat(leg1.wire)), r1.msg);
  const s1 = decodeSessionSetupResponse(r1.msg);
  const challengeToken = unwrapNegToken(s1.securityBuffer).mechToken;
  if (!challengeToken) throw new SmbProtocolError('SESSION_SETUP reply carries no NTLMSSP challenge');
  const challenge = decodeChallenge(challengeToken);
  const auth = encodeAuthenticate({
    negotiateMessage: negotiateMsg,
    challengeMessage: challengeToken,
    challenge,
    username: anonymous ? '' : opts.username,
    password: anonymous ? '' : opts.password,
    domain: opts.domain,
    workstation: 'SMBFUSE',
    anonymous,
  });
  const leg2 = message(
    Smb2Command.SESSION_SETUP,
    encodeSessionSetupRequest({ flags: 0, securityMode: SECURITY_SIGNING_ENABLED, capabilities: 0, previousSessionId: 0n, securityBuffer: wrapNegTokenResp(auth.message, anonymous ? {} : { mechListMIC: clientSignature(auth.sessionKey, 0, offeredMechTypeList()) }) }),
  );
  leg2.sessionId = sessionId;
  leg2.creditRequest = 64;
  const r2 = await conn.request(leg2);
  expectStatus(r2);
  if (hash) hash = preauthHashUpdate(hash, concat(leg2.wire));
  const s2 = decodeSessionSetupResponse(r2.msg);
  const isGuest = (s2.sessionFlags & (SESSION_FLAG_IS_GUEST | SESSION_FLAG_IS_NULL)) !== 0;
  if (isGuest && !opts.guest) {
    throw new SmbAuthError(`server accepted user '${opts.username}' only as guest (wrong password or unknown user?); use -o guest to mount as guest`);
  }
  const signingRequired = (neg.securityMode & SECURITY_SIGNING_REQUIRED) !== 0 || opts.sign === true;
  let signingKey: Buffer | null = null;
  if (!isGuest && !anonymous && auth.sessionKey.some((b) => b !== 0)) {
    signingKey = neg.dialect >= Dialect.SMB3_0 ? deriveSmb3Keys(auth.sessionKey, neg.dialect, hash, 128).signingKey : auth.sessionKey;
    // The final SESSION_SETUP reply of 3.x is signed with the new key.
    const signed = (r2.header.flags & 0x8) !== 0;
    if (signed && !verifyMessage(neg.signingAlgo, signingKey, [r2.msg])) {
      throw new SmbProtocolError('SESSION_SETUP reply signature does not verify (wrong password or tampering)');
    }
    if (signingRequired && neg.dialect >= Dialect.SMB3_0 && !signed) {
      throw new SmbProtocolError('SESSION_SETUP reply is unsigned where signing is required');
    }
  } else if (opts.sign) {
    throw new SmbAuthError('sign was asked for but a guest or anonymous session has no signing key');
  } else if (signingRequired && !opts.guest) {
    throw new SmbAuthError('server requires signing but the session has no key');
  }
  const state: SessionState = { sessionId, isGuest, signingRequired: signingRequired && signingKey !== null, signingKey, signingAlgo: neg.signingAlgo };
  if (signingKey) {
    const key = signingKey;
    const algo = neg.signingAlgo;
    conn.setSigner(sessionId, {
      required: state.signingRequired,
      sign: (f) => void signMessage(algo, key, f),
      verify: (f) => verifyMessage(algo, key, f),
    });
  }
  state.cipher = startEncryption(conn, neg, sessionId, signingKey ? auth.sessionKey : null, hash, s2.sessionFlags, opts);
  return state;
}

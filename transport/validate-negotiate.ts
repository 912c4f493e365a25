/**
 * Downgrade protection for SMB 3.0 and 3.0.2: FSCTL_VALIDATE_NEGOTIATE_INFO
 * (MS-SMB2 3.2.5.5 client, 3.3.5.15.12 server).
 *
 * After the first TREE_CONNECT of an authenticated (non-guest, non-anonymous)
 * session the client sends, in a signed IOCTL, the Capabilities, ClientGuid,
 * SecurityMode and dialect list of its NEGOTIATE request. The server checks
 * them against what it received and, if they differ (someone rewrote the
 * NEGOTIATE on the way), drops the connection. Otherwise it answers, signed,
 * with its own Capabilities, ServerGuid, SecurityMode and the dialect it
 * chose, and the client checks those against the NEGOTIATE response it got.
 * Either way a tampered negotiation cannot survive: a mismatch, an unsigned
 * or failed reply, or a dropped connection fails the mount with "downgrade
 * detected".
 *
 * 3.1.1 does not need it (the pre-auth integrity hash covers the negotiation,
 * and the spec forbids the FSCTL there); 2.x cannot carry it signed by a
 * derived key and has nothing to downgrade to worth protecting.
 */
import type { SmbConnection } from './connection.js';
import { SmbError, SmbProtocolError } from './errors.js';
import { SmbMessage } from './message.js';
import { NtStatus, statusName } from './ntstatus.js';
import { Smb2Command } from './pdu/header.js';
import {
  decodeIoctlResponse,
  decodeValidateNegotiateInfoResponse,
  encodeIoctlRequest,
  encodeValidateNegotiateInfoRequest,
  FSCTL_VALIDATE_NEGOTIATE_INFO,
  IoctlFlags,
} from './pdu/ioctl.js';
import type { Negotiated, SessionState } from './session.js';
import { Dialect } from './types.js';

/** The refusal of a mount whose negotiation did not validate. */
export class SmbDowngradeError extends SmbProtocolError {
  constructor(detail: string) {
    super(`downgrade detected: ${detail}`);
  }
}

/** Whether a session on this connection must validate its negotiation. */
export function needsValidateNegotiate(neg: Negotiated, session: SessionState): boolean {
  const d = neg.dialect;
  return (d === Dialect.SMB3_0 || d === Dialect.SMB3_0_2) && !session.isGuest && session.signingKey !== null;
}

const ALL_FF = Buffer.alloc(16, 0xff);

/** The IOCTL request message (signed) for a tree just connected. */
export function validateNegotiateMessage(neg: Negotiated, session: SessionState, treeId: number): SmbMessage {
  const input = encodeValidateNegotiateInfoRequest({
    capabilities: neg.sent.capabilities,
    guid: neg.sent.clientGuid,
    securityMode: neg.sent.securityMode,
    dialects: neg.sent.dialects,
  });
  const m = new SmbMessage(
    Smb2Command.IOCTL,
    encodeIoctlRequest({ ctlCode: FSCTL_VALIDATE_NEGOTIATE_INFO, fileId: ALL_FF, input, maxOutputResponse: 24, flags: IoctlFlags.IS_FSCTL }),
  );
  m.sessionId = session.sessionId;
  m.treeId = treeId;
  m.forceSign = true;
  // Part of setting a connection up: it goes out while a reconnect negotiates.
  m.setup = true;
  return m;
}

/**
 * Send FSCTL_VALIDATE_NEGOTIATE_INFO on `treeId` and check the signed reply
 * against the NEGOTIATE response. Resolves when the negotiation is proven;
 * rejects with SmbDowngradeError otherwise (the caller closes the connection).
 */
export async function validateNegotiate(conn: SmbConnection, neg: Negotiated, session: SessionState, treeId: number): Promise<void> {
  let r;
  try {
    r = await conn.request(validateNegotiateMessage(neg, session, treeId));
  } catch (e) {
    // A server that sees a different NEGOTIATE than ours drops the connection.
    const why = e instanceof SmbError ? e.message : String(e);
    throw new SmbDowngradeError(`VALIDATE_NEGOTIATE_INFO got no reply (${why}): the server saw a different NEGOTIATE than this client sent`);
  }
  // Only a signature that verified with this session's key (or the AEAD tag of
  // an encrypted reply) proves the answer came from the server; a SIGNED flag
  // proves nothing, since anyone on the path can set it.
  if (!r.verified && !r.sealed) {
    throw new SmbDowngradeError(`VALIDATE_NEGOTIATE_INFO reply not authenticated (${statusName(r.header.status)})`);
  }
  if (r.header.status !== NtStatus.STATUS_SUCCESS) {
    throw new SmbDowngradeError(`VALIDATE_NEGOTIATE_INFO failed with ${statusName(r.header.status)}`);
  }
  const out = decodeValidateNegotiateInfoResponse(decodeIoctlResponse(r.msg).output);
  const diffs: string[] = [];
  if (out.dialect !== neg.dialect) diffs.push(`dialect 0x${out.dialect.toString(16)} vs negotiated 0x${neg.dialect.toString(16)}`);
  if (!out.guid.equals(neg.serverGuid)) diffs.push('server GUID');
  if (out.securityMode !== neg.securityMode) diffs.push(`security mode ${out.securityMode} vs ${neg.securityMode}`);
  if (out.capabilities !== neg.capabilities) diffs.push(`capabilities 0x${out.capabilities.toString(16)} vs 0x${neg.capabilities.toString(16)}`);
  if (diffs.length > 0) throw new SmbDowngradeError(`the server's signed VALIDATE_NEGOTIATE_INFO differs from its NEGOTIATE response: ${diffs.join(', ')}`);
}

/**
 * SMB2 SESSION_SETUP (MS-SMB2 2.2.5 request, 2.2.6 response) and LOGOFF
 * is in misc.ts.
 *
 * Request body: 64 StructureSize (25)  66 Flags (1)  67 SecurityMode (1)
 *   68 Capabilities  72 Channel (0)  76 SecurityBufferOffset (2)
 *   78 SecurityBufferLength (2)  80 PreviousSessionId (8)  88 Buffer
 * Response body: 64 StructureSize (9)  66 SessionFlags  68 SecurityBufferOffset
 *   70 SecurityBufferLength  72 Buffer
 */
import { Writer, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, openResponseBody } from './header.js';

/** Request Flags (2.2.5). */
export const SessionSetupFlags = { BINDING: 0x01 } as const;

/** Response SessionFlags (2.2.6). */
export const SessionFlags = {
  IS_GUEST: 0x0001,
  IS_NULL: 0x0002,
  ENCRYPT_DATA: 0x0004,
} as const;

export interface SessionSetupRequest {
  flags: number;
  securityMode: number;
  capabilities: number;
  previousSessionId: bigint;
  securityBuffer: Buffer;
}

export interface SessionSetupResponse {
  sessionFlags: number;
  /** SPNEGO token view; may be empty. */
  securityBuffer: Buffer;
}

const REQ_FIXED = 24;
const RESP_FIXED = 8;

/** Encode the SESSION_SETUP request body. */
export function encodeSessionSetupRequest(req: SessionSetupRequest): Buffer {
  const len = req.securityBuffer.length;
  const w = new Writer(REQ_FIXED + Math.max(len, 1));
  w.u16(25);
  w.u8(req.flags);
  w.u8(req.securityMode);
  w.u32(req.capabilities);
  w.u32(0); // Channel
  w.u16(SMB2_HEADER_SIZE + REQ_FIXED); // SecurityBufferOffset
  w.u16(len);
  w.u64(req.previousSessionId);
  w.bytes(req.securityBuffer);
  return w.buf;
}

/** Decode a SESSION_SETUP response message. */
export function decodeSessionSetupResponse(msg: Buffer): SessionSetupResponse {
  const r = openResponseBody(msg, 9, RESP_FIXED, 'SESSION_SETUP');
  const sessionFlags = r.u16();
  const off = r.u16();
  const len = r.u16();
  const securityBuffer = sliceChecked(msg, off, len, SMB2_HEADER_SIZE + RESP_FIXED, 'SESSION_SETUP SecurityBuffer');
  return { sessionFlags, securityBuffer };
}

/**
 * SMB2 IOCTL (MS-SMB2 2.2.31 request, 2.2.32 response) and the
 * FSCTL_VALIDATE_NEGOTIATE_INFO payloads (2.2.31.4 request, 2.2.32.6 response).
 *
 * Request body: 64 StructureSize (57) 66 Reserved (2) 68 CtlCode 72 FileId (16)
 *   88 InputOffset 92 InputCount 96 MaxInputResponse 100 OutputOffset
 *  104 OutputCount 108 MaxOutputResponse 112 Flags 116 Reserved2 120 Buffer
 * Response body: 64 StructureSize (49) 66 Reserved (2) 68 CtlCode 72 FileId (16)
 *   88 InputOffset 92 InputCount 96 OutputOffset 100 OutputCount 104 Flags
 *  108 Reserved2 112 Buffer
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** IOCTL Flags (2.2.31). */
export const IoctlFlags = { IS_IOCTL: 0x00000000, IS_FSCTL: 0x00000001 } as const;

/** Control codes used by the client (2.2.31, MS-FSCC 2.3). */
export const FsctlCode = {
  FSCTL_DFS_GET_REFERRALS: 0x00060194,
  FSCTL_PIPE_TRANSCEIVE: 0x0011c017,
  FSCTL_SRV_REQUEST_RESUME_KEY: 0x00140078,
  FSCTL_QUERY_NETWORK_INTERFACE_INFO: 0x001401fc,
  FSCTL_VALIDATE_NEGOTIATE_INFO: 0x00140204,
  FSCTL_SRV_COPYCHUNK: 0x001440f2,
  FSCTL_SRV_COPYCHUNK_WRITE: 0x001480f2,
  FSCTL_SET_REPARSE_POINT: 0x000900a4,
  FSCTL_GET_REPARSE_POINT: 0x000900a8,
  FSCTL_SET_SPARSE: 0x000900c4,
  FSCTL_SET_ZERO_DATA: 0x000980c8,
} as const;

export const FSCTL_VALIDATE_NEGOTIATE_INFO = FsctlCode.FSCTL_VALIDATE_NEGOTIATE_INFO;

export interface IoctlRequest {
  ctlCode: number;
  /** 16 bytes; all 0xFF for requests not tied to a file (VALIDATE_NEGOTIATE_INFO). */
  fileId: Buffer;
  input: Buffer;
  maxOutputResponse: number;
  flags: number;
}

export interface IoctlResponse {
  ctlCode: number;
  fileId: Buffer;
  input: Buffer;
  output: Buffer;
  flags: number;
}

const REQ_FIXED = 56;
const RESP_FIXED = 48;

/** Encode the IOCTL request body. */
export function encodeIoctlRequest(req: IoctlRequest): Buffer {
  assertFileId(req.fileId);
  const w = new Writer(REQ_FIXED + Math.max(req.input.length, 1));
  w.u16(57);
  w.zeros(2);
  w.u32(req.ctlCode);
  w.bytes(req.fileId);
  w.u32(req.input.length > 0 ? SMB2_HEADER_SIZE + REQ_FIXED : 0); // InputOffset
  w.u32(req.input.length);
  w.u32(0); // MaxInputResponse
  w.u32(0); // OutputOffset
  w.u32(0); // OutputCount
  w.u32(req.maxOutputResponse);
  w.u32(req.flags);
  w.zeros(4);
  w.bytes(req.input);
  return w.buf;
}

/** Decode an IOCTL response message. */
export function decodeIoctlResponse(msg: Buffer): IoctlResponse {
  const r = openResponseBody(msg, 49, RESP_FIXED, 'IOCTL');
  r.skip(2);
  const ctlCode = r.u32();
  const fileId = r.bytes(16);
  const inOff = r.u32();
  const inLen = r.u32();
  const outOff = r.u32();
  const outLen = r.u32();
  const flags = r.u32();
  const min = SMB2_HEADER_SIZE + RESP_FIXED;
  return {
    ctlCode,
    fileId,
    input: sliceChecked(msg, inOff, inLen, min, 'IOCTL Input'),
    output: sliceChecked(msg, outOff, outLen, min, 'IOCTL Output'),
    flags,
  };
}

export interface ValidateNegotiateInfoRequest {
  capabilities: number;
  guid: Buffer;
  securityMode: number;
  dialects: number[];
}

export interface ValidateNegotiateInfoResponse {
  capabilities: number;
  guid: Buffer;
  securityMode: number;
  dialect: number;
}

/** VALIDATE_NEGOTIATE_INFO input (2.2.31.4): Capabilities, Guid, SecurityMode, DialectCount, Dialects. */
export function encodeValidateNegotiateInfoRequest(v: ValidateNegotiateInfoRequest): Buffer {
  if (v.guid.length !== 16) throw new RangeError('guid must be 16 bytes');
  const w = new Writer(24 + 2 * v.dialects.length);
  w.u32(v.capabilities).bytes(v.guid).u16(v.securityMode).u16(v.dialects.length);
  for (const d of v.dialects) w.u16(d);
  return w.buf;
}

/** VALIDATE_NEGOTIATE_INFO output (2.2.32.6), 24 bytes. */
export function decodeValidateNegotiateInfoResponse(buf: Buffer): ValidateNegotiateInfoResponse {
  if (buf.length < 24) throw new SmbProtocolError(`VALIDATE_NEGOTIATE_INFO response of ${buf.length} bytes`);
  const r = new Reader(buf);
  return { capabilities: r.u32(), guid: r.bytes(16), securityMode: r.u16(), dialect: r.u16() };
}

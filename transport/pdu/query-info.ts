/**
 * SMB2 QUERY_INFO (MS-SMB2 2.2.37 request, 2.2.38 response) and SET_INFO
 * (2.2.39 request, 2.2.40 response).
 *
 * QUERY_INFO request body: 64 StructureSize (41) 66 InfoType (1)
 *   67 FileInfoClass (1) 68 OutputBufferLength 72 InputBufferOffset (2)
 *   74 Reserved (2) 76 InputBufferLength 80 AdditionalInformation 84 Flags
 *   88 FileId (16) 104 Buffer
 * QUERY_INFO response body: 64 StructureSize (9) 66 OutputBufferOffset (2)
 *   68 OutputBufferLength 72 Buffer
 * SET_INFO request body: 64 StructureSize (33) 66 InfoType 67 FileInfoClass
 *   68 BufferLength 72 BufferOffset (2) 74 Reserved (2)
 *   76 AdditionalInformation 80 FileId (16) 96 Buffer
 * SET_INFO response body: StructureSize (2).
 */
import { Writer, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** InfoType (2.2.37): SMB2_0_INFO_*. */
export const InfoType = {
  FILE: 0x01,
  FILESYSTEM: 0x02,
  SECURITY: 0x03,
  QUOTA: 0x04,
} as const;

/** AdditionalInformation for SECURITY queries (2.2.37). */
export const SecurityInformation = {
  OWNER: 0x00000001,
  GROUP: 0x00000002,
  DACL: 0x00000004,
  SACL: 0x00000008,
  LABEL: 0x00000010,
  ATTRIBUTE: 0x00000020,
  SCOPE: 0x00000040,
  BACKUP: 0x00010000,
} as const;

/** QUERY_INFO Flags, used with FileFullEaInformation (2.2.37). */
export const QueryInfoFlags = {
  SL_RESTART_SCAN: 0x00000001,
  SL_RETURN_SINGLE_ENTRY: 0x00000002,
  SL_INDEX_SPECIFIED: 0x00000004,
} as const;

export interface QueryInfoRequest {
  infoType: number;
  fileInfoClass: number;
  outputBufferLength: number;
  additionalInformation: number;
  flags: number;
  fileId: Buffer;
  inputBuffer?: Buffer;
}

export interface QueryInfoResponse {
  /** View of the info structure. */
  outputBuffer: Buffer;
}

export interface SetInfoRequest {
  infoType: number;
  fileInfoClass: number;
  additionalInformation: number;
  fileId: Buffer;
  buffer: Buffer;
}

const QI_FIXED = 40;
const SI_FIXED = 32;

/** Encode the QUERY_INFO request body. */
export function encodeQueryInfoRequest(req: QueryInfoRequest): Buffer {
  assertFileId(req.fileId);
  const input = req.inputBuffer ?? Buffer.alloc(0);
  const w = new Writer(QI_FIXED + Math.max(input.length, 1));
  w.u16(41);
  w.u8(req.infoType);
  w.u8(req.fileInfoClass);
  w.u32(req.outputBufferLength);
  w.u16(input.length > 0 ? SMB2_HEADER_SIZE + QI_FIXED : 0);
  w.zeros(2);
  w.u32(input.length);
  w.u32(req.additionalInformation);
  w.u32(req.flags);
  w.bytes(req.fileId);
  w.bytes(input);
  return w.buf;
}

/** Decode a QUERY_INFO response message. */
export function decodeQueryInfoResponse(msg: Buffer): QueryInfoResponse {
  const r = openResponseBody(msg, 9, 8, 'QUERY_INFO');
  const off = r.u16();
  const len = r.u32();
  return { outputBuffer: sliceChecked(msg, off, len, SMB2_HEADER_SIZE + 8, 'QUERY_INFO OutputBuffer') };
}

/** Encode the SET_INFO request body. */
export function encodeSetInfoRequest(req: SetInfoRequest): Buffer {
  assertFileId(req.fileId);
  const w = new Writer(SI_FIXED + Math.max(req.buffer.length, 1));
  w.u16(33);
  w.u8(req.infoType);
  w.u8(req.fileInfoClass);
  w.u32(req.buffer.length);
  w.u16(SMB2_HEADER_SIZE + SI_FIXED);
  w.zeros(2);
  w.u32(req.additionalInformation);
  w.bytes(req.fileId);
  w.bytes(req.buffer);
  return w.buf;
}

/** Validate a SET_INFO response message (StructureSize 2). */
export function decodeSetInfoResponse(msg: Buffer): void {
  openResponseBody(msg, 2, 2, 'SET_INFO');
}

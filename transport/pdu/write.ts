/**
 * SMB2 WRITE (MS-SMB2 2.2.21 request, 2.2.22 response).
 *
 * Request body: 64 StructureSize (49) 66 DataOffset (2) 68 Length 72 Offset (8)
 *   80 FileId (16) 96 Channel 100 RemainingBytes 104 WriteChannelInfoOffset (2)
 *  106 WriteChannelInfoLength (2) 108 Flags 112 Buffer (the data)
 * Only the 48-byte fixed part is encoded; the payload follows it on the wire
 * as chain slices, so DataOffset is always 64 + 48 = 0x70.
 * Response body: 64 StructureSize (17) 66 Reserved 68 Count 72 Remaining
 *   76 WriteChannelInfoOffset (2) 78 WriteChannelInfoLength (2)
 */
import { Writer } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** Write request Flags (2.2.21). */
export const WriteFlags = {
  WRITE_THROUGH: 0x00000001,
  WRITE_UNBUFFERED: 0x00000002,
} as const;

export const WRITE_REQUEST_FIXED = 48;
/** DataOffset of every WRITE we send. */
export const WRITE_DATA_OFFSET = SMB2_HEADER_SIZE + WRITE_REQUEST_FIXED;

export interface WriteRequest {
  offset: number;
  fileId: Buffer;
  /** Payload length in bytes (sent separately). */
  length: number;
  flags: number;
  remainingBytes?: number;
}

export interface WriteResponse {
  count: number;
  remaining: number;
}

/** Encode the WRITE request fixed part (48 bytes). */
export function encodeWriteRequest(req: WriteRequest): Buffer {
  assertFileId(req.fileId);
  const w = new Writer(WRITE_REQUEST_FIXED);
  w.u16(49);
  w.u16(WRITE_DATA_OFFSET);
  w.u32(req.length);
  w.u64(req.offset);
  w.bytes(req.fileId);
  w.u32(0); // Channel
  w.u32(req.remainingBytes ?? 0);
  w.u16(0).u16(0); // WriteChannelInfoOffset/Length
  w.u32(req.flags);
  return w.buf;
}

/** Decode a WRITE response message. */
export function decodeWriteResponse(msg: Buffer): WriteResponse {
  const r = openResponseBody(msg, 17, 16, 'WRITE');
  r.skip(2);
  const count = r.u32();
  const remaining = r.u32();
  return { count, remaining };
}

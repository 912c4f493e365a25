/**
 * SMB2 READ (MS-SMB2 2.2.19 request, 2.2.20 response).
 *
 * Request body: 64 StructureSize (49) 66 Padding (1) 67 Flags (1) 68 Length
 *   72 Offset (8) 80 FileId (16) 96 MinimumCount 100 Channel 104 RemainingBytes
 *  108 ReadChannelInfoOffset (2) 110 ReadChannelInfoLength (2) 112 Buffer (1 byte)
 * Response body: 64 StructureSize (17) 66 DataOffset (1) 67 Reserved (1)
 *   68 DataLength 72 DataRemaining 76 Flags/Reserved2 80 Buffer
 *
 * The receiver decodes only the fixed part (decodeReadResponseFixed) and
 * decants [dataOffset, dataOffset+dataLength) from the socket chunks straight
 * into the caller's chain; it checks that range against the frame length.
 */
import { SmbProtocolError } from '../errors.js';
import { Writer, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** Read request Flags (2.2.19). */
export const ReadFlags = {
  READ_UNBUFFERED: 0x01,
  REQUEST_COMPRESSED: 0x02,
} as const;

/** Header + fixed part of a READ response: what the receiver must have first. */
export const READ_RESPONSE_FIXED_END = SMB2_HEADER_SIZE + 16;

export interface ReadRequest {
  /** Where the server should place data in its reply (0x50 = right after the fixed part). */
  padding: number;
  flags: number;
  length: number;
  offset: number;
  fileId: Buffer;
  minimumCount: number;
  channel: number;
  remainingBytes: number;
}

export interface ReadResponseFixed {
  /** Message offset of the data. */
  dataOffset: number;
  dataLength: number;
  dataRemaining: number;
}

/** Encode the READ request body (49 bytes, the last a zero Buffer byte). */
export function encodeReadRequest(req: ReadRequest): Buffer {
  assertFileId(req.fileId);
  const w = new Writer(49);
  w.u16(49);
  w.u8(req.padding);
  w.u8(req.flags);
  w.u32(req.length);
  w.u64(req.offset);
  w.bytes(req.fileId);
  w.u32(req.minimumCount);
  w.u32(req.channel);
  w.u32(req.remainingBytes);
  w.u16(0).u16(0); // ReadChannelInfoOffset/Length
  w.zeros(1);
  return w.buf;
}

/**
 * Decode the fixed part of a READ response. `msg` may hold just the header
 * and the 16 fixed bytes. A non-empty payload must start at or after the
 * fixed part (DataOffset ≥ 80); the caller checks it against the frame.
 */
export function decodeReadResponseFixed(msg: Buffer): ReadResponseFixed {
  const r = openResponseBody(msg, 17, 16, 'READ');
  const dataOffset = r.u8();
  r.skip(1);
  const dataLength = r.u32();
  const dataRemaining = r.u32();
  if (dataLength > 0 && dataOffset < READ_RESPONSE_FIXED_END) {
    throw new SmbProtocolError(`READ: DataOffset ${dataOffset} inside header or fixed part`);
  }
  return { dataOffset, dataLength, dataRemaining };
}

/** Decode a whole READ response (for callers that hold the full message). */
export function decodeReadResponse(msg: Buffer): ReadResponseFixed & { data: Buffer } {
  const f = decodeReadResponseFixed(msg);
  const data = sliceChecked(msg, f.dataOffset, f.dataLength, READ_RESPONSE_FIXED_END, 'READ data');
  return { ...f, data };
}

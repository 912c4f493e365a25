/**
 * SMB2 CLOSE (MS-SMB2 2.2.15 request, 2.2.16 response).
 *
 * Request body: 64 StructureSize (24) 66 Flags 68 Reserved (4) 72 FileId (16)
 * Response body: 64 StructureSize (60) 66 Flags 68 Reserved (4)
 *   72 CreationTime 80 LastAccessTime 88 LastWriteTime 96 ChangeTime
 *  104 AllocationSize 112 EndofFile 120 FileAttributes
 * The attribute fields are valid only if the response Flags has POSTQUERY_ATTRIB.
 */
import { Writer } from './codec.js';
import { assertFileId, openResponseBody } from './header.js';

export const CloseFlags = { POSTQUERY_ATTRIB: 0x0001 } as const;

export interface CloseRequest {
  flags: number;
  fileId: Buffer;
}

export interface CloseResponse {
  flags: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: number;
  endOfFile: number;
  fileAttributes: number;
}

/** Encode the CLOSE request body. */
export function encodeCloseRequest(req: CloseRequest): Buffer {
  assertFileId(req.fileId);
  return new Writer(24).u16(24).u16(req.flags).zeros(4).bytes(req.fileId).buf;
}

/** Decode a CLOSE response message. */
export function decodeCloseResponse(msg: Buffer): CloseResponse {
  const r = openResponseBody(msg, 60, 60, 'CLOSE');
  const flags = r.u16();
  r.skip(4);
  return {
    flags,
    creationTime: r.u64(),
    lastAccessTime: r.u64(),
    lastWriteTime: r.u64(),
    changeTime: r.u64(),
    allocationSize: r.u64n(),
    endOfFile: r.u64n(),
    fileAttributes: r.u32(),
  };
}

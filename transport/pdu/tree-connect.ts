/**
 * SMB2 TREE_CONNECT (MS-SMB2 2.2.9 request, 2.2.10 response) and
 * TREE_DISCONNECT (2.2.11 request, 2.2.12 response).
 *
 * Request body: 64 StructureSize (9)  66 Flags/Reserved  68 PathOffset
 *   70 PathLength  72 Buffer (UTF-16LE "\\server\share")
 * Response body: 64 StructureSize (16)  66 ShareType (1)  67 Reserved (1)
 *   68 ShareFlags  72 Capabilities  76 MaximalAccess
 */
import { Writer, utf16le } from './codec.js';
import { SMB2_HEADER_SIZE, openResponseBody } from './header.js';

/** TREE_CONNECT request Flags, SMB 3.1.1 only (2.2.9). */
export const TreeConnectFlags = {
  CLUSTER_RECONNECT: 0x0001,
  REDIRECT_TO_OWNER: 0x0002,
  EXTENSION_PRESENT: 0x0004,
} as const;

/** ShareType (2.2.10). */
export const ShareType = { DISK: 0x01, PIPE: 0x02, PRINT: 0x03 } as const;

/** ShareFlags (2.2.10); the caching policy is the CACHING_MASK field. */
export const ShareFlags = {
  MANUAL_CACHING: 0x00000000,
  AUTO_CACHING: 0x00000010,
  VDO_CACHING: 0x00000020,
  NO_CACHING: 0x00000030,
  CACHING_MASK: 0x00000030,
  DFS: 0x00000001,
  DFS_ROOT: 0x00000002,
  RESTRICT_EXCLUSIVE_OPENS: 0x00000100,
  FORCE_SHARED_DELETE: 0x00000200,
  ALLOW_NAMESPACE_CACHING: 0x00000400,
  ACCESS_BASED_DIRECTORY_ENUM: 0x00000800,
  FORCE_LEVELII_OPLOCK: 0x00001000,
  ENABLE_HASH_V1: 0x00002000,
  ENABLE_HASH_V2: 0x00004000,
  ENCRYPT_DATA: 0x00008000,
  IDENTITY_REMOTING: 0x00040000,
  COMPRESS_DATA: 0x00100000,
} as const;

/** Share Capabilities (2.2.10). */
export const ShareCapabilities = {
  DFS: 0x00000008,
  CONTINUOUS_AVAILABILITY: 0x00000010,
  SCALEOUT: 0x00000020,
  CLUSTER: 0x00000040,
  ASYMMETRIC: 0x00000080,
  REDIRECT_TO_OWNER: 0x00000100,
} as const;

export interface TreeConnectRequest {
  /** "\\server\share". */
  path: string;
  /** 3.1.1 Flags; 0 otherwise. */
  flags?: number;
}

export interface TreeConnectResponse {
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

const REQ_FIXED = 8;

/** Encode the TREE_CONNECT request body. */
export function encodeTreeConnectRequest(req: TreeConnectRequest): Buffer {
  const path = utf16le(req.path);
  if (path.length > 0xffff) throw new RangeError('TREE_CONNECT path too long');
  const w = new Writer(REQ_FIXED + Math.max(path.length, 1));
  w.u16(9);
  w.u16(req.flags ?? 0);
  w.u16(SMB2_HEADER_SIZE + REQ_FIXED); // PathOffset
  w.u16(path.length);
  w.bytes(path);
  return w.buf;
}

/** Decode a TREE_CONNECT response message. */
export function decodeTreeConnectResponse(msg: Buffer): TreeConnectResponse {
  const r = openResponseBody(msg, 16, 16, 'TREE_CONNECT');
  const shareType = r.u8();
  r.skip(1);
  const shareFlags = r.u32();
  const capabilities = r.u32();
  const maximalAccess = r.u32();
  return { shareType, shareFlags, capabilities, maximalAccess };
}

/** Encode the TREE_DISCONNECT request body: StructureSize 4, Reserved. */
export function encodeTreeDisconnectRequest(): Buffer {
  return new Writer(4).u16(4).zeros(2).buf;
}

/** Validate a TREE_DISCONNECT response message (StructureSize 4). */
export function decodeTreeDisconnectResponse(msg: Buffer): void {
  openResponseBody(msg, 4, 4, 'TREE_DISCONNECT');
}

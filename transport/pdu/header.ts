/**
 * SMB2 packet header (MS-SMB2 2.2.1: 2.2.1.1 ASYNC, 2.2.1.2 SYNC) and the
 * SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
 *
 * SMB2 header, 64 bytes:
 *    0 ProtocolId 0xFE 'S' 'M' 'B'     4 StructureSize (64)
 *    6 CreditCharge                    8 Status / ChannelSequence+Reserved
 *   12 Command                        14 CreditRequest / CreditResponse
 *   16 Flags                          20 NextCommand
 *   24 MessageId (8)                  32 AsyncId (8) | Reserved (4) TreeId (4)
 *   40 SessionId (8)                  48 Signature (16)
 *
 * Transform header, 52 bytes:
 *    0 ProtocolId 0xFD 'S' 'M' 'B'     4 Signature (16)   20 Nonce (16)
 *   36 OriginalMessageSize (4)        40 Reserved (2)    42 Flags (2)
 *   44 SessionId (8)
 */
import { SmbProtocolError } from '../errors.js';
import { Reader } from './codec.js';

export { Smb2Command, smb2CommandName } from './commands.js';

/** Flags field of the SMB2 header (MS-SMB2 2.2.1.2). */
export const Smb2Flags = {
  SERVER_TO_REDIR: 0x00000001,
  ASYNC_COMMAND: 0x00000002,
  RELATED_OPERATIONS: 0x00000004,
  SIGNED: 0x00000008,
  PRIORITY_MASK: 0x00000070,
  DFS_OPERATIONS: 0x10000000,
  REPLAY_OPERATION: 0x20000000,
} as const;

export const SMB2_HEADER_SIZE = 64;
export const SMB2_TRANSFORM_HEADER_SIZE = 52;

/** ProtocolId values as little-endian u32 of the first four bytes. */
export const PROTOCOL_ID_SMB2 = 0x424d53fe; // FE 'S' 'M' 'B'
export const PROTOCOL_ID_TRANSFORM = 0x424d53fd; // FD 'S' 'M' 'B'
export const PROTOCOL_ID_COMPRESSION = 0x424d53fc; // FC 'S' 'M' 'B' (2.2.42), not supported
export const PROTOCOL_ID_SMB1 = 0x424d53ff; // FF 'S' 'M' 'B'

/** Transform header Flags: the message is encrypted (MS-SMB2 2.2.41). */
export const TRANSFORM_FLAG_ENCRYPTED = 0x0001;

export interface Smb2Header {
  creditCharge: number;
  /** NTSTATUS in replies; 0 in requests (ChannelSequence 0, Reserved 0). */
  status: number;
  command: number;
  /** CreditRequest in requests, CreditResponse in replies. */
  creditRequest: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** 0n for a sync header. */
  asyncId: bigint;
  /** 0 in an async header (the field is part of AsyncId). */
  treeId: number;
  sessionId: bigint;
  /** 16 bytes; a view into the message when decoded. */
  signature: Buffer;
}

export type ProtocolKind = 'smb2' | 'transform' | 'compression' | 'smb1' | 'unknown';

/**
 * Classify a frame by its first four bytes, so the receiver can decrypt a
 * transform, reject SMB1 (a server answering an SMB2 negotiate with SMB1
 * does not speak SMB2) and refuse anything else. Needs at least 4 bytes.
 */
export function protocolKind(buf: Buffer, off = 0): ProtocolKind {
  if (buf.length - off < 4) throw new SmbProtocolError(`frame of ${buf.length - off} bytes has no ProtocolId`);
  switch (buf.readUInt32LE(off)) {
    case PROTOCOL_ID_SMB2:
      return 'smb2';
    case PROTOCOL_ID_TRANSFORM:
      return 'transform';
    case PROTOCOL_ID_COMPRESSION:
      return 'compression';
    case PROTOCOL_ID_SMB1:
      return 'smb1';
    default:
      return 'unknown';
  }
}

/** True if the frame starts with 0xFF 'SMB' (an SMB1 message). */
export function isSmb1(buf: Buffer, off = 0): boolean {
  return buf.length - off >= 4 && buf.readUInt32LE(off) === PROTOCOL_ID_SMB1;
}

/**
 * Write the 64-byte header at out[off]. The sync form carries TreeId; the
 * async form (Flags has ASYNC_COMMAND) carries AsyncId instead.
 */
export function encodeHeader(h: Smb2Header, out: Buffer, off = 0): void {
  if (out.length - off < SMB2_HEADER_SIZE) throw new RangeError('encodeHeader: no room for 64 bytes');
  if (h.signature.length !== 16 && h.signature.length !== 0) {
    throw new RangeError('encodeHeader: signature must be 16 bytes');
  }
  out.writeUInt32LE(PROTOCOL_ID_SMB2, off);
  out.writeUInt16LE(SMB2_HEADER_SIZE, off + 4);
  out.writeUInt16LE(h.creditCharge, off + 6);
  out.writeUInt32LE(h.status >>> 0, off + 8);
  out.writeUInt16LE(h.command, off + 12);
  out.writeUInt16LE(h.creditRequest, off + 14);
  out.writeUInt32LE(h.flags >>> 0, off + 16);
  out.writeUInt32LE(h.nextCommand >>> 0, off + 20);
  out.writeBigUInt64LE(h.messageId, off + 24);
  if (h.flags & Smb2Flags.ASYNC_COMMAND) {
    out.writeBigUInt64LE(h.asyncId, off + 32);
  } else {
    out.writeUInt32LE(0, off + 32);
    out.writeUInt32LE(h.treeId >>> 0, off + 36);
  }
  out.writeBigUInt64LE(h.sessionId, off + 40);
  if (h.signature.length === 16) h.signature.copy(out, off + 48);
  else out.fill(0, off + 48, off + 64);
}

/** Decode the header at buf[off]; checks ProtocolId, StructureSize and length. */
export function decodeHeader(buf: Buffer, off = 0): Smb2Header {
  if (buf.length - off < SMB2_HEADER_SIZE) {
    throw new SmbProtocolError(`SMB2 header truncated: ${buf.length - off} of 64 bytes`);
  }
  const kind = protocolKind(buf, off);
  if (kind !== 'smb2') throw new SmbProtocolError(`not an SMB2 header (ProtocolId kind ${kind})`);
  const r = new Reader(buf, off, off + SMB2_HEADER_SIZE);
  r.skip(4);
  const structureSize = r.u16();
  if (structureSize !== SMB2_HEADER_SIZE) {
    throw new SmbProtocolError(`SMB2 header StructureSize ${structureSize}, expected 64`);
  }
  const creditCharge = r.u16();
  const status = r.u32();
  const command = r.u16();
  const creditRequest = r.u16();
  const flags = r.u32();
  const nextCommand = r.u32();
  const messageId = r.u64();
  let asyncId = 0n;
  let treeId = 0;
  if (flags & Smb2Flags.ASYNC_COMMAND) {
    asyncId = r.u64();
  } else {
    r.skip(4);
    treeId = r.u32();
  }
  const sessionId = r.u64();
  const signature = r.bytes(16);
  return { creditCharge, status, command, creditRequest, flags, nextCommand, messageId, asyncId, treeId, sessionId, signature };
}

/** A header plus body concatenated into one new buffer (for NEGOTIATE, tests). */
export function encodeMessage(h: Smb2Header, body: Buffer): Buffer {
  const out = Buffer.alloc(SMB2_HEADER_SIZE + body.length);
  encodeHeader(h, out, 0);
  body.copy(out, SMB2_HEADER_SIZE);
  return out;
}

export interface TransformHeader {
  /** 16-byte AEAD tag. */
  signature: Buffer;
  /** 16 bytes on the wire; CCM uses the first 11, GCM the first 12, the rest zero. */
  nonce: Buffer;
  originalMessageSize: number;
  /** 0x0001 = encrypted (3.1.1 Flags; EncryptionAlgorithm AES-128-CCM in 3.0). */
  flags: number;
  sessionId: bigint;
}

/** Write the 52-byte transform header at out[off]. */
export function encodeTransformHeader(h: TransformHeader, out: Buffer, off = 0): void {
  if (out.length - off < SMB2_TRANSFORM_HEADER_SIZE) throw new RangeError('encodeTransformHeader: no room');
  if (h.signature.length !== 16) throw new RangeError('transform signature must be 16 bytes');
  if (h.nonce.length > 16) throw new RangeError('transform nonce longer than 16 bytes');
  out.writeUInt32LE(PROTOCOL_ID_TRANSFORM, off);
  h.signature.copy(out, off + 4);
  out.fill(0, off + 20, off + 36);
  h.nonce.copy(out, off + 20);
  out.writeUInt32LE(h.originalMessageSize >>> 0, off + 36);
  out.writeUInt16LE(0, off + 40);
  out.writeUInt16LE(h.flags, off + 42);
  out.writeBigUInt64LE(h.sessionId, off + 44);
}

/** Decode a transform header at buf[off] (signature and nonce are views). */
export function decodeTransformHeader(buf: Buffer, off = 0): TransformHeader {
  if (buf.length - off < SMB2_TRANSFORM_HEADER_SIZE) {
    throw new SmbProtocolError(`transform header truncated: ${buf.length - off} of 52 bytes`);
  }
  if (buf.readUInt32LE(off) !== PROTOCOL_ID_TRANSFORM) throw new SmbProtocolError('not a transform header');
  const r = new Reader(buf, off, off + SMB2_TRANSFORM_HEADER_SIZE);
  r.skip(4);
  const signature = r.bytes(16);
  const nonce = r.bytes(16);
  const originalMessageSize = r.u32();
  r.skip(2);
  const flags = r.u16();
  const sessionId = r.u64();
  return { signature, nonce, originalMessageSize, flags, sessionId };
}

/**
 * Open the body of one response message: checks that msg holds the header
 * and at least `fixedLen` body bytes and that the body's StructureSize is
 * `structureSize`. Returns a Reader over msg positioned after StructureSize
 * (message offset 66), so offsets read later are message-relative.
 */
export function openResponseBody(msg: Buffer, structureSize: number, fixedLen: number, what: string): Reader {
  if (msg.length < SMB2_HEADER_SIZE + fixedLen) {
    throw new SmbProtocolError(`${what} response truncated: ${msg.length} bytes, need ${SMB2_HEADER_SIZE + fixedLen}`);
  }
  const r = new Reader(msg);
  r.seek(SMB2_HEADER_SIZE);
  const ss = r.u16();
  if (ss !== structureSize) {
    throw new SmbProtocolError(`${what} response StructureSize ${ss}, expected ${structureSize}`);
  }
  return r;
}

/** Writer-side check: a FileId must be 16 bytes (MS-SMB2 2.2.14.1). */
export function assertFileId(fileId: Buffer): void {
  if (fileId.length !== 16) throw new RangeError(`FileId must be 16 bytes, got ${fileId.length}`);
}

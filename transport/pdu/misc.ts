/**
 * Small SMB2 commands and server messages: ECHO (MS-SMB2 2.2.28/2.2.29),
 * LOGOFF (2.2.7/2.2.8), FLUSH (2.2.17/2.2.18), CANCEL (2.2.30), the ERROR
 * response (2.2.2), and OPLOCK_BREAK: oplock break notification (2.2.23.1),
 * lease break notification (2.2.23.2), acknowledgments (2.2.24.1/2.2.24.2)
 * and responses (2.2.25.1/2.2.25.2).
 */
import { SmbProtocolError } from '../errors.js';
import { Writer, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** The 4-byte body shared by ECHO, LOGOFF, CANCEL requests: StructureSize 4, Reserved. */
function tiny(): Buffer {
  return new Writer(4).u16(4).zeros(2).buf;
}

/** ECHO request body (2.2.28). */
export function encodeEchoRequest(): Buffer {
  return tiny();
}

/** Validate an ECHO response (2.2.29). */
export function decodeEchoResponse(msg: Buffer): void {
  openResponseBody(msg, 4, 4, 'ECHO');
}

/** LOGOFF request body (2.2.7). */
export function encodeLogoffRequest(): Buffer {
  return tiny();
}

/** Validate a LOGOFF response (2.2.8). */
export function decodeLogoffResponse(msg: Buffer): void {
  openResponseBody(msg, 4, 4, 'LOGOFF');
}

/** CANCEL request body (2.2.30); the header names the request to cancel. */
export function encodeCancelRequest(): Buffer {
  return tiny();
}

/** FLUSH request body (2.2.17): StructureSize 24, Reserved1 (2), Reserved2 (4), FileId. */
export function encodeFlushRequest(req: { fileId: Buffer }): Buffer {
  assertFileId(req.fileId);
  return new Writer(24).u16(24).zeros(2).zeros(4).bytes(req.fileId).buf;
}

/** Validate a FLUSH response (2.2.18). */
export function decodeFlushResponse(msg: Buffer): void {
  openResponseBody(msg, 4, 4, 'FLUSH');
}

export interface ErrorResponse {
  errorContextCount: number;
  /** View of ErrorData (ByteCount bytes; error contexts in 3.1.1). */
  errorData: Buffer;
}

/**
 * ERROR response (2.2.2): StructureSize 9, ErrorContextCount (1),
 * Reserved (1), ByteCount (4), ErrorData at message offset 72.
 */
export function decodeErrorResponse(msg: Buffer): ErrorResponse {
  const r = openResponseBody(msg, 9, 8, 'ERROR');
  const errorContextCount = r.u8();
  r.skip(1);
  const byteCount = r.u32();
  const errorData = sliceChecked(msg, SMB2_HEADER_SIZE + 8, byteCount, SMB2_HEADER_SIZE + 8, 'ERROR ErrorData');
  return { errorContextCount, errorData };
}

/** Lease break notification Flags (2.2.23.2). */
export const LeaseBreakFlags = { ACK_REQUIRED: 0x00000001 } as const;

export interface OplockBreakNotification {
  kind: 'oplock';
  oplockLevel: number;
  fileId: Buffer;
}

export interface LeaseBreakNotification {
  kind: 'lease';
  newEpoch: number;
  flags: number;
  leaseKey: Buffer;
  currentLeaseState: number;
  newLeaseState: number;
  breakReason: number;
  accessMaskHint: number;
  shareMaskHint: number;
}

export interface LeaseBreakResponse {
  kind: 'lease';
  flags: number;
  leaseKey: Buffer;
  leaseState: number;
  leaseDuration: bigint;
}

/**
 * Decode an OPLOCK_BREAK message from the server: a notification, which
 * is an oplock break (StructureSize 24: OplockLevel, Reserved, Reserved2 (4),
 * FileId) or a lease break (StructureSize 44: NewEpoch, Flags, LeaseKey (16),
 * CurrentLeaseState, NewLeaseState, BreakReason, AccessMaskHint,
 * ShareMaskHint).
 */
export function decodeOplockBreakNotification(msg: Buffer): OplockBreakNotification | LeaseBreakNotification {
  if (msg.length < SMB2_HEADER_SIZE + 2) throw new SmbProtocolError('OPLOCK_BREAK truncated');
  const ss = msg.readUInt16LE(SMB2_HEADER_SIZE);
  if (ss === 24) {
    const r = openResponseBody(msg, 24, 24, 'OPLOCK_BREAK');
    const oplockLevel = r.u8();
    r.skip(5);
    return { kind: 'oplock', oplockLevel, fileId: r.bytes(16) };
  }
  if (ss === 44) {
    const r = openResponseBody(msg, 44, 44, 'LEASE_BREAK');
    return {
      kind: 'lease',
      newEpoch: r.u16(),
      flags: r.u32(),
      leaseKey: r.bytes(16),
      currentLeaseState: r.u32(),
      newLeaseState: r.u32(),
      breakReason: r.u32(),
      accessMaskHint: r.u32(),
      shareMaskHint: r.u32(),
    };
  }
  throw new SmbProtocolError(`OPLOCK_BREAK StructureSize ${ss}, expected 24 or 44`);
}

/** Oplock break acknowledgment (2.2.24.1): StructureSize 24, OplockLevel, Reserved (1+4), FileId. */
export function encodeOplockBreakAck(req: { oplockLevel: number; fileId: Buffer }): Buffer {
  assertFileId(req.fileId);
  return new Writer(24).u16(24).u8(req.oplockLevel).zeros(5).bytes(req.fileId).buf;
}

/**
 * Lease break acknowledgment (2.2.24.2): StructureSize 36, Reserved (2),
 * Flags (4, 0), LeaseKey (16), LeaseState (4), LeaseDuration (8, 0).
 */
export function encodeLeaseBreakAck(req: { leaseKey: Buffer; leaseState: number }): Buffer {
  assertFileId(req.leaseKey);
  return new Writer(36).u16(36).zeros(2).u32(0).bytes(req.leaseKey).u32(req.leaseState).u64(0n).buf;
}

/** Decode the server's reply to an acknowledgment (2.2.25.1 oplock, 2.2.25.2 lease). */
export function decodeOplockBreakResponse(msg: Buffer): OplockBreakNotification | LeaseBreakResponse {
  if (msg.length < SMB2_HEADER_SIZE + 2) throw new SmbProtocolError('OPLOCK_BREAK response truncated');
  const ss = msg.readUInt16LE(SMB2_HEADER_SIZE);
  if (ss === 24) {
    const r = openResponseBody(msg, 24, 24, 'OPLOCK_BREAK');
    const oplockLevel = r.u8();
    r.skip(5);
    return { kind: 'oplock', oplockLevel, fileId: r.bytes(16) };
  }
  const r = openResponseBody(msg, 36, 36, 'LEASE_BREAK');
  r.skip(2);
  const flags = r.u32();
  const leaseKey = r.bytes(16);
  const leaseState = r.u32();
  const leaseDuration = r.u64();
  return { kind: 'lease', flags, leaseKey, leaseState, leaseDuration };
}


/**
 * Test helpers for PDU byte layouts: hex()/unhex() and ByteList, a builder
 * that tests use to write one spec field per line, so an expected message
 * reads like the MS-SMB2 table it comes from.
 */
import { SMB2_HEADER_SIZE } from '../../transport/pdu/header.js';

/** Lower-case hex of a buffer, no separators. */
export function hex(b: Buffer): string {
  return b.toString('hex');
}

/** Buffer from hex text; whitespace and '#' comments to end of line are ignored. */
export function unhex(s: string): Buffer {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${clean}`);
  return Buffer.from(clean, 'hex');
}

/**
 * Little-endian field builder. Every method takes an optional field name,
 * which only documents the line it is on.
 */
export class ByteList {
  private parts: Buffer[] = [];
  private len = 0;

  private push(b: Buffer): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }

  get length(): number {
    return this.len;
  }

  u8(v: number, _field?: string): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    return this.push(b);
  }

  u16(v: number, _field?: string): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.push(b);
  }

  u32(v: number, _field?: string): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.push(b);
  }

  i32(v: number, _field?: string): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.push(b);
  }

  u64(v: bigint | number, _field?: string): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.push(b);
  }

  bytes(b: Buffer, _field?: string): this {
    return this.push(Buffer.from(b));
  }

  hex(s: string, _field?: string): this {
    return this.push(unhex(s));
  }

  ascii(s: string, _field?: string): this {
    return this.push(Buffer.from(s, 'latin1'));
  }

  utf16(s: string, _field?: string): this {
    return this.push(Buffer.from(s, 'utf16le'));
  }

  zeros(n: number, _field?: string): this {
    return this.push(Buffer.alloc(n));
  }

  /** Zero-pad so that base + length is a multiple of 8 (base 64 for bodies). */
  pad8(base = SMB2_HEADER_SIZE, _field?: string): this {
    return this.zeros((8 - ((base + this.len) % 8)) % 8);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

/**
 * A 64-byte SMB2 sync response header built field by field (MS-SMB2 2.2.1.2),
 * for decode tests: SERVER_TO_REDIR set, the given command and status.
 */
export function responseHeader(command: number, status = 0, opts: { messageId?: bigint; treeId?: number; sessionId?: bigint } = {}): ByteList {
  return new ByteList()
    .hex('fe534d42', 'ProtocolId')
    .u16(64, 'StructureSize')
    .u16(1, 'CreditCharge')
    .u32(status, 'Status')
    .u16(command, 'Command')
    .u16(1, 'CreditResponse')
    .u32(0x00000001, 'Flags: SERVER_TO_REDIR')
    .u32(0, 'NextCommand')
    .u64(opts.messageId ?? 1n, 'MessageId')
    .u32(0, 'Reserved')
    .u32(opts.treeId ?? 0, 'TreeId')
    .u64(opts.sessionId ?? 0n, 'SessionId')
    .zeros(16, 'Signature');
}

/** Whole response message: header for `command` followed by `body`. */
export function responseMessage(command: number, body: ByteList | Buffer, status = 0): Buffer {
  return Buffer.concat([responseHeader(command, status).toBuffer(), Buffer.isBuffer(body) ? body : body.toBuffer()]);
}

/** Run fn and return what it threw (undefined if it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A recognisable 16-byte FileId. */
export const FILE_ID = unhex('0102030405060708 a1a2a3a4a5a6a7a8');

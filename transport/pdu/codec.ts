/**
 * Little-endian Writer and bounds-checked Reader for SMB2 PDUs.
 *
 * All SMB2 integers are little-endian (MS-SMB2 1.3 / 2.2) and strings are
 * UTF-16LE without terminator (MS-SMB2 2.2). Encoders know their size in
 * advance and fill one zeroed Buffer through a Writer; decoders read received
 * messages through a Reader whose every access is checked against its window
 * and fails with SmbProtocolError, so a malformed reply never reads past the
 * bytes it owns.
 */
import { SmbProtocolError } from '../errors.js';

/** UTF-16LE bytes of `s` (no terminator), as SMB2 sends names. */
export function utf16le(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/**
 * Sequential writer into one pre-sized, zero-filled buffer. Positions are
 * indexes into `buf`. Writing past the end is a programming error and throws
 * RangeError (encoders size the buffer first).
 */
export class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  /** Throw if `n` more bytes do not fit. */
  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new RangeError(`Writer overflow: ${this.pos}+${n} > ${this.buf.length}`);
    }
  }

  u8(v: number): this {
    this.room(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  /** 64-bit unsigned; a number must be a non-negative safe integer. */
  u64(v: bigint | number): this {
    this.room(8);
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new RangeError(`u64: ${v} is not a non-negative safe integer`);
    }
    this.buf.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  bytes(b: Buffer): this {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Skip `n` bytes, which stay zero (reserved fields, padding). */
  zeros(n: number): this {
    this.room(n);
    this.pos += n;
    return this;
  }

  utf16(s: string): this {
    const n = Buffer.byteLength(s, 'utf16le');
    this.room(n);
    this.buf.write(s, this.pos, n, 'utf16le');
    this.pos += n;
    return this;
  }

  /**
   * Pad with zeros to the next multiple of 8. Encoders write bodies that
   * start at message offset 64, so body and message alignment coincide.
   */
  align8(): this {
    return this.zeros((8 - (this.pos % 8)) % 8);
  }

  /** Move to absolute position `pos` (within the buffer). */
  at(pos: number): this {
    if (pos < 0 || pos > this.buf.length) throw new RangeError(`Writer.at(${pos})`);
    this.pos = pos;
    return this;
  }
}

/**
 * Bounds-checked little-endian reader over buf[start, end). Positions
 * (`pos`, seek) are relative to `start`, so a Reader over one SMB2 message
 * uses the message-relative offsets the protocol carries.
 */
export class Reader {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  pos = 0;
  /** For 64-bit reads, made at the first one. */
  private view: DataView | undefined;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) {
      throw new SmbProtocolError(`Reader window [${start}, ${end}) outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  /** Bytes in the window. */
  get length(): number {
    return this.end - this.start;
  }

  /** Bytes left after `pos`. */
  get remaining(): number {
    return this.length - this.pos;
  }

  /** Throw SmbProtocolError unless `n` bytes remain; return the absolute index. */
  private need(n: number): number {
    if (n < 0 || this.pos + n > this.length) {
      throw new SmbProtocolError(`truncated: need ${n} bytes at ${this.pos}, have ${this.remaining}`);
    }
    const abs = this.start + this.pos;
    this.pos += n;
    return abs;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }

  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }

  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }

  /** Signed 32-bit (e.g. MaximumComponentNameLength). */
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }

  u64(): bigint {
    // One BigInt per value (Buffer#readBigUInt64LE makes four): listings read five per entry.
    const abs = this.need(8);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view.getBigUint64(abs, true);
  }

  /** 64-bit value that must be a safe integer (sizes, offsets); read without a BigInt. */
  u64n(): number {
    const at = this.pos;
    const abs = this.need(8);
    const hi = this.buf.readUInt32LE(abs + 4);
    if (hi > 0x1fffff) {
      throw new SmbProtocolError(`64-bit value at ${at} exceeds MAX_SAFE_INTEGER: ${this.buf.readBigUInt64LE(abs)}`);
    }
    return hi * 0x100000000 + this.buf.readUInt32LE(abs);
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number): Buffer {
    const abs = this.need(n);
    return this.buf.subarray(abs, abs + n);
  }

  /** Decode `byteLen` bytes of UTF-16LE. */
  utf16(byteLen: number): string {
    if (byteLen % 2 !== 0) throw new SmbProtocolError(`odd UTF-16 byte length ${byteLen}`);
    const abs = this.need(byteLen);
    return this.buf.toString('utf16le', abs, abs + byteLen);
  }

  /** Move to `pos` (relative to start); the end of the window is allowed. */
  seek(pos: number): this {
    if (!Number.isInteger(pos) || pos < 0 || pos > this.length) {
      throw new SmbProtocolError(`seek to ${pos} outside window of ${this.length}`);
    }
    this.pos = pos;
    return this;
  }

  skip(n: number): this {
    this.need(n);
    return this;
  }
}

/**
 * Check that [off, off+len) lies inside a window of `size` bytes; throw
 * SmbProtocolError naming `what` otherwise. Decoders call this for every
 * offset/length pair a reply carries before touching the bytes.
 */
export function checkRange(size: number, off: number, len: number, what: string): void {
  if (off < 0 || len < 0 || off + len > size) {
    throw new SmbProtocolError(`${what}: range [${off}, ${off + len}) outside ${size} bytes`);
  }
}

/**
 * View of msg[off, off+len) for an offset/length pair from the wire. A zero
 * length yields an empty view whatever the offset (servers send offset 0 with
 * length 0); otherwise the offset must not point into the SMB2 header
 * (`minOff`) and the range must lie within msg.
 */
export function sliceChecked(msg: Buffer, off: number, len: number, minOff: number, what: string): Buffer {
  if (len === 0) return msg.subarray(0, 0);
  if (off < minOff) throw new SmbProtocolError(`${what}: offset ${off} below ${minOff}`);
  checkRange(msg.length, off, len, what);
  return msg.subarray(off, off + len);
}

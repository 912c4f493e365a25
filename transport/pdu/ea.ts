/**
 * FileFullEaInformation (MS-FSCC 2.4.15, FILE_FULL_EA_INFORMATION), info
 * class 15, used with QUERY_INFO and SET_INFO on a file.
 *
 * Each entry: 0 NextEntryOffset (4), 4 Flags (1), 5 EaNameLength (1),
 *   6 EaValueLength (2), 8 EaName (EaNameLength bytes of 8-bit ASCII, then a
 *   NUL that EaNameLength does not count), then EaValue (EaValueLength bytes).
 * NextEntryOffset is the byte offset of the next entry from this one, a
 * multiple of 4; 0 on the last entry. A SET_INFO entry whose EaValueLength
 * is 0 deletes that EA.
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, checkRange } from './codec.js';

/** Flags (MS-FSCC 2.4.15): the file cannot be understood without this EA. */
export const FILE_NEED_EA = 0x80;

export interface FullEaEntry {
  flags: number;
  /** 8-bit name, at most 255 bytes, no NUL. */
  name: string;
  /** Empty in a SET_INFO request means "delete this EA". */
  value: Buffer;
}

const ENTRY_HEADER = 8;

/** Round up to a multiple of 4. */
function up4(n: number): number {
  return (n + 3) & ~3;
}

/** Bytes of one entry without trailing alignment. */
function entryLength(e: FullEaEntry): number {
  return ENTRY_HEADER + Buffer.byteLength(e.name, 'latin1') + 1 + e.value.length;
}

/**
 * Encode a FILE_FULL_EA_INFORMATION list. Entries other than the last are
 * padded to 4 bytes; the last one is not padded.
 */
export function encodeFileFullEaInformation(list: readonly FullEaEntry[]): Buffer {
  if (list.length === 0) throw new RangeError('FileFullEaInformation needs at least one entry');
  let total = 0;
  list.forEach((e, i) => {
    const nameLen = Buffer.byteLength(e.name, 'latin1');
    if (nameLen === 0 || nameLen > 255 || e.name.includes('\0')) throw new RangeError(`bad EA name '${e.name}'`);
    if (e.value.length > 0xffff) throw new RangeError(`EA value of ${e.value.length} bytes exceeds 65535`);
    total += i < list.length - 1 ? up4(entryLength(e)) : entryLength(e);
  });
  const w = new Writer(total);
  list.forEach((e, i) => {
    const start = w.pos;
    const one = entryLength(e);
    const next = i < list.length - 1 ? up4(one) : 0;
    const name = Buffer.from(e.name, 'latin1');
    w.u32(next).u8(e.flags).u8(name.length).u16(e.value.length);
    w.bytes(name).u8(0).bytes(e.value);
    if (next) w.at(start + next);
  });
  return w.buf;
}

/**
 * Decode a FILE_FULL_EA_INFORMATION list (the QUERY_INFO OutputBuffer).
 * Every entry's name and value must lie inside the buffer and NextEntryOffset
 * must move forward; values are views into `buf`.
 */
export function decodeFileFullEaInformation(buf: Buffer): FullEaEntry[] {
  const out: FullEaEntry[] = [];
  if (buf.length === 0) return out;
  let pos = 0;
  for (;;) {
    checkRange(buf.length, pos, ENTRY_HEADER, 'FileFullEaInformation entry');
    const r = new Reader(buf, pos);
    const next = r.u32();
    const flags = r.u8();
    const nameLen = r.u8();
    const valueLen = r.u16();
    checkRange(buf.length, pos + ENTRY_HEADER, nameLen + 1 + valueLen, 'FileFullEaInformation name and value');
    const nameAt = pos + ENTRY_HEADER;
    const name = buf.toString('latin1', nameAt, nameAt + nameLen);
    const valueAt = nameAt + nameLen + 1;
    out.push({ flags, name, value: buf.subarray(valueAt, valueAt + valueLen) });
    if (next === 0) return out;
    if (next < ENTRY_HEADER + nameLen + 1 + valueLen || pos + next >= buf.length) {
      throw new SmbProtocolError(`FileFullEaInformation NextEntryOffset ${next} invalid at ${pos}`);
    }
    pos += next;
  }
}

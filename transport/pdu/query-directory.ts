/**
 * SMB2 QUERY_DIRECTORY (MS-SMB2 2.2.33 request, 2.2.34 response) and the
 * directory entry formats FileIdBothDirectoryInformation (MS-FSCC 2.4.17)
 * and FileIdFullDirectoryInformation (MS-FSCC 2.4.18).
 *
 * Request body: 64 StructureSize (33) 66 FileInformationClass (1) 67 Flags (1)
 *   68 FileIndex 72 FileId (16) 88 FileNameOffset (2) 90 FileNameLength (2)
 *   92 OutputBufferLength 96 Buffer (search pattern, UTF-16LE)
 * Response body: 64 StructureSize (9) 66 OutputBufferOffset (2)
 *   68 OutputBufferLength 72 Buffer
 *
 * Entries are chained by NextEntryOffset, relative to the entry's start and
 * 0 on the last. The parser requires every step to move past the current
 * entry's fixed part and name and to stay inside the buffer, so a hostile or
 * corrupt reply cannot make it loop or read outside the reply.
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, sliceChecked, utf16le } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** QUERY_DIRECTORY Flags (2.2.33). */
export const QueryDirectoryFlags = {
  RESTART_SCANS: 0x01,
  RETURN_SINGLE_ENTRY: 0x02,
  INDEX_SPECIFIED: 0x04,
  REOPEN: 0x10,
} as const;

export interface QueryDirectoryRequest {
  fileInformationClass: number;
  flags: number;
  fileIndex: number;
  fileId: Buffer;
  /** Search pattern, '*' for all. */
  fileName: string;
  outputBufferLength: number;
}

export interface QueryDirectoryResponse {
  outputBuffer: Buffer;
}

/** One directory entry (FileIdBoth/FileIdFull DirectoryInformation). */
export interface DirEntry {
  name: string;
  /** The entry's 64-bit FileId (server file index number), 0n if unknown. */
  fileIndex: bigint;
  endOfFile: number;
  allocationSize: number;
  fileAttributes: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  eaSize: number;
  /** 8.3 name (FileIdBothDirectoryInformation only), '' if none. */
  shortName?: string;
}

const REQ_FIXED = 32;
const RESP_FIXED = 8;
/** Fixed part sizes before FileName. */
export const FILE_ID_BOTH_DIR_INFO_FIXED = 104;
export const FILE_ID_FULL_DIR_INFO_FIXED = 80;

/** Encode the QUERY_DIRECTORY request body. */
export function encodeQueryDirectoryRequest(req: QueryDirectoryRequest): Buffer {
  assertFileId(req.fileId);
  const name = utf16le(req.fileName);
  if (name.length > 0xffff) throw new RangeError('QUERY_DIRECTORY pattern too long');
  const w = new Writer(REQ_FIXED + Math.max(name.length, 1));
  w.u16(33);
  w.u8(req.fileInformationClass);
  w.u8(req.flags);
  w.u32(req.fileIndex);
  w.bytes(req.fileId);
  w.u16(name.length > 0 ? SMB2_HEADER_SIZE + REQ_FIXED : 0);
  w.u16(name.length);
  w.u32(req.outputBufferLength);
  w.bytes(name);
  return w.buf;
}

/** Decode a QUERY_DIRECTORY response message. */
export function decodeQueryDirectoryResponse(msg: Buffer): QueryDirectoryResponse {
  const r = openResponseBody(msg, 9, RESP_FIXED, 'QUERY_DIRECTORY');
  const off = r.u16();
  const len = r.u32();
  return { outputBuffer: sliceChecked(msg, off, len, SMB2_HEADER_SIZE + RESP_FIXED, 'QUERY_DIRECTORY OutputBuffer') };
}

/**
 * Walk a NextEntryOffset chain. `parse` reads one entry from a Reader
 * standing at its start (one Reader for the whole buffer: a listing has
 * thousands of entries); the next entry must start beyond what it read
 * (fixed part + name).
 */
function walkEntries(buf: Buffer, fixed: number, what: string, parse: (r: Reader) => DirEntry): DirEntry[] {
  const out: DirEntry[] = [];
  if (buf.length === 0) return out;
  const r = new Reader(buf);
  let pos = 0;
  for (;;) {
    if (buf.length - pos < fixed) throw new SmbProtocolError(`${what}: entry at ${pos} truncated`);
    r.seek(pos);
    const next = r.u32();
    const entry = parse(r);
    out.push(entry);
    if (next === 0) return out;
    const covered = r.pos - pos;
    if (next < covered) {
      throw new SmbProtocolError(`${what}: NextEntryOffset ${next} at ${pos} does not pass the entry (${covered} bytes)`);
    }
    if (pos + next >= buf.length) {
      throw new SmbProtocolError(`${what}: NextEntryOffset ${next} at ${pos} points outside ${buf.length} bytes`);
    }
    pos += next;
  }
}

/**
 * One entry of either format: the fields they share, from FileIndex through
 * EaSize (MS-FSCC 2.4.17 / 2.4.18), then `tail` reads what differs and
 * returns the FileId, FileName and 8.3 name. One object an entry, built
 * whole (a listing has thousands).
 */
function readEntry(r: Reader, tail: (r: Reader, nameLen: number) => { fileIndex: bigint; name: string; shortName?: string }): DirEntry {
  r.skip(4); // FileIndex (position in the directory; not used)
  const creationTime = r.u64();
  const lastAccessTime = r.u64();
  const lastWriteTime = r.u64();
  const changeTime = r.u64();
  const endOfFile = r.u64n();
  const allocationSize = r.u64n();
  const fileAttributes = r.u32();
  const nameLen = r.u32();
  const eaSize = r.u32();
  const { fileIndex, name, shortName } = tail(r, nameLen);
  const e: DirEntry = { name, fileIndex, creationTime, lastAccessTime, lastWriteTime, changeTime, endOfFile, allocationSize, fileAttributes, eaSize };
  if (shortName !== undefined) e.shortName = shortName;
  return e;
}

/** Parse a FileIdBothDirectoryInformation buffer (MS-FSCC 2.4.17). */
export function parseFileIdBothDirectoryInformation(buf: Buffer): DirEntry[] {
  return walkEntries(buf, FILE_ID_BOTH_DIR_INFO_FIXED, 'FileIdBothDirectoryInformation', (r) =>
    readEntry(r, (r, nameLen) => {
      const shortLen = r.u8();
      r.skip(1);
      const short = r.bytes(24);
      r.skip(2);
      const fileIndex = r.u64();
      const name = r.utf16(nameLen);
      if (shortLen > 24 || shortLen % 2) throw new SmbProtocolError(`ShortNameLength ${shortLen}`);
      return { fileIndex, name, shortName: short.toString('utf16le', 0, shortLen) };
    }),
  );
}

/** Parse a FileIdFullDirectoryInformation buffer (MS-FSCC 2.4.18). */
export function parseFileIdFullDirectoryInformation(buf: Buffer): DirEntry[] {
  return walkEntries(buf, FILE_ID_FULL_DIR_INFO_FIXED, 'FileIdFullDirectoryInformation', (r) =>
    readEntry(r, (r, nameLen) => {
      r.skip(4); // Reserved
      const fileIndex = r.u64();
      return { fileIndex, name: r.utf16(nameLen) };
    }),
  );
}

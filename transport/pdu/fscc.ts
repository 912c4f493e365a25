/**
 * File system information structures used over SMB2 QUERY_INFO / SET_INFO /
 * QUERY_DIRECTORY (MS-FSCC 2.4 file information classes, 2.5 file system
 * information classes, 2.6 file attributes; MS-DTYP 2.3.3 FILETIME).
 *
 * Section numbers of single classes move between MS-FSCC revisions, so
 * structures below are cited by class name.
 *
 * Decoders take the OutputBuffer view and check its length; names whose
 * declared length runs past the buffer (a STATUS_BUFFER_OVERFLOW reply cut
 * them short) are returned as far as they go.
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, utf16le } from './codec.js';

/** 100-ns intervals between 1601-01-01 and 1970-01-01 (MS-DTYP 2.3.3). */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;
/** The same in milliseconds (exact). */
const FILETIME_UNIX_EPOCH_MS = 11644473600000;

/**
 * A Date that keeps the FILETIME it came from: the Date part has
 * milliseconds (rounded down), `filetime` all 100-ns units, so times read
 * from the server go back to it (and to FUSE) without losing digits.
 */
export class FileTime extends Date {
  constructor(readonly filetime: bigint) {
    // The epoch is whole milliseconds, so for the usual (non-negative) value one BigInt division does.
    super(filetime >= 0n ? Number(filetime / 10000n) - FILETIME_UNIX_EPOCH_MS : Number(floorDiv(filetime - FILETIME_UNIX_EPOCH, 10000n)));
  }
}

/** a / b rounded toward minus infinity (times before 1970 are negative). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** FILETIME (100 ns since 1601, UTC) → Date that keeps the 100-ns value. */
export function filetimeToDate(ft: bigint): FileTime {
  return new FileTime(ft);
}

/** Date → FILETIME (exact for a FileTime, else from the milliseconds). */
export function dateToFiletime(d: Date): bigint {
  if (d instanceof FileTime) return d.filetime;
  return BigInt(d.getTime()) * 10000n + FILETIME_UNIX_EPOCH;
}

/** FILETIME → seconds and nanoseconds since the Unix epoch (nanoseconds 0..999999999). */
export function filetimeToTimespec(ft: bigint): { sec: bigint; nsec: number } {
  const units = ft - FILETIME_UNIX_EPOCH;
  const sec = floorDiv(units, 10000000n);
  return { sec, nsec: Number(units - sec * 10000000n) * 100 };
}

/** Seconds and nanoseconds since the Unix epoch → FILETIME (keeps 100-ns precision). */
export function timespecToFiletime(sec: number, nsec: number): bigint {
  return BigInt(sec) * 10000000n + BigInt(Math.floor(nsec / 100)) + FILETIME_UNIX_EPOCH;
}

/** File attributes (MS-FSCC 2.6). */
export const FILE_ATTRIBUTE_READONLY = 0x00000001;
export const FILE_ATTRIBUTE_HIDDEN = 0x00000002;
export const FILE_ATTRIBUTE_SYSTEM = 0x00000004;
export const FILE_ATTRIBUTE_DIRECTORY = 0x00000010;
export const FILE_ATTRIBUTE_ARCHIVE = 0x00000020;
export const FILE_ATTRIBUTE_NORMAL = 0x00000080;
export const FILE_ATTRIBUTE_TEMPORARY = 0x00000100;
export const FILE_ATTRIBUTE_SPARSE_FILE = 0x00000200;
export const FILE_ATTRIBUTE_REPARSE_POINT = 0x00000400;
export const FILE_ATTRIBUTE_COMPRESSED = 0x00000800;
export const FILE_ATTRIBUTE_OFFLINE = 0x00001000;
export const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED = 0x00002000;
export const FILE_ATTRIBUTE_ENCRYPTED = 0x00004000;
export const FILE_ATTRIBUTE_INTEGRITY_STREAM = 0x00008000;
export const FILE_ATTRIBUTE_NO_SCRUB_DATA = 0x00020000;
export const FILE_ATTRIBUTE_RECALL_ON_OPEN = 0x00040000;
export const FILE_ATTRIBUTE_PINNED = 0x00080000;
export const FILE_ATTRIBUTE_UNPINNED = 0x00100000;
export const FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS = 0x00400000;

/**
 * Information classes: file (MS-FSCC 2.4) and file system (2.5) in one
 * object; the numbers overlap between the two, the InfoType says which.
 */
export const FileInfoClass = {
  FileDirectoryInformation: 1,
  FileFullDirectoryInformation: 2,
  FileBothDirectoryInformation: 3,
  FileBasicInformation: 4,
  FileStandardInformation: 5,
  FileInternalInformation: 6,
  FileEaInformation: 7,
  FileAccessInformation: 8,
  FileNameInformation: 9,
  FileRenameInformation: 10,
  FileLinkInformation: 11,
  FileNamesInformation: 12,
  FileDispositionInformation: 13,
  FilePositionInformation: 14,
  FileFullEaInformation: 15,
  FileModeInformation: 16,
  FileAlignmentInformation: 17,
  FileAllInformation: 18,
  FileAllocationInformation: 19,
  FileEndOfFileInformation: 20,
  FileAlternateNameInformation: 21,
  FileStreamInformation: 22,
  FileCompressionInformation: 28,
  FileNetworkOpenInformation: 34,
  FileAttributeTagInformation: 35,
  FileIdBothDirectoryInformation: 37,
  FileIdFullDirectoryInformation: 38,
  FileNormalizedNameInformation: 48,
  FileIdInformation: 59,
  // File system information classes (MS-FSCC 2.5).
  FileFsVolumeInformation: 1,
  FileFsLabelInformation: 2,
  FileFsSizeInformation: 3,
  FileFsDeviceInformation: 4,
  FileFsAttributeInformation: 5,
  FileFsControlInformation: 6,
  FileFsFullSizeInformation: 7,
  FileFsObjectIdInformation: 8,
  FileFsSectorSizeInformation: 11,
} as const;

export interface FileBasicInformation {
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  fileAttributes: number;
}

export interface FileStandardInformation {
  allocationSize: number;
  endOfFile: number;
  numberOfLinks: number;
  deletePending: boolean;
  directory: boolean;
}

export interface FileAllInformation extends FileBasicInformation, FileStandardInformation {
  indexNumber: bigint;
  eaSize: number;
  accessFlags: number;
  currentByteOffset: number;
  mode: number;
  alignmentRequirement: number;
  fileName: string;
}

export interface FileNetworkOpenInformation extends FileBasicInformation {
  allocationSize: number;
  endOfFile: number;
}

export interface FileFsFullSizeInformation {
  totalAllocationUnits: number;
  callerAvailableAllocationUnits: number;
  actualAvailableAllocationUnits: number;
  sectorsPerAllocationUnit: number;
  bytesPerSector: number;
}

export interface FileFsSizeInformation {
  totalAllocationUnits: number;
  availableAllocationUnits: number;
  sectorsPerAllocationUnit: number;
  bytesPerSector: number;
}

export interface FileFsAttributeInformation {
  fileSystemAttributes: number;
  /** Longest name component the file system allows (signed on the wire). */
  maximumComponentNameLength: number;
  fileSystemName: string;
}

/** Reader over `buf` that first checks it holds at least `min` bytes. */
function atLeast(buf: Buffer, min: number, what: string): Reader {
  if (buf.length < min) throw new SmbProtocolError(`${what}: ${buf.length} bytes, need ${min}`);
  return new Reader(buf);
}

/** UTF-16 name of declared `len` bytes, cut to what the buffer holds. */
function nameUpTo(r: Reader, len: number): string {
  const n = Math.min(len, r.remaining) & ~1;
  return r.utf16(n);
}

/** Read the 40-byte FILE_BASIC_INFORMATION body. */
function readBasic(r: Reader): FileBasicInformation {
  const v = {
    creationTime: r.u64(),
    lastAccessTime: r.u64(),
    lastWriteTime: r.u64(),
    changeTime: r.u64(),
    fileAttributes: r.u32(),
  };
  r.skip(4);
  return v;
}

/** Read the 24-byte FILE_STANDARD_INFORMATION body. */
function readStandard(r: Reader): FileStandardInformation {
  const v = {
    allocationSize: r.u64n(),
    endOfFile: r.u64n(),
    numberOfLinks: r.u32(),
    deletePending: r.u8() !== 0,
    directory: r.u8() !== 0,
  };
  r.skip(2);
  return v;
}

/** FileBasicInformation (MS-FSCC), 40 bytes. */
export function decodeFileBasicInformation(buf: Buffer): FileBasicInformation {
  return readBasic(atLeast(buf, 40, 'FileBasicInformation'));
}

/** FileStandardInformation (MS-FSCC), 24 bytes. */
export function decodeFileStandardInformation(buf: Buffer): FileStandardInformation {
  return readStandard(atLeast(buf, 24, 'FileStandardInformation'));
}

/**
 * FileAllInformation (MS-FSCC 2.4.2): Basic (40), Standard (24), Internal (8),
 * Ea (4), Access (4), Position (8), Mode (4), Alignment (4), Name (4 + n).
 */
export function decodeFileAllInformation(buf: Buffer): FileAllInformation {
  const r = atLeast(buf, 100, 'FileAllInformation');
  const basic = readBasic(r);
  const standard = readStandard(r);
  const indexNumber = r.u64();
  const eaSize = r.u32();
  const accessFlags = r.u32();
  const currentByteOffset = r.u64n();
  const mode = r.u32();
  const alignmentRequirement = r.u32();
  const nameLen = r.u32();
  const fileName = nameUpTo(r, nameLen);
  return { ...basic, ...standard, indexNumber, eaSize, accessFlags, currentByteOffset, mode, alignmentRequirement, fileName };
}

/** FileNetworkOpenInformation (MS-FSCC), 56 bytes. */
export function decodeFileNetworkOpenInformation(buf: Buffer): FileNetworkOpenInformation {
  const r = atLeast(buf, 56, 'FileNetworkOpenInformation');
  const creationTime = r.u64();
  const lastAccessTime = r.u64();
  const lastWriteTime = r.u64();
  const changeTime = r.u64();
  const allocationSize = r.u64n();
  const endOfFile = r.u64n();
  const fileAttributes = r.u32();
  return { creationTime, lastAccessTime, lastWriteTime, changeTime, allocationSize, endOfFile, fileAttributes };
}

/** FileInternalInformation (MS-FSCC): IndexNumber. */
export function decodeFileInternalInformation(buf: Buffer): { indexNumber: bigint } {
  return { indexNumber: atLeast(buf, 8, 'FileInternalInformation').u64() };
}

/** FileFsFullSizeInformation (MS-FSCC), 32 bytes. */
export function decodeFileFsFullSizeInformation(buf: Buffer): FileFsFullSizeInformation {
  const r = atLeast(buf, 32, 'FileFsFullSizeInformation');
  return {
    totalAllocationUnits: r.u64n(),
    callerAvailableAllocationUnits: r.u64n(),
    actualAvailableAllocationUnits: r.u64n(),
    sectorsPerAllocationUnit: r.u32(),
    bytesPerSector: r.u32(),
  };
}

/** FileFsSizeInformation (MS-FSCC), 24 bytes. */
export function decodeFileFsSizeInformation(buf: Buffer): FileFsSizeInformation {
  const r = atLeast(buf, 24, 'FileFsSizeInformation');
  return {
    totalAllocationUnits: r.u64n(),
    availableAllocationUnits: r.u64n(),
    sectorsPerAllocationUnit: r.u32(),
    bytesPerSector: r.u32(),
  };
}

/** FileFsAttributeInformation (MS-FSCC): 12 bytes + name. */
export function decodeFileFsAttributeInformation(buf: Buffer): FileFsAttributeInformation {
  const r = atLeast(buf, 12, 'FileFsAttributeInformation');
  const fileSystemAttributes = r.u32();
  const maximumComponentNameLength = r.i32();
  const nameLen = r.u32();
  return { fileSystemAttributes, maximumComponentNameLength, fileSystemName: nameUpTo(r, nameLen) };
}

/**
 * FileBasicInformation for SET_INFO (40 bytes). A time of 0n leaves that
 * time unchanged; 0xFFFFFFFFFFFFFFFFn stops the server updating it.
 * fileAttributes 0 leaves the attributes unchanged.
 */
export function encodeFileBasicInformation(b: FileBasicInformation): Buffer {
  return new Writer(40)
    .u64(b.creationTime)
    .u64(b.lastAccessTime)
    .u64(b.lastWriteTime)
    .u64(b.changeTime)
    .u32(b.fileAttributes)
    .zeros(4).buf;
}

/** FileEndOfFileInformation (MS-FSCC): EndOfFile (8). */
export function encodeFileEndOfFileInformation(endOfFile: number): Buffer {
  return new Writer(8).u64(endOfFile).buf;
}

/** FileDispositionInformation (MS-FSCC): DeletePending (1). */
export function encodeFileDispositionInformation(deletePending: boolean): Buffer {
  return new Writer(1).u8(deletePending ? 1 : 0).buf;
}

/**
 * FileRenameInformation, SMB2 form (MS-FSCC, the SMB2 "TYPE_2" layout):
 * ReplaceIfExists (1), Reserved (7), RootDirectory (8, zero over SMB2),
 * FileNameLength (4), FileName (full path from the share root).
 */
export function encodeFileRenameInformation(r: { replaceIfExists: boolean; fileName: string }): Buffer {
  const name = utf16le(r.fileName);
  return new Writer(20 + name.length)
    .u8(r.replaceIfExists ? 1 : 0)
    .zeros(7)
    .u64(0n)
    .u32(name.length)
    .bytes(name).buf;
}

/**
 * FileLinkInformation, SMB2 form (MS-FSCC 2.4.21.2, FILE_LINK_INFORMATION_TYPE_2,
 * info class 11): ReplaceIfExists (1), Reserved (7), RootDirectory (8, zero
 * over SMB2), FileNameLength (4), FileName (the new link's full path from
 * the share root). Same layout as FileRenameInformation.
 */
export function encodeFileLinkInformation(l: { replaceIfExists: boolean; fileName: string }): Buffer {
  return encodeFileRenameInformation(l);
}

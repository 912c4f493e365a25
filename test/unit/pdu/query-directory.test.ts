// Expected and response bytes are built from MS-SMB2 2.2.33 / 2.2.34 and MS-FSCC 2.4.17 / 2.4.18, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import {
  QueryDirectoryFlags,
  decodeQueryDirectoryResponse,
  encodeQueryDirectoryRequest,
  parseFileIdBothDirectoryInformation,
  parseFileIdFullDirectoryInformation,
} from '../../../transport/pdu/query-directory.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown } from '../../helpers/bytes.js';

t.test('QUERY_DIRECTORY request', async (t) => {
  const want = new ByteList()
    .u16(33, 'StructureSize')
    .u8(37, 'FileInformationClass FileIdBothDirectoryInformation')
    .u8(1, 'Flags RESTART_SCANS')
    .u32(0, 'FileIndex')
    .bytes(FILE_ID, 'FileId')
    .u16(96, 'FileNameOffset')
    .u16(2, 'FileNameLength')
    .u32(65536, 'OutputBufferLength')
    .utf16('*', 'Buffer')
    .toBuffer();
  const body = encodeQueryDirectoryRequest({
    fileInformationClass: 37, flags: QueryDirectoryFlags.RESTART_SCANS, fileIndex: 0, fileId: FILE_ID, fileName: '*', outputBufferLength: 65536,
  });
  t.equal(hex(body), hex(want));
});

/** One FileIdBothDirectoryInformation entry (104 bytes + name), NextEntryOffset given. */
function bothEntry(next: number, name: string, id: bigint, short = ''): ByteList {
  return new ByteList()
    .u32(next, 'NextEntryOffset')
    .u32(0, 'FileIndex')
    .u64(1n, 'CreationTime')
    .u64(2n, 'LastAccessTime')
    .u64(3n, 'LastWriteTime')
    .u64(4n, 'ChangeTime')
    .u64(100, 'EndOfFile')
    .u64(4096, 'AllocationSize')
    .u32(0x20, 'FileAttributes')
    .u32(name.length * 2, 'FileNameLength')
    .u32(0, 'EaSize')
    .u8(short.length * 2, 'ShortNameLength')
    .u8(0, 'Reserved1')
    .utf16(short.padEnd(12, '\0'), 'ShortName (24)')
    .u16(0, 'Reserved2')
    .u64(id, 'FileId')
    .utf16(name, 'FileName');
}

/** One FileIdFullDirectoryInformation entry (80 bytes + name). */
function fullEntry(next: number, name: string, id: bigint): ByteList {
  return new ByteList()
    .u32(next, 'NextEntryOffset')
    .u32(0, 'FileIndex')
    .u64(1n).u64(2n).u64(3n).u64(4n)
    .u64(7, 'EndOfFile')
    .u64(8, 'AllocationSize')
    .u32(0x10, 'FileAttributes')
    .u32(name.length * 2, 'FileNameLength')
    .u32(5, 'EaSize')
    .u32(0, 'Reserved')
    .u64(id, 'FileId')
    .utf16(name, 'FileName');
}

/** Concatenate entries, padding each but the last to 8 bytes. */
function chain(entries: ByteList[]): Buffer {
  return Buffer.concat(entries.map((e, i) => (i < entries.length - 1 ? e.pad8(0).toBuffer() : e.toBuffer())));
}

t.test('FileIdBothDirectoryInformation entries', async (t) => {
  // ".": 104+2 → 112; "ünïcode.txt": 104+22 = 126 → 128.
  const buf = chain([bothEntry(112, '.', 10n), bothEntry(128, 'ünïcode.txt', 11n, 'UNICOD~1.TXT'), bothEntry(0, 'last', 12n)]);
  const e = parseFileIdBothDirectoryInformation(buf);
  t.same(e.map((x) => x.name), ['.', 'ünïcode.txt', 'last']);
  t.same(e.map((x) => x.fileIndex), [10n, 11n, 12n]);
  t.equal(e[1]!.shortName, 'UNICOD~1.TXT');
  t.same({ ...e[2]! }, {
    name: 'last', fileIndex: 12n, endOfFile: 100, allocationSize: 4096, fileAttributes: 0x20,
    creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, eaSize: 0, shortName: '',
  });
  t.same(parseFileIdBothDirectoryInformation(Buffer.alloc(0)), []);
});

t.test('FileIdFullDirectoryInformation entries', async (t) => {
  const buf = chain([fullEntry(88, 'ab', 1n), fullEntry(0, 'sub', 2n)]);
  const e = parseFileIdFullDirectoryInformation(buf);
  t.same(e.map((x) => [x.name, x.fileIndex, x.eaSize, x.endOfFile, x.allocationSize, x.fileAttributes]), [
    ['ab', 1n, 5, 7, 8, 0x10],
    ['sub', 2n, 5, 7, 8, 0x10],
  ]);
});

t.test('directory parsers reject loops and bad offsets', async (t) => {
  const two = chain([bothEntry(112, '.', 1n), bothEntry(0, 'x', 2n)]);
  const back = Buffer.from(two);
  back.writeUInt32LE(0xffffff90, 112); // -112 as int32: points back at the first entry
  t.type(thrown(() => parseFileIdBothDirectoryInformation(back)), SmbProtocolError, 'NextEntryOffset pointing back');
  const self = Buffer.from(two);
  self.writeUInt32LE(8, 0);
  t.type(thrown(() => parseFileIdBothDirectoryInformation(self)), SmbProtocolError, 'NextEntryOffset inside the entry');
  const out = Buffer.from(two);
  out.writeUInt32LE(two.length, 0);
  t.type(thrown(() => parseFileIdBothDirectoryInformation(out)), SmbProtocolError, 'NextEntryOffset outside');
  const name = Buffer.from(two);
  name.writeUInt32LE(200, 112 + 60);
  t.type(thrown(() => parseFileIdBothDirectoryInformation(name)), SmbProtocolError, 'FileNameLength past end');
  t.type(thrown(() => parseFileIdBothDirectoryInformation(two.subarray(0, 103))), SmbProtocolError, 'truncated entry');
  const short = Buffer.from(two);
  short.writeUInt8(26, 68);
  t.type(thrown(() => parseFileIdBothDirectoryInformation(short)), SmbProtocolError, 'ShortNameLength > 24');
  const full = chain([fullEntry(88, 'ab', 1n), fullEntry(0, 'c', 2n)]);
  const loop = Buffer.from(full);
  loop.writeUInt32LE(0, 88);
  loop.writeUInt32LE(0xffffffa8, 88); // -88
  t.type(thrown(() => parseFileIdFullDirectoryInformation(loop)), SmbProtocolError, 'full: pointing back');
});

t.test('QUERY_DIRECTORY response', async (t) => {
  const entries = chain([bothEntry(0, 'f', 3n)]);
  const b = new ByteList().u16(9, 'StructureSize').u16(72, 'OutputBufferOffset').u32(entries.length, 'OutputBufferLength').bytes(entries);
  const msg = responseMessage(Smb2Command.QUERY_DIRECTORY, b);
  const r = decodeQueryDirectoryResponse(msg);
  t.equal(r.outputBuffer.length, entries.length);
  t.equal(parseFileIdBothDirectoryInformation(r.outputBuffer)[0]!.name, 'f');
  const past = Buffer.from(msg);
  past.writeUInt32LE(entries.length + 1, 68);
  t.type(thrown(() => decodeQueryDirectoryResponse(past)), SmbProtocolError, 'past end');
  t.type(thrown(() => decodeQueryDirectoryResponse(msg.subarray(0, 71))), SmbProtocolError, 'truncated');
});

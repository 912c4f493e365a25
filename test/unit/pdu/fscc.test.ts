// Info buffers are built from MS-FSCC structure tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import {
  FILETIME_UNIX_EPOCH,
  FileInfoClass,
  dateToFiletime,
  decodeFileAllInformation,
  decodeFileBasicInformation,
  decodeFileFsAttributeInformation,
  decodeFileFsFullSizeInformation,
  decodeFileFsSizeInformation,
  decodeFileInternalInformation,
  decodeFileNetworkOpenInformation,
  decodeFileStandardInformation,
  encodeFileBasicInformation,
  encodeFileDispositionInformation,
  encodeFileEndOfFileInformation,
  encodeFileLinkInformation,
  encodeFileRenameInformation,
  FileTime,
  filetimeToDate,
  filetimeToTimespec,
  timespecToFiletime,
} from '../../../transport/pdu/fscc.js';
import { ByteList, hex, thrown } from '../../helpers/bytes.js';

t.test('FILETIME conversions', async (t) => {
  t.equal(filetimeToDate(FILETIME_UNIX_EPOCH).getTime(), 0);
  // 2020-01-01T00:00:00Z = 1577836800 s
  const ft = 132223104000000000n;
  t.equal(filetimeToDate(ft).toISOString(), '2020-01-01T00:00:00.000Z');
  t.equal(dateToFiletime(new Date('2020-01-01T00:00:00.123Z')), ft + 1230000n);
  t.equal(timespecToFiletime(1577836800, 123456789), ft + 1234567n);
});

t.test('FileTime keeps 100 ns both ways, before 1970 too', async (t) => {
  const ft = 132223104000000000n + 1234567n; // 2020-01-01T00:00:00.1234567Z
  const d = filetimeToDate(ft);
  t.ok(d instanceof FileTime && d instanceof Date);
  t.equal(d.toISOString(), '2020-01-01T00:00:00.123Z', 'the Date part: milliseconds, rounded down');
  t.equal(dateToFiletime(d), ft, 'back to the exact FILETIME');
  t.same(filetimeToTimespec(ft), { sec: 1577836800n, nsec: 123456700 });
  const before = FILETIME_UNIX_EPOCH - 15000000n; // 1969-12-31T23:59:58.5Z
  t.same(filetimeToTimespec(before), { sec: -2n, nsec: 500000000 }, 'seconds round down, nanoseconds stay positive');
  t.equal(filetimeToDate(before).getTime(), -1500);
  t.equal(filetimeToDate(FILETIME_UNIX_EPOCH - 1n).getTime(), -1, '100 ns before 1970 is in the millisecond before');
});

t.test('info class numbers', async (t) => {
  t.equal(FileInfoClass.FileBasicInformation, 4);
  t.equal(FileInfoClass.FileStandardInformation, 5);
  t.equal(FileInfoClass.FileInternalInformation, 6);
  t.equal(FileInfoClass.FileRenameInformation, 10);
  t.equal(FileInfoClass.FileDispositionInformation, 13);
  t.equal(FileInfoClass.FileFullEaInformation, 15);
  t.equal(FileInfoClass.FileAllInformation, 18);
  t.equal(FileInfoClass.FileEndOfFileInformation, 20);
  t.equal(FileInfoClass.FileNetworkOpenInformation, 34);
  t.equal(FileInfoClass.FileIdBothDirectoryInformation, 37);
  t.equal(FileInfoClass.FileIdFullDirectoryInformation, 38);
  t.equal(FileInfoClass.FileFsSizeInformation, 3);
  t.equal(FileInfoClass.FileFsAttributeInformation, 5);
  t.equal(FileInfoClass.FileFsFullSizeInformation, 7);
});

/** FileBasicInformation + FileStandardInformation fields. */
function basicAndStandard(b: ByteList): ByteList {
  return b
    .u64(1n, 'CreationTime').u64(2n, 'LastAccessTime').u64(3n, 'LastWriteTime').u64(4n, 'ChangeTime')
    .u32(0x10, 'FileAttributes').u32(0, 'Reserved')
    .u64(8192, 'AllocationSize').u64(8000, 'EndOfFile').u32(2, 'NumberOfLinks')
    .u8(0, 'DeletePending').u8(1, 'Directory').u16(0, 'Reserved');
}

t.test('FileAllInformation', async (t) => {
  const buf = basicAndStandard(new ByteList())
    .u64(0x1234n, 'IndexNumber')
    .u32(0, 'EaSize')
    .u32(0x001f01ff, 'AccessFlags')
    .u64(0, 'CurrentByteOffset')
    .u32(0, 'Mode')
    .u32(0, 'AlignmentRequirement')
    .u32(8, 'FileNameLength')
    .utf16('\\dir', 'FileName')
    .toBuffer();
  t.equal(buf.length, 108);
  t.same(decodeFileAllInformation(buf), {
    creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, fileAttributes: 0x10,
    allocationSize: 8192, endOfFile: 8000, numberOfLinks: 2, deletePending: false, directory: true,
    indexNumber: 0x1234n, eaSize: 0, accessFlags: 0x001f01ff, currentByteOffset: 0, mode: 0, alignmentRequirement: 0,
    fileName: '\\dir',
  });
  t.equal(decodeFileAllInformation(buf.subarray(0, 104)).fileName, '\\d', 'name cut short by BUFFER_OVERFLOW');
  t.type(thrown(() => decodeFileAllInformation(buf.subarray(0, 99))), SmbProtocolError, 'truncated');
});

t.test('FileBasic / Standard / Internal / NetworkOpen', async (t) => {
  const bs = basicAndStandard(new ByteList()).toBuffer();
  t.same(decodeFileBasicInformation(bs.subarray(0, 40)), { creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, fileAttributes: 0x10 });
  t.same(decodeFileStandardInformation(bs.subarray(40)), { allocationSize: 8192, endOfFile: 8000, numberOfLinks: 2, deletePending: false, directory: true });
  t.type(thrown(() => decodeFileBasicInformation(bs.subarray(0, 39))), SmbProtocolError);
  t.type(thrown(() => decodeFileStandardInformation(bs.subarray(40, 63))), SmbProtocolError);
  t.same(decodeFileInternalInformation(new ByteList().u64(99n).toBuffer()), { indexNumber: 99n });
  const no = new ByteList()
    .u64(1n).u64(2n).u64(3n).u64(4n)
    .u64(4096, 'AllocationSize').u64(10, 'EndOfFile').u32(0x20, 'FileAttributes').u32(0, 'Reserved')
    .toBuffer();
  t.same(decodeFileNetworkOpenInformation(no), {
    creationTime: 1n, lastAccessTime: 2n, lastWriteTime: 3n, changeTime: 4n, allocationSize: 4096, endOfFile: 10, fileAttributes: 0x20,
  });
  t.type(thrown(() => decodeFileNetworkOpenInformation(no.subarray(0, 55))), SmbProtocolError);
});

t.test('file system information', async (t) => {
  const full = new ByteList()
    .u64(1000, 'TotalAllocationUnits').u64(300, 'CallerAvailableAllocationUnits').u64(400, 'ActualAvailableAllocationUnits')
    .u32(8, 'SectorsPerAllocationUnit').u32(512, 'BytesPerSector').toBuffer();
  t.same(decodeFileFsFullSizeInformation(full), {
    totalAllocationUnits: 1000, callerAvailableAllocationUnits: 300, actualAvailableAllocationUnits: 400, sectorsPerAllocationUnit: 8, bytesPerSector: 512,
  });
  t.type(thrown(() => decodeFileFsFullSizeInformation(full.subarray(0, 31))), SmbProtocolError);
  const size = new ByteList().u64(1000).u64(300).u32(8).u32(512).toBuffer();
  t.same(decodeFileFsSizeInformation(size), { totalAllocationUnits: 1000, availableAllocationUnits: 300, sectorsPerAllocationUnit: 8, bytesPerSector: 512 });
  t.type(thrown(() => decodeFileFsSizeInformation(size.subarray(0, 23))), SmbProtocolError);
  const attr = new ByteList()
    .u32(0x0000008f, 'FileSystemAttributes').i32(255, 'MaximumComponentNameLength').u32(8, 'FileSystemNameLength').utf16('NTFS').toBuffer();
  t.same(decodeFileFsAttributeInformation(attr), { fileSystemAttributes: 0x8f, maximumComponentNameLength: 255, fileSystemName: 'NTFS' });
  t.type(thrown(() => decodeFileFsAttributeInformation(attr.subarray(0, 11))), SmbProtocolError);
});

t.test('SET_INFO encoders', async (t) => {
  t.equal(
    hex(encodeFileBasicInformation({ creationTime: 0n, lastAccessTime: 5n, lastWriteTime: 6n, changeTime: 0xffffffffffffffffn, fileAttributes: 0 })),
    hex(new ByteList().u64(0n).u64(5n).u64(6n).u64(0xffffffffffffffffn).u32(0).u32(0).toBuffer()),
  );
  t.equal(hex(encodeFileEndOfFileInformation(2 ** 33)), hex(new ByteList().u64(2 ** 33, 'EndOfFile').toBuffer()));
  t.equal(hex(encodeFileDispositionInformation(true)), '01');
  t.equal(hex(encodeFileDispositionInformation(false)), '00');
  t.equal(
    hex(encodeFileRenameInformation({ replaceIfExists: true, fileName: 'a\\b' })),
    hex(new ByteList().u8(1, 'ReplaceIfExists').zeros(7, 'Reserved').u64(0, 'RootDirectory').u32(6, 'FileNameLength').utf16('a\\b').toBuffer()),
  );
});

t.test('FileLinkInformation (MS-FSCC 2.4.21.2, TYPE_2)', async (t) => {
  t.equal(FileInfoClass.FileLinkInformation, 11);
  t.equal(
    hex(encodeFileLinkInformation({ replaceIfExists: false, fileName: 'd\\h' })),
    hex(new ByteList().u8(0, 'ReplaceIfExists').zeros(7, 'Reserved').u64(0, 'RootDirectory').u32(6, 'FileNameLength').utf16('d\\h').toBuffer()),
  );
});

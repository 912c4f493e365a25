// Expected bytes are built from the MS-FSCC 2.4.15 FILE_FULL_EA_INFORMATION field table, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { decodeFileFullEaInformation, encodeFileFullEaInformation, FILE_NEED_EA } from '../../../transport/pdu/ea.js';
import { ByteList, hex, thrown } from '../../helpers/bytes.js';

/** Two entries: "ab"="xyz" (padded to 4), then "c"=80 00 with FILE_NEED_EA, unpadded. */
const two = new ByteList()
  .u32(16, 'NextEntryOffset: 8 + 2 + 1 + 3 = 14, up to 16')
  .u8(0, 'Flags')
  .u8(2, 'EaNameLength')
  .u16(3, 'EaValueLength')
  .ascii('ab', 'EaName')
  .u8(0, 'NUL')
  .ascii('xyz', 'EaValue')
  .zeros(2, 'padding to 4')
  .u32(0, 'NextEntryOffset: last')
  .u8(0x80, 'Flags: FILE_NEED_EA')
  .u8(1, 'EaNameLength')
  .u16(2, 'EaValueLength')
  .ascii('c', 'EaName')
  .u8(0, 'NUL')
  .hex('8000', 'EaValue')
  .toBuffer();

t.test('encode FILE_FULL_EA_INFORMATION byte-exact', async (t) => {
  const enc = encodeFileFullEaInformation([
    { flags: 0, name: 'ab', value: Buffer.from('xyz') },
    { flags: FILE_NEED_EA, name: 'c', value: Buffer.from([0x80, 0]) },
  ]);
  t.equal(hex(enc), hex(two));
  // A delete request: one entry, value length 0.
  t.equal(
    hex(encodeFileFullEaInformation([{ flags: 0, name: 'user.x', value: Buffer.alloc(0) }])),
    hex(new ByteList().u32(0).u8(0).u8(6).u16(0).ascii('user.x').u8(0).toBuffer()),
  );
  t.type(thrown(() => encodeFileFullEaInformation([])), RangeError);
  t.type(thrown(() => encodeFileFullEaInformation([{ flags: 0, name: '', value: Buffer.alloc(1) }])), RangeError);
  t.type(thrown(() => encodeFileFullEaInformation([{ flags: 0, name: 'n'.repeat(256), value: Buffer.alloc(1) }])), RangeError);
  t.type(thrown(() => encodeFileFullEaInformation([{ flags: 0, name: 'a', value: Buffer.alloc(65536) }])), RangeError);
});

t.test('decode FILE_FULL_EA_INFORMATION', async (t) => {
  const got = decodeFileFullEaInformation(two);
  t.equal(got.length, 2);
  t.same(got.map((e) => [e.flags, e.name, hex(e.value)]), [
    [0, 'ab', hex(Buffer.from('xyz'))],
    [0x80, 'c', '8000'],
  ]);
  t.same(decodeFileFullEaInformation(Buffer.alloc(0)), []);
  // Value runs past the buffer.
  t.type(thrown(() => decodeFileFullEaInformation(two.subarray(0, two.length - 1))), SmbProtocolError);
  // Truncated header.
  t.type(thrown(() => decodeFileFullEaInformation(two.subarray(0, 5))), SmbProtocolError);
  // NextEntryOffset that overlaps the entry itself, or points past the end.
  const overlap = Buffer.from(two);
  overlap.writeUInt32LE(8, 0);
  t.type(thrown(() => decodeFileFullEaInformation(overlap)), SmbProtocolError);
  const past = Buffer.from(two);
  past.writeUInt32LE(64, 0);
  t.type(thrown(() => decodeFileFullEaInformation(past)), SmbProtocolError);
});

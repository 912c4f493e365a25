import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Reader, Writer, checkRange, sliceChecked, utf16le } from '../../../transport/pdu/codec.js';
import { ByteList, hex, thrown } from '../../helpers/bytes.js';

t.test('Writer writes little-endian fields at explicit positions', async (t) => {
  const w = new Writer(24);
  w.u8(0x01).u16(0x0302).u32(0x07060504).u64(0x0f0e0d0c0b0a0908n);
  t.equal(w.pos, 15);
  w.align8();
  t.equal(w.pos, 16);
  w.utf16('A€');
  w.at(22).u16(0xffff);
  const want = new ByteList()
    .u8(1).u16(0x0302).u32(0x07060504).u64(0x0f0e0d0c0b0a0908n)
    .zeros(1, 'align8')
    .utf16('A€')
    .zeros(2)
    .u16(0xffff)
    .toBuffer();
  t.equal(hex(w.buf), hex(want));
  t.throws(() => w.u8(0), RangeError);
  t.throws(() => new Writer(8).u64(-1), RangeError);
  t.throws(() => new Writer(8).u64(2 ** 53), RangeError);
  t.equal(hex(utf16le('ab')), '61006200');
});

t.test('Reader reads, views and checks bounds', async (t) => {
  const buf = Buffer.from('xx0102030405060708090a0b0c0d0e0fyy', 'latin1');
  const raw = Buffer.concat([Buffer.from('zz'), Buffer.from('0102030405060708ffffffffffffffff4100', 'hex'), Buffer.from('zz')]);
  const r = new Reader(raw, 2, raw.length - 2);
  t.equal(r.length, 18);
  t.equal(r.u8(), 1);
  t.equal(r.u16(), 0x0302);
  t.equal(r.u32(), 0x07060504);
  r.seek(0);
  t.equal(r.u64(), 0x0807060504030201n);
  const at = r.pos;
  t.type(thrown(() => r.u64n()), SmbProtocolError, 'u64 above MAX_SAFE_INTEGER');
  r.seek(at + 8);
  t.equal(r.utf16(2), 'A');
  t.equal(r.remaining, 0);
  t.type(thrown(() => r.u8()), SmbProtocolError, 'read past the window');
  t.type(thrown(() => r.seek(19)), SmbProtocolError);
  r.seek(0);
  const v = r.bytes(2);
  v[0] = 0x99;
  t.equal(raw[2], 0x99, 'bytes() returns a view');
  t.type(thrown(() => r.utf16(3)), SmbProtocolError, 'odd UTF-16 length');
  t.type(thrown(() => new Reader(buf, 5, 2)), SmbProtocolError);
  t.type(thrown(() => r.skip(100)), SmbProtocolError);
});

t.test('checkRange and sliceChecked', async (t) => {
  checkRange(10, 0, 10, 'x');
  t.type(thrown(() => checkRange(10, 5, 6, 'x')), SmbProtocolError);
  t.type(thrown(() => checkRange(10, -1, 1, 'x')), SmbProtocolError);
  const msg = Buffer.alloc(100);
  t.equal(sliceChecked(msg, 0, 0, 72, 'x').length, 0, 'empty range with offset 0 allowed');
  t.equal(sliceChecked(msg, 72, 28, 72, 'x').length, 28);
  t.type(thrown(() => sliceChecked(msg, 40, 4, 72, 'x')), SmbProtocolError, 'offset into the header');
  t.type(thrown(() => sliceChecked(msg, 90, 11, 72, 'x')), SmbProtocolError, 'past the end');
});

/**
 * After a reconnect an open with data still to write is taken back only if
 * the file is as it left it (durable.ts, changedWhileAway). Its own WRITEs
 * that were never answered may or may not have landed, so each explains the
 * file ending exactly where it ends; no other size does. CI once saw a file
 * another client appended to while the server was down (4096 + 5 bytes)
 * pass as unchanged because a 64 KiB WRITE was in flight, and that WRITE
 * then overwrote the append.
 *
 * A WRITE cut short by the server process dying leaves the file ending at
 * any byte inside it (CI: 108137216, 133888 bytes into a 4 MiB WRITE), which
 * by size alone is an append like any other; writeReachingSize names the
 * WRITE whose bytes, read back, decide (holdsAt compares them).
 */
import t from 'tap';
import { changedWhileAway, holdsAt, writeReachingSize, type WriteInFlight } from '../../../transport/durable.js';
import type { SmbStat } from '../../../transport/types.js';

const T = new Date('2026-12-01T00:00:00Z');
const stat = (over: Partial<SmbStat>): SmbStat => ({
  fileIndex: 9n, size: 4096, allocationSize: 0, attributes: 0x20, isDirectory: false,
  creationTime: T, lastAccessTime: T, lastWriteTime: T, changeTime: T, nlink: 1, ...over,
});
const left = { fileIndex: 9n, size: 4096, lastWriteMs: T.getTime(), wroteSince: false, inFlight: [] as WriteInFlight[] };
/** A WRITE in flight from `start` to `end` (its bytes do not matter to the size rules). */
const w = (start: number, end: number): WriteInFlight => ({ start, end, data: [Buffer.alloc(end - start)] });

t.test('nothing in flight: the same id, size and time', async (t) => {
  t.notOk(changedWhileAway(left, stat({})), 'as it was');
  t.ok(changedWhileAway(left, stat({ size: 4101 })), 'appended to');
  t.ok(changedWhileAway(left, stat({ fileIndex: 10n })), 'replaced by another file');
  t.ok(changedWhileAway(left, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'written to');
  t.notOk(changedWhileAway({ ...left, wroteSince: true }, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'a time moved by our own writes');
  t.notOk(changedWhileAway({ ...left, fileIndex: 0n }, stat({ fileIndex: 10n })), 'no id known: ids are not compared');
});

t.test('WRITEs in flight explain only the ends they reach', async (t) => {
  const d = { ...left, wroteSince: true, inFlight: [w(4096, 65536)] };
  t.notOk(changedWhileAway(d, stat({ size: 4096 })), 'the WRITE did not land');
  t.notOk(changedWhileAway(d, stat({ size: 65536 })), 'the WRITE landed');
  t.ok(changedWhileAway(d, stat({ size: 4101 })), 'a size between: someone appended');
  t.ok(changedWhileAway(d, stat({ size: 65541 })), 'past it: the WRITE landed and someone appended');
  const two = { ...left, wroteSince: true, inFlight: [w(4096, 1 << 20), w(1 << 20, 2 << 20), w(0, 4000)] };
  t.notOk(changedWhileAway(two, stat({ size: 1 << 20 })), 'the first of two landed');
  t.notOk(changedWhileAway(two, stat({ size: 2 << 20 })), 'the second landed');
  t.ok(changedWhileAway(two, stat({ size: 4000 })), 'a WRITE ending inside the file does not shrink it');
});

t.test('the WRITE whose bytes decide a size inside it', async (t) => {
  const first = w(4096, 4 << 20);
  const second = w(4 << 20, 8 << 20);
  const d = { ...left, inFlight: [first, second] };
  t.equal(writeReachingSize(d, stat({ size: (4 << 20) + 133888 })), second, 'a size 133888 bytes into the second WRITE: that WRITE');
  t.equal(writeReachingSize(d, stat({ size: 4101 })), first, 'a size 5 bytes into the first: the first (an append, unless its bytes say otherwise)');
  t.equal(writeReachingSize(d, stat({ size: 4 << 20 })), first, 'the end of the first');
  t.equal(writeReachingSize(d, stat({ size: 4096 })), null, 'the size we knew: nothing to read');
  t.equal(writeReachingSize(d, stat({ size: (8 << 20) + 1 })), null, 'past every WRITE: someone else');
  t.equal(writeReachingSize(d, stat({ size: 100 })), null, 'shrunk: someone else');
  t.equal(writeReachingSize(d, stat({ size: 8192, fileIndex: 10n })), null, 'another file: someone else');
  t.equal(writeReachingSize({ ...left, size: 8192, inFlight: [w(0, 4096)] }, stat({ size: 8192 + 10 })), null, 'a WRITE inside the file cannot grow it');
});

t.test('comparing bytes read back with a WRITE payload in several buffers', async (t) => {
  const data = [Buffer.from('abcd'), Buffer.from(''), Buffer.from('efgh'), Buffer.from('ij')];
  t.ok(holdsAt(data, 0, Buffer.from('abcdefghij')), 'the whole payload');
  t.ok(holdsAt(data, 0, Buffer.from('abcde')), 'a partial landing across a buffer edge');
  t.ok(holdsAt(data, 3, Buffer.from('defgh')), 'a later chunk of the read');
  t.ok(holdsAt(data, 4, Buffer.from('efghij')), 'a chunk starting on a buffer edge');
  t.ok(holdsAt(data, 2, Buffer.alloc(0)), 'nothing read: nothing differs');
  t.notOk(holdsAt(data, 0, Buffer.from('abcdX')), 'another client\'s byte at the end');
  t.notOk(holdsAt(data, 0, Buffer.from('Xbcde')), 'another byte at the start');
  t.notOk(holdsAt(data, 5, Buffer.from('fghijk')), 'more bytes than the payload holds');
  t.notOk(holdsAt(data, 20, Buffer.from('a')), 'past the payload');
});

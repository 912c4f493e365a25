/**
 * After a reconnect an open with data still to write is taken back only if
 * the file is as it left it (durable.ts, changedWhileAway). Its own WRITEs
 * that were never answered may or may not have landed, so each explains the
 * file ending exactly where it ends; no other size does. CI once saw a file
 * another client appended to while the server was down (4096 + 5 bytes)
 * pass as unchanged because a 64 KiB WRITE was in flight, and that WRITE
 * then overwrote the append.
 */
import t from 'tap';
import { changedWhileAway } from '../../../transport/durable.js';
import type { SmbStat } from '../../../transport/types.js';

const T = new Date('2026-12-01T00:00:00Z');
const stat = (over: Partial<SmbStat>): SmbStat => ({
  fileIndex: 9n, size: 4096, allocationSize: 0, attributes: 0x20, isDirectory: false,
  creationTime: T, lastAccessTime: T, lastWriteTime: T, changeTime: T, nlink: 1, ...over,
});
const left = { fileIndex: 9n, size: 4096, lastWriteMs: T.getTime(), wroteSince: false, inFlightEnds: [] as number[] };

t.test('nothing in flight: the same id, size and time', async (t) => {
  t.notOk(changedWhileAway(left, stat({})), 'as it was');
  t.ok(changedWhileAway(left, stat({ size: 4101 })), 'appended to');
  t.ok(changedWhileAway(left, stat({ fileIndex: 10n })), 'replaced by another file');
  t.ok(changedWhileAway(left, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'written to');
  t.notOk(changedWhileAway({ ...left, wroteSince: true }, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'a time moved by our own writes');
  t.notOk(changedWhileAway({ ...left, fileIndex: 0n }, stat({ fileIndex: 10n })), 'no id known: ids are not compared');
});

t.test('WRITEs in flight explain only the ends they reach', async (t) => {
  const d = { ...left, wroteSince: true, inFlightEnds: [65536] };
  t.notOk(changedWhileAway(d, stat({ size: 4096 })), 'the WRITE did not land');
  t.notOk(changedWhileAway(d, stat({ size: 65536 })), 'the WRITE landed');
  t.ok(changedWhileAway(d, stat({ size: 4101 })), 'a size between: someone appended');
  t.ok(changedWhileAway(d, stat({ size: 65541 })), 'past it: the WRITE landed and someone appended');
  const two = { ...left, wroteSince: true, inFlightEnds: [1 << 20, 2 << 20, 4000] };
  t.notOk(changedWhileAway(two, stat({ size: 1 << 20 })), 'the first of two landed');
  t.notOk(changedWhileAway(two, stat({ size: 2 << 20 })), 'the second landed');
  t.ok(changedWhileAway(two, stat({ size: 4000 })), 'a WRITE ending inside the file does not shrink it');
});

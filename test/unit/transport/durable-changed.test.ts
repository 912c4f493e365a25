/**
 * After a reconnect an open with data still to write is taken back only if
 * the file is as it left it (durable.ts, changedWhileAway). Its own WRITEs
 * that were never answered may or may not have landed, so each explains the
 * file ending exactly where it ends; no other size does. CI once saw a file
 * another client appended to while the server was down (4096 + 5 bytes)
 * pass as unchanged because a 64 KiB WRITE was in flight, and that WRITE
 * then overwrote the append. A server process that dies while it writes
 * leaves part of the WRITE (up to a page boundary), which is ours too.
 */
import t from 'tap';
import { changedWhileAway } from '../../../transport/durable.js';
import type { SmbStat } from '../../../transport/types.js';

const T = new Date('2026-12-01T00:00:00Z');
const stat = (over: Partial<SmbStat>): SmbStat => ({
  fileIndex: 9n, size: 4096, allocationSize: 0, attributes: 0x20, isDirectory: false,
  creationTime: T, lastAccessTime: T, lastWriteTime: T, changeTime: T, nlink: 1, ...over,
});
const left = { fileIndex: 9n, size: 4096, lastWriteMs: T.getTime(), wroteSince: false, inFlight: [] as { start: number; end: number }[] };

t.test('nothing in flight: the same id, size and time', async (t) => {
  t.notOk(changedWhileAway(left, stat({})), 'as it was');
  t.ok(changedWhileAway(left, stat({ size: 4101 })), 'appended to');
  t.ok(changedWhileAway(left, stat({ fileIndex: 10n })), 'replaced by another file');
  t.ok(changedWhileAway(left, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'written to');
  t.notOk(changedWhileAway({ ...left, wroteSince: true }, stat({ lastWriteTime: new Date(T.getTime() + 1000) })), 'a time moved by our own writes');
  t.notOk(changedWhileAway({ ...left, fileIndex: 0n }, stat({ fileIndex: 10n })), 'no id known: ids are not compared');
});

t.test('WRITEs in flight explain only the ends they reach', async (t) => {
  const d = { ...left, wroteSince: true, inFlight: [{ start: 4096, end: 65536 }] };
  t.notOk(changedWhileAway(d, stat({ size: 4096 })), 'the WRITE did not land');
  t.notOk(changedWhileAway(d, stat({ size: 65536 })), 'the WRITE landed');
  t.ok(changedWhileAway(d, stat({ size: 4101 })), 'a size between: someone appended');
  t.ok(changedWhileAway(d, stat({ size: 65541 })), 'past it: the WRITE landed and someone appended');
  const two = { ...left, wroteSince: true, inFlight: [{ start: 0, end: 1 << 20 }, { start: 1 << 20, end: 2 << 20 }, { start: 0, end: 4000 }] };
  t.notOk(changedWhileAway(two, stat({ size: 1 << 20 })), 'the first of two landed');
  t.notOk(changedWhileAway(two, stat({ size: 2 << 20 })), 'the second landed');
  t.ok(changedWhileAway(two, stat({ size: 4000 })), 'a WRITE ending inside the file does not shrink it');
});

t.test('a WRITE cut short by the server process dying ends on a page boundary inside it', async (t) => {
  const d = { ...left, wroteSince: true, inFlight: [{ start: 4096, end: 4096 + (4 << 20) }] };
  t.notOk(changedWhileAway(d, stat({ size: 4096 + 65536 })), '16 pages of 1024 landed');
  t.ok(changedWhileAway(d, stat({ size: 4096 + 65537 })), 'not on a page boundary: someone else');
  t.ok(changedWhileAway(d, stat({ size: 8192 + (4 << 20) })), 'past the WRITE: someone else');
  const later = { ...left, wroteSince: true, inFlight: [{ start: 1 << 20, end: 2 << 20 }] };
  t.ok(changedWhileAway(later, stat({ size: 8192 })), 'below where the WRITE starts: not ours');
  t.notOk(changedWhileAway(later, stat({ size: (1 << 20) + 8192 })), 'inside it: ours');
});

t.test('the last-write time', async (t) => {
  const moved = stat({ lastWriteTime: new Date(T.getTime() + 1000) });
  t.ok(changedWhileAway(left, moved), 'nothing of ours in flight: written by someone else');
  t.notOk(changedWhileAway({ ...left, inFlight: [{ start: 4096, end: 8192 }] }, moved), 'a WRITE of ours resent after the last reopen may have moved it');
});

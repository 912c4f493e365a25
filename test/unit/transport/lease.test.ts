/**
 * LeaseTable: break notifications (MS-SMB2 2.2.23.1 oplock, 2.2.23.2 lease)
 * reach the callback, the acknowledgment (2.2.24.1/2.2.24.2) goes out only
 * after the callback resolves and carries the new state, unknown keys and
 * handles are ignored, a break read before its grant is recorded waits for
 * it, and ack failures are recorded instead of thrown.
 */
import t from 'tap';
import { LeaseTable, oplockToLeaseState, type SmbBreakRecord } from '../../../transport/lease.js';
import { SmbMessage, type SmbResponse } from '../../../transport/message.js';
import { OplockLevel } from '../../../transport/pdu/create.js';
import { decodeHeader, Smb2Command } from '../../../transport/pdu/header.js';
import { encodeLeaseBreakAck, encodeOplockBreakAck } from '../../../transport/pdu/misc.js';
import type { TreeCore } from '../../../transport/tree-core.js';
import { ByteList, FILE_ID, hex, responseHeader } from '../../helpers/bytes.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const MID = 0xffffffffffffffffn;

function notification(body: ByteList): { header: ReturnType<typeof decodeHeader>; msg: Buffer } {
  const msg = Buffer.concat([responseHeader(Smb2Command.OPLOCK_BREAK, 0, { messageId: MID }).toBuffer(), body.toBuffer()]);
  return { header: decodeHeader(msg, 0), msg };
}

function leaseBreak(key: Buffer, current: number, next: number, flags = 1) {
  return notification(
    new ByteList()
      .u16(44, 'StructureSize')
      .u16(2, 'NewEpoch')
      .u32(flags, 'Flags: ACK_REQUIRED')
      .bytes(key, 'LeaseKey')
      .u32(current, 'CurrentLeaseState')
      .u32(next, 'NewLeaseState')
      .u32(0, 'BreakReason')
      .u32(0, 'AccessMaskHint')
      .u32(0, 'ShareMaskHint'),
  );
}

function oplockBreak(fileId: Buffer, level: number) {
  return notification(new ByteList().u16(24).u8(level, 'OplockLevel').u8(0).u32(0).bytes(fileId, 'FileId'));
}

/** A TreeCore whose connection records requests and answers with `status`. */
function fakeCore(log: string[], sent: SmbMessage[], status = 0): TreeCore {
  return {
    msg: (command: number, body: Buffer) => new SmbMessage(command, body),
    conn: {
      request: async (m: SmbMessage): Promise<SmbResponse> => {
        log.push('ack');
        sent.push(m);
        return { header: { ...decodeHeader(responseHeader(Smb2Command.OPLOCK_BREAK, status).toBuffer(), 0) }, msg: Buffer.alloc(0) };
      },
    },
  } as unknown as TreeCore;
}

const next = (table: LeaseTable): Promise<SmbBreakRecord> => new Promise((r) => table.once('break', r));

t.test('lease break: callback, then ack with the new state', async (t) => {
  const log: string[] = [];
  const sent: SmbMessage[] = [];
  const table = new LeaseTable(fakeCore(log, sent));
  table.addLease(FILE_ID, KEY, 7, 1);
  table.onBreak(async (ev) => {
    log.push(`cb ${ev.newState}`);
    await new Promise((r) => setTimeout(r, 20));
    log.push('cb done');
  });
  const done = next(table);
  table.onNotification(leaseBreak(KEY, 7, 3));
  const rec = await done;
  t.same(log, ['cb 3', 'cb done', 'ack'], 'ack after the callback');
  t.same([rec.acked, rec.ackError, rec.newState, rec.ackRequired, rec.fileId], [true, null, 3, true, null]);
  t.equal(hex(rec.leaseKey!), hex(KEY));
  t.equal(sent[0]!.command, Smb2Command.OPLOCK_BREAK);
  t.equal(hex(sent[0]!.body), hex(encodeLeaseBreakAck({ leaseKey: KEY, leaseState: 3 })), 'LEASE_BREAK_ACK body');
  t.equal(table.stateOf(KEY), 3, 'new state recorded');
});

t.test('no ack when not required; unknown keys ignored; forget drops the lease', async (t) => {
  const log: string[] = [];
  const table = new LeaseTable(fakeCore(log, []));
  table.addLease(FILE_ID, KEY, 3, 1);
  const done = next(table);
  table.onNotification(leaseBreak(KEY, 3, 1, 0));
  const rec = await done;
  t.same([rec.ackRequired, rec.acked], [false, false]);
  t.same(log, [], 'nothing sent');
  t.equal(table.stateOf(KEY), 1);
  let fired = false;
  table.once('break', () => (fired = true));
  table.onNotification(leaseBreak(Buffer.alloc(16, 9), 7, 1));
  table.onNotification(oplockBreak(FILE_ID, OplockLevel.NONE));
  await new Promise((r) => setTimeout(r, 10));
  t.equal(fired, false, 'breaks for keys and handles we do not hold are ignored');
  table.forget(FILE_ID);
  t.equal(table.stateOf(KEY), undefined, 'last handle closed: lease gone');
});

t.test('oplock break (2.0.2): batch → II is acked with level II; II → none is not acked', async (t) => {
  const log: string[] = [];
  const sent: SmbMessage[] = [];
  const table = new LeaseTable(fakeCore(log, sent));
  table.addOplock(FILE_ID, OplockLevel.BATCH);
  let done = next(table);
  table.onNotification(oplockBreak(FILE_ID, OplockLevel.II));
  let rec = await done;
  t.same([rec.ackRequired, rec.acked, rec.newState, rec.leaseKey], [true, true, 1, null]);
  t.equal(hex(rec.fileId!), hex(FILE_ID));
  t.equal(hex(sent[0]!.body), hex(encodeOplockBreakAck({ oplockLevel: OplockLevel.II, fileId: FILE_ID })), 'OPLOCK_BREAK_ACK body');
  done = next(table);
  table.onNotification(oplockBreak(FILE_ID, OplockLevel.NONE));
  rec = await done;
  t.same([rec.ackRequired, rec.acked, rec.newState], [false, false, 0]);
  t.equal(sent.length, 1, 'no second ack');
  t.same([oplockToLeaseState(OplockLevel.BATCH), oplockToLeaseState(OplockLevel.EXCLUSIVE), oplockToLeaseState(OplockLevel.II), oplockToLeaseState(0)], [7, 5, 1, 0]);
});

// A CREATE reply and a break of the lease it grants, read together: the break
// is handled before the code awaiting the reply records the grant.
t.test('a break read before its grant is held for it: acked, and the grant is told the broken state', async (t) => {
  const log: string[] = [];
  const sent: SmbMessage[] = [];
  const table = new LeaseTable(fakeCore(log, sent));
  table.onBreak(async (ev) => void log.push(`cb ${ev.newState}`));
  const done = next(table);
  table.onNotification(leaseBreak(KEY, 7, 3));
  t.equal(table.addLease(FILE_ID, KEY, 7, 1), 3, 'the open may cache R and H only');
  const rec = await done;
  t.same(log, ['cb 3', 'ack']);
  t.same([rec.acked, rec.newState], [true, 3]);
  t.equal(hex(sent[0]!.body), hex(encodeLeaseBreakAck({ leaseKey: KEY, leaseState: 3 })));
  t.equal(table.stateOf(KEY), 3);
});

t.test('an early break older than the grant (v2 epoch) changes nothing', async (t) => {
  const log: string[] = [];
  const table = new LeaseTable(fakeCore(log, []));
  table.onNotification(leaseBreak(KEY, 7, 3)); // NewEpoch 2
  t.equal(table.addLease(FILE_ID, KEY, 7, 2), 7, 'the grant at epoch 2 stands');
  await new Promise((r) => setTimeout(r, 10));
  t.same(log, [], 'no ack');
});

t.test('an early break nobody claims before the next I/O turn is dropped', async (t) => {
  const log: string[] = [];
  const table = new LeaseTable(fakeCore(log, []));
  table.onNotification(leaseBreak(KEY, 7, 3));
  table.onNotification(oplockBreak(FILE_ID, OplockLevel.II));
  await new Promise((r) => setImmediate(r));
  t.equal(table.addLease(Buffer.alloc(16, 1), KEY, 7, 1), 7, 'a later grant under that key keeps its state');
  t.equal(table.addOplock(FILE_ID, OplockLevel.BATCH), 7, 'and a later oplock on that FileId');
  await new Promise((r) => setTimeout(r, 10));
  t.same(log, [], 'no ack');
});

t.test('an oplock break read before its grant: batch granted, broken to II, acked with II', async (t) => {
  const log: string[] = [];
  const sent: SmbMessage[] = [];
  const table = new LeaseTable(fakeCore(log, sent));
  const done = next(table);
  table.onNotification(oplockBreak(FILE_ID, OplockLevel.II));
  t.equal(table.addOplock(FILE_ID, OplockLevel.BATCH), oplockToLeaseState(OplockLevel.II), 'the open may cache reads only');
  const rec = await done;
  t.same([rec.ackRequired, rec.acked, rec.newState], [true, true, 1]);
  t.equal(hex(sent[0]!.body), hex(encodeOplockBreakAck({ oplockLevel: OplockLevel.II, fileId: FILE_ID })));
});

t.test('a failing callback or ack is recorded, not thrown', async (t) => {
  const table = new LeaseTable(fakeCore([], [], 0xc0000022));
  table.addLease(FILE_ID, KEY, 7, 1);
  table.onBreak(async () => {
    throw new Error('flush failed');
  });
  const done = next(table);
  table.onNotification(leaseBreak(KEY, 7, 1));
  const rec = await done;
  t.equal(rec.acked, false);
  t.match(rec.ackError?.message ?? '', /ACCESS_DENIED/);
  t.equal(table.stateOf(KEY), 1, 'state follows the server anyway');
});

t.test('a malformed notification is dropped', async (t) => {
  const table = new LeaseTable(fakeCore([], []));
  t.doesNotThrow(() => table.onNotification(notification(new ByteList().u16(30).zeros(28))));
});

t.test('lease keys by path: reused while held, dropped on rename/unlink or last close', async (t) => {
  const table = new LeaseTable(fakeCore([], []));
  const other = Buffer.alloc(16, 0x42);
  table.addLease(FILE_ID, KEY, 7, 1, 'Dir\\File.txt');
  t.equal(hex(table.keyForPath('dir\\file.txt')!), hex(KEY), 'case-insensitive lookup');
  table.addLease(other, KEY, 7, 1, 'dir\\file.txt');
  table.forget(FILE_ID);
  t.ok(table.keyForPath('dir\\file.txt'), 'kept while another handle holds it');
  table.dropHandlePath(other);
  t.equal(table.keyForPath('dir\\file.txt'), undefined, 'renamed handle: old name forgotten');
  t.equal(table.stateOf(KEY), 7, 'the lease itself remains');
  table.forget(other);
  t.equal(table.stateOf(KEY), undefined);
  table.addLease(FILE_ID, KEY, 7, 1, 'a');
  table.dropPath('A');
  t.equal(table.keyForPath('a'), undefined, 'dropPath');
});

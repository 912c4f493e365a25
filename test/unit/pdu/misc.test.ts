// Expected and response bytes are built from MS-SMB2 2.2.2, 2.2.7/8, 2.2.17/18, 2.2.23-2.2.25, 2.2.28-2.2.30 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import {
  decodeEchoResponse,
  decodeErrorResponse,
  decodeFlushResponse,
  decodeLogoffResponse,
  decodeOplockBreakNotification,
  decodeOplockBreakResponse,
  encodeCancelRequest,
  encodeEchoRequest,
  encodeFlushRequest,
  encodeLeaseBreakAck,
  encodeLogoffRequest,
  encodeOplockBreakAck,
} from '../../../transport/pdu/misc.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown } from '../../helpers/bytes.js';

const four = hex(new ByteList().u16(4, 'StructureSize').u16(0, 'Reserved').toBuffer());

t.test('ECHO, LOGOFF, CANCEL, FLUSH', async (t) => {
  t.equal(hex(encodeEchoRequest()), four);
  t.equal(hex(encodeLogoffRequest()), four);
  t.equal(hex(encodeCancelRequest()), four);
  t.equal(hex(encodeFlushRequest({ fileId: FILE_ID })), hex(new ByteList().u16(24).u16(0, 'Reserved1').u32(0, 'Reserved2').bytes(FILE_ID).toBuffer()));
  const ok = new ByteList().u16(4).u16(0);
  decodeEchoResponse(responseMessage(Smb2Command.ECHO, ok));
  decodeLogoffResponse(responseMessage(Smb2Command.LOGOFF, ok));
  decodeFlushResponse(responseMessage(Smb2Command.FLUSH, ok));
  t.type(thrown(() => decodeEchoResponse(responseMessage(Smb2Command.ECHO, new ByteList().u16(4)))), SmbProtocolError);
  t.type(thrown(() => decodeFlushResponse(responseMessage(Smb2Command.FLUSH, new ByteList().u16(24).u16(0)))), SmbProtocolError);
});

t.test('ERROR response', async (t) => {
  const empty = responseMessage(Smb2Command.CREATE, new ByteList().u16(9, 'StructureSize').u8(0, 'ErrorContextCount').u8(0).u32(0, 'ByteCount').zeros(1, 'ErrorData'), 0xc0000034);
  t.same(decodeErrorResponse(empty), { errorContextCount: 0, errorData: Buffer.alloc(0) });
  const data = new ByteList().u16(9).u8(1).u8(0).u32(8).hex('0400000000000000');
  const withData = responseMessage(Smb2Command.CREATE, data, 0x8000002d);
  const e = decodeErrorResponse(withData);
  t.equal(e.errorContextCount, 1);
  t.equal(hex(e.errorData), '0400000000000000');
  t.type(thrown(() => decodeErrorResponse(withData.subarray(0, 71))), SmbProtocolError, 'truncated');
  const past = Buffer.from(withData);
  past.writeUInt32LE(9, 68);
  t.type(thrown(() => decodeErrorResponse(past)), SmbProtocolError, 'ByteCount past end');
  const ss = Buffer.from(withData);
  ss.writeUInt16LE(8, 64);
  t.type(thrown(() => decodeErrorResponse(ss)), SmbProtocolError, 'StructureSize');
});

t.test('oplock break notification and acknowledgment', async (t) => {
  const n = new ByteList().u16(24, 'StructureSize').u8(1, 'OplockLevel II').u8(0).u32(0).bytes(FILE_ID, 'FileId');
  const msg = responseMessage(Smb2Command.OPLOCK_BREAK, n);
  t.same(decodeOplockBreakNotification(msg), { kind: 'oplock', oplockLevel: 1, fileId: FILE_ID });
  t.same(decodeOplockBreakResponse(msg), { kind: 'oplock', oplockLevel: 1, fileId: FILE_ID });
  t.equal(hex(encodeOplockBreakAck({ oplockLevel: 1, fileId: FILE_ID })), hex(n.toBuffer()));
  t.type(thrown(() => decodeOplockBreakNotification(msg.subarray(0, 64 + 23))), SmbProtocolError, 'truncated');
});

t.test('lease break notification and acknowledgment', async (t) => {
  const key = Buffer.alloc(16, 0x4b);
  const n = new ByteList()
    .u16(44, 'StructureSize')
    .u16(3, 'NewEpoch')
    .u32(1, 'Flags ACK_REQUIRED')
    .bytes(key, 'LeaseKey')
    .u32(7, 'CurrentLeaseState')
    .u32(1, 'NewLeaseState')
    .u32(0, 'BreakReason')
    .u32(0, 'AccessMaskHint')
    .u32(0, 'ShareMaskHint');
  t.same(decodeOplockBreakNotification(responseMessage(Smb2Command.OPLOCK_BREAK, n)), {
    kind: 'lease', newEpoch: 3, flags: 1, leaseKey: key, currentLeaseState: 7, newLeaseState: 1, breakReason: 0, accessMaskHint: 0, shareMaskHint: 0,
  });
  const ack = new ByteList()
    .u16(36, 'StructureSize').u16(0, 'Reserved').u32(0, 'Flags').bytes(key, 'LeaseKey').u32(1, 'LeaseState').u64(0, 'LeaseDuration');
  t.equal(hex(encodeLeaseBreakAck({ leaseKey: key, leaseState: 1 })), hex(ack.toBuffer()));
  t.equal(encodeLeaseBreakAck({ leaseKey: key, leaseState: 1 }).length, 36);
  t.same(decodeOplockBreakResponse(responseMessage(Smb2Command.OPLOCK_BREAK, ack)), { kind: 'lease', flags: 0, leaseKey: key, leaseState: 1, leaseDuration: 0n });
  t.type(thrown(() => decodeOplockBreakNotification(responseMessage(Smb2Command.OPLOCK_BREAK, new ByteList().u16(36).zeros(34)))), SmbProtocolError, 'unknown size');
  t.type(thrown(() => decodeOplockBreakNotification(responseMessage(Smb2Command.OPLOCK_BREAK, new ByteList().u16(44).zeros(30)))), SmbProtocolError, 'lease truncated');
});

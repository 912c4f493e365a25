// Expected and response bytes are built from MS-SMB2 2.2.13 / 2.2.14 field tables, not captured.
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import {
  CreateDisposition,
  CreateOptions,
  FileAccess,
  ImpersonationLevel,
  OplockLevel,
  ShareAccess,
  decodeCreateResponse,
  decodeLeaseContextData,
  encodeCreateContexts,
  encodeCreateRequest,
  encodeLeaseV1ContextData,
  encodeLeaseV2ContextData,
  parseCreateContexts,
} from '../../../transport/pdu/create.js';
import { Smb2Command } from '../../../transport/pdu/header.js';
import { ByteList, FILE_ID, hex, responseMessage, thrown, unhex } from '../../helpers/bytes.js';

const base = {
  requestedOplockLevel: OplockLevel.NONE,
  impersonationLevel: ImpersonationLevel.Impersonation,
  desiredAccess: FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE,
  fileAttributes: 0,
  shareAccess: ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
  createDisposition: CreateDisposition.FILE_OPEN,
  createOptions: CreateOptions.FILE_NON_DIRECTORY_FILE,
};

/** The 56-byte fixed part of a request for `base`. */
function fixed(nameLen: number, ctxOff: number, ctxLen: number, oplock = 0): ByteList {
  return new ByteList()
    .u16(57, 'StructureSize')
    .u8(0, 'SecurityFlags')
    .u8(oplock, 'RequestedOplockLevel')
    .u32(2, 'ImpersonationLevel')
    .u64(0, 'SmbCreateFlags')
    .u64(0, 'Reserved')
    .u32(0x00100080, 'DesiredAccess')
    .u32(0, 'FileAttributes')
    .u32(7, 'ShareAccess')
    .u32(1, 'CreateDisposition FILE_OPEN')
    .u32(0x40, 'CreateOptions FILE_NON_DIRECTORY_FILE')
    .u16(120, 'NameOffset')
    .u16(nameLen, 'NameLength')
    .u32(ctxOff, 'CreateContextsOffset')
    .u32(ctxLen, 'CreateContextsLength');
}

t.test('CREATE request with a name', async (t) => {
  const name = 'dir\\файл.txt';
  const want = fixed(name.length * 2, 0, 0).utf16(name, 'Buffer').toBuffer();
  t.equal(hex(encodeCreateRequest({ ...base, name })), hex(want));
});

t.test('CREATE request for the share root keeps a one-byte buffer', async (t) => {
  const want = fixed(0, 0, 0).zeros(1, 'Buffer').toBuffer();
  t.equal(hex(encodeCreateRequest({ ...base, name: '' })), hex(want));
});

t.test('CREATE request with contexts', async (t) => {
  const lease = encodeLeaseV2ContextData({ leaseKey: FILE_ID, leaseState: 7 });
  const name = 'a.txt'; // 10 bytes: name ends at 130, contexts at 136
  const want = fixed(10, 136, 24 + 24 + 52, OplockLevel.LEASE)
    .utf16(name)
    .pad8(64)
    // MxAc, empty data
    .u32(24, 'Next').u16(16, 'NameOffset').u16(4, 'NameLength').u16(0, 'Reserved').u16(0, 'DataOffset').u32(0, 'DataLength')
    .ascii('MxAc').pad8(0, 'pad to 24')
    // RqLs with 52 bytes of lease v2 data
    .u32(0, 'Next').u16(16).u16(4).u16(0).u16(24, 'DataOffset').u32(52, 'DataLength')
    .ascii('RqLs').zeros(4)
    .bytes(FILE_ID, 'LeaseKey').u32(7, 'LeaseState').u32(0, 'Flags').u64(0, 'LeaseDuration')
    .zeros(16, 'ParentLeaseKey').u16(0, 'Epoch').u16(0, 'Reserved')
    .toBuffer();
  const body = encodeCreateRequest({
    ...base,
    requestedOplockLevel: OplockLevel.LEASE,
    name,
    contexts: [
      { name: 'MxAc', data: Buffer.alloc(0) },
      { name: 'RqLs', data: lease },
    ],
  });
  t.equal(hex(body), hex(want));
  const back = parseCreateContexts(body.subarray(136 - 64));
  t.same(back.map((c) => c.name), ['MxAc', 'RqLs']);
  t.equal(hex(back[1]!.data), hex(lease));
  const l = decodeLeaseContextData(back[1]!.data);
  t.equal(hex(l.leaseKey), hex(FILE_ID));
  t.equal(l.leaseState, 7);
});

/** A CREATE response body; contexts appended at message offset 152. */
function responseBody(ctx?: Buffer): ByteList {
  return new ByteList()
    .u16(89, 'StructureSize')
    .u8(OplockLevel.LEASE, 'OplockLevel')
    .u8(0, 'Flags')
    .u32(1, 'CreateAction FILE_OPENED')
    .u64(0x01d0000000000001n, 'CreationTime')
    .u64(0x01d0000000000002n, 'LastAccessTime')
    .u64(0x01d0000000000003n, 'LastWriteTime')
    .u64(0x01d0000000000004n, 'ChangeTime')
    .u64(4096, 'AllocationSize')
    .u64(1234, 'EndofFile')
    .u32(0x20, 'FileAttributes')
    .u32(0, 'Reserved2')
    .bytes(FILE_ID, 'FileId')
    .u32(ctx ? 152 : 0, 'CreateContextsOffset')
    .u32(ctx ? ctx.length : 0, 'CreateContextsLength')
    .bytes(ctx ?? Buffer.alloc(0));
}

t.test('CREATE response', async (t) => {
  const mxac = new ByteList().u32(0, 'QueryStatus').u32(0x001f01ff, 'MaximalAccess').toBuffer();
  const ctx = encodeCreateContexts([{ name: 'MxAc', data: mxac }]);
  const msg = responseMessage(Smb2Command.CREATE, responseBody(ctx));
  const r = decodeCreateResponse(msg);
  t.equal(r.oplockLevel, 0xff);
  t.equal(r.createAction, 1);
  t.equal(r.creationTime, 0x01d0000000000001n);
  t.equal(r.lastAccessTime, 0x01d0000000000002n);
  t.equal(r.lastWriteTime, 0x01d0000000000003n);
  t.equal(r.changeTime, 0x01d0000000000004n);
  t.equal(r.allocationSize, 4096);
  t.equal(r.endOfFile, 1234);
  t.equal(r.fileAttributes, 0x20);
  t.equal(hex(r.fileId), hex(FILE_ID));
  t.equal(r.fileId.buffer, msg.buffer, 'fileId is a view');
  t.equal(r.contexts.length, 1);
  t.equal(r.contexts[0]!.name, 'MxAc');
  t.equal(hex(r.contexts[0]!.data), hex(mxac));

  const plain = decodeCreateResponse(responseMessage(Smb2Command.CREATE, responseBody()));
  t.same(plain.contexts, []);
});

t.test('CREATE response malformed variants throw', async (t) => {
  const ctx = encodeCreateContexts([{ name: 'MxAc', data: unhex('0000000000000000') }]);
  const msg = responseMessage(Smb2Command.CREATE, responseBody(ctx));
  t.type(thrown(() => decodeCreateResponse(msg.subarray(0, 64 + 87))), SmbProtocolError, 'truncated');
  const ss = Buffer.from(msg);
  ss.writeUInt16LE(88, 64);
  t.type(thrown(() => decodeCreateResponse(ss)), SmbProtocolError, 'StructureSize');
  const off = Buffer.from(msg);
  off.writeUInt32LE(100, 64 + 80);
  t.type(thrown(() => decodeCreateResponse(off)), SmbProtocolError, 'contexts inside fixed part');
  const len = Buffer.from(msg);
  len.writeUInt32LE(ctx.length + 8, 64 + 84);
  t.type(thrown(() => decodeCreateResponse(len)), SmbProtocolError, 'contexts past end');
  const dataLen = Buffer.from(msg);
  dataLen.writeUInt32LE(9, 152 + 12);
  t.type(thrown(() => decodeCreateResponse(dataLen)), SmbProtocolError, 'context data past end');
  const next = Buffer.from(msg);
  next.writeUInt32LE(8, 152);
  t.type(thrown(() => decodeCreateResponse(next)), SmbProtocolError, 'context Next too small');
  const eof = Buffer.from(msg);
  eof.writeBigUInt64LE(1n << 60n, 64 + 48);
  t.type(thrown(() => decodeCreateResponse(eof)), SmbProtocolError, 'EndofFile above 2^53');
});

t.test('lease v1 request context data (2.2.13.2.8)', async (t) => {
  t.equal(
    hex(encodeLeaseV1ContextData({ leaseKey: FILE_ID, leaseState: 7 })),
    hex(new ByteList().bytes(FILE_ID, 'LeaseKey').u32(7, 'LeaseState').u32(0, 'LeaseFlags').u64(0, 'LeaseDuration').toBuffer()),
  );
  const l = decodeLeaseContextData(encodeLeaseV1ContextData({ leaseKey: FILE_ID, leaseState: 3 }));
  t.same([hex(l.leaseKey), l.leaseState, l.flags, l.epoch], [hex(FILE_ID), 3, 0, 0]);
  t.throws(() => encodeLeaseV1ContextData({ leaseKey: Buffer.alloc(15), leaseState: 1 }));
});

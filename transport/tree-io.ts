/**
 * Per-handle operations of a tree: CREATE with the caller's access,
 * disposition and caching request, WRITE from the caller's buffers, FLUSH,
 * QUERY_INFO and SET_INFO on an open handle.
 */
import { SmbProtocolError } from './errors.js';
import { creditChargeFor, type SmbMessage, type SmbResponse } from './message.js';
import { NtStatus } from './ntstatus.js';
import {
  CreateContextName,
  CreateDisposition,
  CreateOptions,
  decodeCreateResponse,
  decodeLeaseContextData,
  encodeLeaseV1ContextData,
  encodeLeaseV2ContextData,
  FileAccess,
  LeaseState,
  OplockLevel,
  type CreateContext,
} from './pdu/create.js';
import {
  dateToFiletime,
  decodeFileAllInformation,
  encodeFileBasicInformation,
  encodeFileDispositionInformation,
  encodeFileEndOfFileInformation,
  encodeFileRenameInformation,
  FileInfoClass,
} from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import { decodeFlushResponse, encodeFlushRequest } from './pdu/misc.js';
import { decodeQueryInfoResponse, decodeSetInfoResponse, InfoType } from './pdu/query-info.js';
import { decodeWriteResponse, encodeWriteRequest } from './pdu/write.js';
import { LeaseTable } from './lease.js';
import { durableGranted, durableRequest } from './durable.js';
import { expectStatus } from './session.js';
import { postStat, QFID_CONTEXT, RELATED_FILE_ID, statFromAll, statFromCreate, type TreeCore } from './tree-core.js';
import { decodeReadResponse, encodeReadRequest } from './pdu/read.js';
import { SmbStatusError } from './errors.js';
import { Dialect, READ_FIRST_MAX, type SmbCreateOptions, type SmbOpenResult, type SmbStat, type SmbTimes } from './types.js';

/** SMB2_GLOBAL_CAP_LEASING (MS-SMB2 2.2.4). */
const CAP_LEASING = 0x02;

const READ_ACCESS = FileAccess.FILE_READ_DATA | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.FILE_READ_EA | FileAccess.SYNCHRONIZE;
const WRITE_ACCESS =
  FileAccess.FILE_WRITE_DATA | FileAccess.FILE_APPEND_DATA | FileAccess.FILE_WRITE_ATTRIBUTES | FileAccess.FILE_WRITE_EA | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE;

export const DISPOSITIONS = {
  open: CreateDisposition.FILE_OPEN,
  create: CreateDisposition.FILE_CREATE,
  open_if: CreateDisposition.FILE_OPEN_IF,
  overwrite: CreateDisposition.FILE_OVERWRITE,
  overwrite_if: CreateDisposition.FILE_OVERWRITE_IF,
} as const;

/** DesiredAccess for an SmbCreateOptions. */
export function accessFor(opts: SmbCreateOptions): number {
  let a = opts.access === 'read' ? READ_ACCESS : opts.access === 'write' ? WRITE_ACCESS : READ_ACCESS | WRITE_ACCESS;
  if (opts.delete) a |= FileAccess.DELETE;
  return a;
}

/** Whether this connection can ask for a lease rather than an oplock. */
export function leasing(core: TreeCore): boolean {
  return core.neg.dialect >= Dialect.SMB2_1 && (core.neg.capabilities & CAP_LEASING) !== 0;
}

/**
 * CREATE with access, disposition and (optionally) a RWH lease or batch
 * oplock. Without an explicit leaseKey, the key of a lease this tree already
 * holds on the same path is reused; should the server refuse it
 * (STATUS_INVALID_PARAMETER: the key belongs to another file now), the
 * CREATE is retried once with a fresh key.
 */
export async function create(core: TreeCore, leases: LeaseTable, path: string, opts: SmbCreateOptions): Promise<SmbOpenResult> {
  const reused = opts.lease && !opts.leaseKey && leasing(core) ? leases.keyForPath(path) : undefined;
  try {
    return await createOnce(core, leases, path, opts, opts.leaseKey ?? reused ?? null);
  } catch (e) {
    if (!reused || !(e instanceof SmbStatusError) || e.status !== NtStatus.STATUS_INVALID_PARAMETER) throw e;
    leases.dropPath(path);
    return createOnce(core, leases, path, opts, null);
  }
}

/** A REQUEST_LEASE create context for RWH caching under `key` (v2 on 3.x, v1 on 2.1). */
export function leaseContext(core: TreeCore, key: Buffer): CreateContext {
  const rwh = LeaseState.READ_CACHING | LeaseState.HANDLE_CACHING | LeaseState.WRITE_CACHING;
  const data = core.neg.dialect >= Dialect.SMB3_0 ? encodeLeaseV2ContextData({ leaseKey: key, leaseState: rwh }) : encodeLeaseV1ContextData({ leaseKey: key, leaseState: rwh });
  return { name: CreateContextName.REQUEST_LEASE, data };
}

/** One CREATE; `leaseKey` null means a new random key when a lease is wanted. */
async function createOnce(core: TreeCore, leases: LeaseTable, path: string, opts: SmbCreateOptions, leaseKey: Buffer | null): Promise<SmbOpenResult> {
  let options = 0;
  if (opts.directory) options |= CreateOptions.FILE_DIRECTORY_FILE;
  if (opts.nonDirectory) options |= CreateOptions.FILE_NON_DIRECTORY_FILE;
  let oplock: number = OplockLevel.NONE;
  // QFid: the file id comes with the open, so a new file needs no stat round trip.
  const contexts: CreateContext[] = [QFID_CONTEXT];
  let key: Buffer | null = null;
  if (opts.lease) {
    if (leasing(core)) {
      key = leaseKey ?? LeaseTable.newKey();
      contexts.push(leaseContext(core, key));
      oplock = OplockLevel.LEASE;
    } else {
      oplock = OplockLevel.BATCH;
    }
  }
  // A file held with a lease or batch oplock can be durable: it survives a reconnect (durable.ts).
  const durable = oplock !== OplockLevel.NONE && !opts.directory ? durableRequest(core.neg.dialect) : null;
  if (durable) contexts.push(durable.context);
  const m = core.createMsg(path, {
    desiredAccess: accessFor(opts),
    disposition: DISPOSITIONS[opts.disposition],
    createOptions: options,
    fileAttributes: opts.attributes ?? 0,
    requestedOplockLevel: oplock,
    contexts,
  });
  // With a CreateGuid the server recognises a resent CREATE as a replay of the first.
  if (durable?.createGuid) m.replay = 'replay';
  const readLen = opts.readFirst ?? 0;
  if (!Number.isInteger(readLen) || readLen < 0 || readLen > READ_FIRST_MAX) throw new RangeError(`readFirst ${readLen} not in [0, ${READ_FIRST_MAX}]`);
  const rs = readLen > 0 ? await core.compound([m, firstReadMsg(core, readLen)]) : [await core.conn.request(m)];
  const r = rs[0]!;
  core.checkAll([r], [path]);
  const c = decodeCreateResponse(r.msg);
  const fileId = Buffer.from(c.fileId);
  {
    const st = statFromCreate(c, true);
    const granted = durable !== null && durableGranted(c, durable.createGuid !== null);
    core.durables.add({
      durable: granted,
      writable: opts.access !== 'read',
      fileId,
      path,
      desiredAccess: accessFor(opts),
      createOptions: options,
      createGuid: granted ? durable.createGuid : null,
      leaseKey: key,
      oplockLevel: c.oplockLevel,
      fileIndex: st.fileIndex,
      size: st.size,
      lastWriteMs: st.lastWriteTime.getTime(),
      wroteSince: false,
      inFlight: [],
      watch: null,
    });
  }
  let grantedKey: Buffer | null = null;
  let leaseState = 0;
  if (c.oplockLevel === OplockLevel.LEASE) {
    const ctx = c.contexts.find((x) => x.name === CreateContextName.REQUEST_LEASE);
    if (!ctx) throw new SmbProtocolError('CREATE granted a lease without a lease context');
    const l = decodeLeaseContextData(ctx.data);
    grantedKey = Buffer.from(l.leaseKey);
    if (key && !grantedKey.equals(key)) throw new SmbProtocolError('CREATE lease context carries another lease key');
    leaseState = leases.addLease(fileId, grantedKey, l.leaseState, l.epoch, path);
  } else {
    leaseState = leases.addOplock(fileId, c.oplockLevel);
  }
  const open: SmbOpenResult = { fileId, stat: statFromCreate(c, true), createAction: c.createAction, leaseKey: grantedKey, leaseState };
  if (readLen > 0) open.data = firstReadData(rs[1]!, readLen);
  return open;
}

/** The READ request for `length` bytes at `offset` of `fileId`. */
export function readMsg(core: TreeCore, fileId: Buffer, offset: number, length: number): SmbMessage {
  return core.msg(
    Smb2Command.READ,
    encodeReadRequest({ padding: 0x50, flags: 0, length, offset, fileId, minimumCount: 0, channel: 0, remainingBytes: 0 }),
    creditChargeFor(length),
  );
}

/** READ of the first `length` bytes of the file the previous compound member opened. */
function firstReadMsg(core: TreeCore, length: number): SmbMessage {
  return readMsg(core, RELATED_FILE_ID, 0, length);
}

/**
 * The bytes of the compounded READ (a copy: the reply's buffer is not kept),
 * none at the end of the file, null when the READ failed (the open stands;
 * reads then go to the server as usual). More than asked is a broken reply.
 */
function firstReadData(r: SmbResponse, asked: number): Buffer | null {
  if (r.header.status === NtStatus.STATUS_END_OF_FILE) return Buffer.alloc(0);
  if (r.header.status !== NtStatus.STATUS_SUCCESS) return null;
  const { data } = decodeReadResponse(r.msg);
  if (data.length > asked) throw new SmbProtocolError(`READ reply carries ${data.length} bytes for a read of ${asked}`);
  return Buffer.from(data);
}

/**
 * The WRITE request for `data` at `offset`: the fixed part is the body, the
 * caller's buffers are the payload (sent after it in the same socket write,
 * never copied).
 */
export function writeMsg(core: TreeCore, fileId: Buffer, offset: number, data: Buffer[]): SmbMessage {
  let len = 0;
  for (const b of data) len += b.length;
  if (len > core.neg.maxWriteSize) throw new RangeError(`WRITE of ${len} bytes exceeds MaxWriteSize ${core.neg.maxWriteSize}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad WRITE offset ${offset}`);
  const m = core.msg(Smb2Command.WRITE, encodeWriteRequest({ offset, fileId, length: len, flags: 0 }), creditChargeFor(len));
  m.payload = data;
  return m;
}

/** WRITE; resolves to the server's Count (bytes written). */
export async function write(core: TreeCore, fileId: Buffer, offset: number, data: Buffer[]): Promise<number> {
  const m = writeMsg(core, fileId, offset, data);
  if (m.payloadLength === 0) return 0;
  const w = { start: offset, end: offset + m.payloadLength, data };
  core.durables.noteWriteSent(fileId, w);
  let count: number;
  try {
    const r = await core.conn.request(m);
    expectStatus(r);
    count = decodeWriteResponse(r.msg).count;
  } catch (e) {
    core.durables.noteWriteDone(fileId, w, null);
    throw e;
  }
  core.durables.noteWriteDone(fileId, w, offset + Math.min(count, m.payloadLength));
  return count;
}

export async function flush(core: TreeCore, fileId: Buffer): Promise<void> {
  const r = await core.conn.request(core.msg(Smb2Command.FLUSH, encodeFlushRequest({ fileId })));
  expectStatus(r);
  decodeFlushResponse(r.msg);
}

/** QUERY_INFO FileAllInformation on an open handle. */
export async function statHandle(core: TreeCore, fileId: Buffer): Promise<SmbStat> {
  const r = await core.conn.request(core.queryInfoMsg(fileId, InfoType.FILE, FileInfoClass.FileAllInformation, 4096));
  expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_BUFFER_OVERFLOW]);
  return statFromAll(decodeFileAllInformation(decodeQueryInfoResponse(r.msg).outputBuffer));
}

/** One SET_INFO on an open handle. */
export async function setInfo(core: TreeCore, fileId: Buffer, infoClass: number, buffer: Buffer, paths: readonly string[] = []): Promise<void> {
  const r = await core.conn.request(core.setInfoMsg(fileId, infoClass, buffer));
  core.checkAll([r], paths);
  decodeSetInfoResponse(r.msg);
}

/** FileBasicInformation bytes for SmbTimes: unset or null times and attributes 0 mean "leave as is". */
export function basicInfoFor(t: SmbTimes): Buffer {
  const ft = (d: Date | null | undefined): bigint => (d ? dateToFiletime(d) : 0n);
  return encodeFileBasicInformation({
    creationTime: ft(t.creationTime),
    lastAccessTime: ft(t.lastAccessTime),
    lastWriteTime: ft(t.lastWriteTime),
    changeTime: ft(t.changeTime),
    fileAttributes: t.attributes ?? 0,
  });
}

export async function setEndOfFile(core: TreeCore, fileId: Buffer, size: number): Promise<void> {
  await setInfo(core, fileId, FileInfoClass.FileEndOfFileInformation, encodeFileEndOfFileInformation(size));
  core.durables.noteSize(fileId, size);
}

/**
 * Set times (FileBasicInformation) on an open handle. Resolves to the
 * attributes after the change, queried in the same compound (the stat that
 * follows `touch` needs no round trip), or null if they did not come.
 */
export async function setTimes(core: TreeCore, fileId: Buffer, times: SmbTimes): Promise<SmbStat | null> {
  const rs = await core.compound([core.setInfoMsg(fileId, FileInfoClass.FileBasicInformation, basicInfoFor(times)), core.postQueryMsg(fileId)]);
  core.checkAll([rs[0]!], []);
  decodeSetInfoResponse(rs[0]!.msg);
  return postStat(rs[1]!);
}

/** Rename an open handle (needs DELETE access) to a full share-relative path. */
export function renameHandle(core: TreeCore, fileId: Buffer, newPath: string, replace: boolean): Promise<void> {
  return setInfo(core, fileId, FileInfoClass.FileRenameInformation, encodeFileRenameInformation({ replaceIfExists: replace, fileName: newPath }), [newPath]);
}

/** Set or clear delete-on-close on an open handle (needs DELETE access). */
export function setDeleteOnClose(core: TreeCore, fileId: Buffer, on: boolean): Promise<void> {
  return setInfo(core, fileId, FileInfoClass.FileDispositionInformation, encodeFileDispositionInformation(on));
}

/**
 * SMB2 CREATE (MS-SMB2 2.2.13 request, 2.2.14 response) and create contexts
 * (2.2.13.2 / 2.2.14.2).
 *
 * Request body:  64 StructureSize (57) 66 SecurityFlags (1) 67 RequestedOplockLevel (1)
 *   68 ImpersonationLevel  72 SmbCreateFlags (8)  80 Reserved (8)
 *   88 DesiredAccess  92 FileAttributes  96 ShareAccess  100 CreateDisposition
 *  104 CreateOptions  108 NameOffset (2)  110 NameLength (2)
 *  112 CreateContextsOffset  116 CreateContextsLength  120 Buffer: name, then
 *      8-aligned create contexts.
 * Response body: 64 StructureSize (89) 66 OplockLevel 67 Flags 68 CreateAction
 *   72 CreationTime 80 LastAccessTime 88 LastWriteTime 96 ChangeTime
 *  104 AllocationSize 112 EndofFile 120 FileAttributes 124 Reserved2
 *  128 FileId (16) 144 CreateContextsOffset 148 CreateContextsLength 152 Buffer
 *
 * Create context: 0 Next, 4 NameOffset (2), 6 NameLength (2), 8 Reserved (2),
 *   10 DataOffset (2), 12 DataLength (4), 16 Buffer; offsets relative to the
 *   context, Next 8-aligned, 0 on the last.
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, checkRange, utf16le } from './codec.js';
import { SMB2_HEADER_SIZE, assertFileId, openResponseBody } from './header.js';

/** Access mask bits for files, pipes and directories (2.2.13.1.1, 2.2.13.1.2). */
export const FileAccess = {
  FILE_READ_DATA: 0x00000001,
  FILE_LIST_DIRECTORY: 0x00000001,
  FILE_WRITE_DATA: 0x00000002,
  FILE_ADD_FILE: 0x00000002,
  FILE_APPEND_DATA: 0x00000004,
  FILE_ADD_SUBDIRECTORY: 0x00000004,
  FILE_READ_EA: 0x00000008,
  FILE_WRITE_EA: 0x00000010,
  FILE_EXECUTE: 0x00000020,
  FILE_TRAVERSE: 0x00000020,
  FILE_DELETE_CHILD: 0x00000040,
  FILE_READ_ATTRIBUTES: 0x00000080,
  FILE_WRITE_ATTRIBUTES: 0x00000100,
  DELETE: 0x00010000,
  READ_CONTROL: 0x00020000,
  WRITE_DAC: 0x00040000,
  WRITE_OWNER: 0x00080000,
  SYNCHRONIZE: 0x00100000,
  ACCESS_SYSTEM_SECURITY: 0x01000000,
  MAXIMUM_ALLOWED: 0x02000000,
  GENERIC_ALL: 0x10000000,
  GENERIC_EXECUTE: 0x20000000,
  GENERIC_WRITE: 0x40000000,
  GENERIC_READ: 0x80000000,
} as const;

/** ShareAccess (2.2.13). */
export const ShareAccess = {
  FILE_SHARE_READ: 0x00000001,
  FILE_SHARE_WRITE: 0x00000002,
  FILE_SHARE_DELETE: 0x00000004,
} as const;

/** CreateDisposition (2.2.13). */
export const CreateDisposition = {
  FILE_SUPERSEDE: 0,
  FILE_OPEN: 1,
  FILE_CREATE: 2,
  FILE_OPEN_IF: 3,
  FILE_OVERWRITE: 4,
  FILE_OVERWRITE_IF: 5,
} as const;

/** CreateOptions (2.2.13). */
export const CreateOptions = {
  FILE_DIRECTORY_FILE: 0x00000001,
  FILE_WRITE_THROUGH: 0x00000002,
  FILE_SEQUENTIAL_ONLY: 0x00000004,
  FILE_NO_INTERMEDIATE_BUFFERING: 0x00000008,
  FILE_SYNCHRONOUS_IO_ALERT: 0x00000010,
  FILE_SYNCHRONOUS_IO_NONALERT: 0x00000020,
  FILE_NON_DIRECTORY_FILE: 0x00000040,
  FILE_COMPLETE_IF_OPLOCKED: 0x00000100,
  FILE_NO_EA_KNOWLEDGE: 0x00000200,
  FILE_OPEN_REMOTE_INSTANCE: 0x00000400,
  FILE_RANDOM_ACCESS: 0x00000800,
  FILE_DELETE_ON_CLOSE: 0x00001000,
  FILE_OPEN_BY_FILE_ID: 0x00002000,
  FILE_OPEN_FOR_BACKUP_INTENT: 0x00004000,
  FILE_NO_COMPRESSION: 0x00008000,
  FILE_OPEN_REQUIRING_OPLOCK: 0x00010000,
  FILE_DISALLOW_EXCLUSIVE: 0x00020000,
  FILE_RESERVE_OPFILTER: 0x00100000,
  FILE_OPEN_REPARSE_POINT: 0x00200000,
  FILE_OPEN_NO_RECALL: 0x00400000,
  FILE_OPEN_FOR_FREE_SPACE_QUERY: 0x00800000,
} as const;

/** RequestedOplockLevel / OplockLevel (2.2.13, 2.2.14). */
export const OplockLevel = {
  NONE: 0x00,
  II: 0x01,
  EXCLUSIVE: 0x08,
  BATCH: 0x09,
  LEASE: 0xff,
} as const;

/** ImpersonationLevel (2.2.13). */
export const ImpersonationLevel = {
  Anonymous: 0,
  Identification: 1,
  Impersonation: 2,
  Delegate: 3,
} as const;

/** CreateAction (2.2.14). */
export const CreateAction = {
  FILE_SUPERSEDED: 0,
  FILE_OPENED: 1,
  FILE_CREATED: 2,
  FILE_OVERWRITTEN: 3,
} as const;

/** Create context names (2.2.13.2); 4 ASCII characters each. */
export const CreateContextName = {
  EA_BUFFER: 'ExtA',
  SD_BUFFER: 'SecD',
  DURABLE_HANDLE_REQUEST: 'DHnQ',
  DURABLE_HANDLE_RECONNECT: 'DHnC',
  ALLOCATION_SIZE: 'AlSi',
  QUERY_MAXIMAL_ACCESS_REQUEST: 'MxAc',
  TIMEWARP_TOKEN: 'TWrp',
  QUERY_ON_DISK_ID: 'QFid',
  REQUEST_LEASE: 'RqLs',
  DURABLE_HANDLE_REQUEST_V2: 'DH2Q',
  DURABLE_HANDLE_RECONNECT_V2: 'DH2C',
} as const;

/** LeaseState bits (2.2.13.2.8). */
export const LeaseState = {
  NONE: 0x00,
  READ_CACHING: 0x01,
  HANDLE_CACHING: 0x02,
  WRITE_CACHING: 0x04,
} as const;

export interface CreateContext {
  /** ASCII tag such as 'MxAc'. */
  name: string;
  data: Buffer;
}

export interface CreateRequest {
  requestedOplockLevel: number;
  impersonationLevel: number;
  desiredAccess: number;
  fileAttributes: number;
  shareAccess: number;
  createDisposition: number;
  createOptions: number;
  /** Path relative to the share, '\' separators, '' for the root. */
  name: string;
  contexts?: CreateContext[];
}

export interface CreateResponse {
  oplockLevel: number;
  flags: number;
  createAction: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: number;
  endOfFile: number;
  fileAttributes: number;
  /** 16-byte view. */
  fileId: Buffer;
  contexts: CreateContext[];
}

const REQ_FIXED = 56;
const RESP_FIXED = 88;
const CTX_HEADER = 16;

/** Round up to a multiple of 8. */
function up8(n: number): number {
  return (n + 7) & ~7;
}

/** Byte length of an encoded context chain (no padding after the last). */
function contextsLength(list: readonly CreateContext[]): number {
  let len = 0;
  list.forEach((c, i) => {
    const one = up8(CTX_HEADER + c.name.length) + c.data.length;
    len += i < list.length - 1 ? up8(one) : one;
  });
  return len;
}

/** Write a context chain at w.pos, which must be 8-aligned. */
function writeContexts(w: Writer, list: readonly CreateContext[]): void {
  list.forEach((c, i) => {
    const start = w.pos;
    const dataOff = up8(CTX_HEADER + c.name.length);
    const one = dataOff + c.data.length;
    const next = i < list.length - 1 ? up8(one) : 0;
    w.u32(next);
    w.u16(CTX_HEADER).u16(c.name.length);
    w.zeros(2);
    w.u16(c.data.length > 0 ? dataOff : 0).u32(c.data.length);
    w.bytes(Buffer.from(c.name, 'latin1'));
    w.at(start + dataOff).bytes(c.data);
    if (next) w.at(start + next);
  });
}

/** Encode a standalone create context chain (e.g. for tests or SET_INFO-like use). */
export function encodeCreateContexts(list: readonly CreateContext[]): Buffer {
  const w = new Writer(contextsLength(list));
  writeContexts(w, list);
  return w.buf;
}

/**
 * Parse a create context chain. `buf` is exactly the CreateContexts region;
 * every Next, name and data range is checked and Next must advance.
 */
export function parseCreateContexts(buf: Buffer): CreateContext[] {
  const out: CreateContext[] = [];
  let pos = 0;
  for (;;) {
    checkRange(buf.length, pos, CTX_HEADER, 'create context header');
    const r = new Reader(buf, pos);
    const next = r.u32();
    const nameOff = r.u16();
    const nameLen = r.u16();
    r.skip(2);
    const dataOff = r.u16();
    const dataLen = r.u32();
    const limit = next === 0 ? buf.length - pos : next;
    if (next !== 0 && (next < CTX_HEADER || pos + next > buf.length)) {
      throw new SmbProtocolError(`create context Next ${next} invalid at ${pos}`);
    }
    checkRange(limit, nameOff, nameLen, 'create context name');
    if (dataLen > 0) checkRange(limit, dataOff, dataLen, 'create context data');
    const name = buf.toString('latin1', pos + nameOff, pos + nameOff + nameLen);
    const data = dataLen > 0 ? buf.subarray(pos + dataOff, pos + dataOff + dataLen) : buf.subarray(0, 0);
    out.push({ name, data });
    if (next === 0) return out;
    pos += next;
  }
}

/** Encode the CREATE request body. */
export function encodeCreateRequest(req: CreateRequest): Buffer {
  const name = utf16le(req.name);
  if (name.length > 0xffff) throw new RangeError('CREATE name too long');
  const ctx = req.contexts ?? [];
  const nameEnd = REQ_FIXED + Math.max(name.length, 1);
  const ctxOff = ctx.length > 0 ? up8(nameEnd) : 0;
  const ctxLen = contextsLength(ctx);
  const w = new Writer(ctx.length > 0 ? ctxOff + ctxLen : nameEnd);
  w.u16(57);
  w.u8(0); // SecurityFlags
  w.u8(req.requestedOplockLevel);
  w.u32(req.impersonationLevel);
  w.zeros(8); // SmbCreateFlags
  w.zeros(8); // Reserved
  w.u32(req.desiredAccess);
  w.u32(req.fileAttributes);
  w.u32(req.shareAccess);
  w.u32(req.createDisposition);
  w.u32(req.createOptions);
  w.u16(SMB2_HEADER_SIZE + REQ_FIXED); // NameOffset
  w.u16(name.length);
  w.u32(ctx.length > 0 ? SMB2_HEADER_SIZE + ctxOff : 0);
  w.u32(ctxLen);
  w.bytes(name);
  if (ctx.length > 0) {
    w.at(ctxOff);
    writeContexts(w, ctx);
  }
  return w.buf;
}

/** Decode a CREATE response message. */
export function decodeCreateResponse(msg: Buffer): CreateResponse {
  const r = openResponseBody(msg, 89, RESP_FIXED, 'CREATE');
  const oplockLevel = r.u8();
  const flags = r.u8();
  const createAction = r.u32();
  const creationTime = r.u64();
  const lastAccessTime = r.u64();
  const lastWriteTime = r.u64();
  const changeTime = r.u64();
  const allocationSize = r.u64n();
  const endOfFile = r.u64n();
  const fileAttributes = r.u32();
  r.skip(4);
  const fileId = r.bytes(16);
  const ctxOff = r.u32();
  const ctxLen = r.u32();
  let contexts: CreateContext[] = [];
  if (ctxLen > 0) {
    if (ctxOff < SMB2_HEADER_SIZE + RESP_FIXED) throw new SmbProtocolError(`CREATE: contexts offset ${ctxOff} inside fixed part`);
    checkRange(msg.length, ctxOff, ctxLen, 'CREATE contexts');
    contexts = parseCreateContexts(msg.subarray(ctxOff, ctxOff + ctxLen));
  }
  return {
    oplockLevel,
    flags,
    createAction,
    creationTime,
    lastAccessTime,
    lastWriteTime,
    changeTime,
    allocationSize,
    endOfFile,
    fileAttributes,
    fileId,
    contexts,
  };
}

/**
 * Data of an SMB2_CREATE_REQUEST_LEASE context (2.2.13.2.8, 32 bytes, 2.1+):
 * LeaseKey (16), LeaseState (4), LeaseFlags (4, 0), LeaseDuration (8, 0).
 */
export function encodeLeaseV1ContextData(l: { leaseKey: Buffer; leaseState: number }): Buffer {
  assertFileId(l.leaseKey);
  return new Writer(32).bytes(l.leaseKey).u32(l.leaseState).u32(0).u64(0n).buf;
}

/**
 * Data of an SMB2_CREATE_REQUEST_LEASE_V2 context (2.2.13.2.10, 52 bytes):
 * LeaseKey (16), LeaseState, Flags, LeaseDuration (8), ParentLeaseKey (16),
 * Epoch (2), Reserved (2).
 */
export function encodeLeaseV2ContextData(l: { leaseKey: Buffer; leaseState: number; parentLeaseKey?: Buffer; epoch?: number }): Buffer {
  assertFileId(l.leaseKey);
  const w = new Writer(52);
  w.bytes(l.leaseKey).u32(l.leaseState);
  w.u32(l.parentLeaseKey ? 0x04 : 0); // SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET
  w.u64(0n).bytes(l.parentLeaseKey ?? Buffer.alloc(16)).u16(l.epoch ?? 0).zeros(2);
  return w.buf;
}

/** Lease response context data, V1 (32 bytes) or V2 (52 bytes) (2.2.14.2.10/11). */
export function decodeLeaseContextData(data: Buffer): { leaseKey: Buffer; leaseState: number; flags: number; epoch: number } {
  if (data.length !== 32 && data.length !== 52) throw new SmbProtocolError(`lease context of ${data.length} bytes`);
  const r = new Reader(data);
  const leaseKey = r.bytes(16);
  const leaseState = r.u32();
  const flags = r.u32();
  r.skip(8);
  let epoch = 0;
  if (data.length === 52) {
    r.skip(16);
    epoch = r.u16();
  }
  return { leaseKey, leaseState, flags, epoch };
}

/** MxAc response data (2.2.14.2.5): QueryStatus, MaximalAccess. */
export function decodeMaximalAccessContextData(data: Buffer): { queryStatus: number; maximalAccess: number } {
  const r = new Reader(data);
  return { queryStatus: r.u32(), maximalAccess: r.u32() };
}

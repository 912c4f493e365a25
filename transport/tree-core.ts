/**
 * TreeCore: what every tree operation needs — the connection, the session and
 * tree ids, and builders for the request messages that the per-path
 * compounds (tree-namespace.ts) and per-handle calls (tree-io.ts) are made
 * of. Compounds use related operations, so the members after a CREATE name
 * its handle as FileId 0xFF..FF (MS-SMB2 3.2.4.1.4).
 */
import type { SmbConnection } from './connection.js';
import { SmbStatusError } from './errors.js';
import { SmbMessage, type SmbResponse } from './message.js';
import { NtStatus, statusName } from './ntstatus.js';
import { encodeCloseRequest } from './pdu/close.js';
import {
  CreateContextName,
  CreateDisposition,
  decodeMaximalAccessContextData,
  encodeCreateRequest,
  ImpersonationLevel,
  ShareAccess,
  type CreateContext,
  type CreateResponse,
} from './pdu/create.js';
import { decodeFileAllInformation, FILE_ATTRIBUTE_DIRECTORY, FileInfoClass, filetimeToDate, type FileAllInformation } from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import { decodeQueryInfoResponse, encodeQueryInfoRequest, encodeSetInfoRequest, InfoType } from './pdu/query-info.js';
import type { Negotiated, SessionState } from './session.js';
import { DurableTable } from './durable.js';
import type { SmbDirEntry, SmbStat } from './types.js';

/** FileId of the previous compound member (MS-SMB2 3.2.4.1.4). */
export const RELATED_FILE_ID = Buffer.alloc(16, 0xff);

/** Longest name component, in bytes of UTF-8, that Samba's POSIX back end stores. */
const NAME_MAX_BYTES = 255;

/** What a CREATE asks for; unset fields take the defaults noted. */
export interface CreateSpec {
  desiredAccess: number;
  /** CreateDisposition (default FILE_OPEN). */
  disposition?: number;
  createOptions?: number;
  fileAttributes?: number;
  requestedOplockLevel?: number;
  contexts?: CreateContext[];
}

export class TreeCore {
  /** Opens the server keeps across a lost connection, reclaimed after a reconnect. */
  readonly durables = new DurableTable();

  constructor(
    readonly conn: SmbConnection,
    readonly neg: Negotiated,
    readonly session: SessionState,
    /** Changes when a reconnect connects the tree again. */
    public treeId: number,
  ) {}

  /** A request message addressed to this tree. */
  msg(command: number, body: Buffer, charge = 1): SmbMessage {
    const m = new SmbMessage(command, body, charge);
    m.sessionId = this.session.sessionId;
    m.treeId = this.treeId;
    m.tree = this;
    return m;
  }

  /** CREATE of `path`; shares read, write and delete with other opens. */
  createMsg(path: string, spec: CreateSpec): SmbMessage {
    return this.msg(
      Smb2Command.CREATE,
      encodeCreateRequest({
        requestedOplockLevel: spec.requestedOplockLevel ?? 0,
        impersonationLevel: ImpersonationLevel.Impersonation,
        desiredAccess: spec.desiredAccess,
        fileAttributes: spec.fileAttributes ?? 0,
        shareAccess: ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        createDisposition: spec.disposition ?? CreateDisposition.FILE_OPEN,
        createOptions: spec.createOptions ?? 0,
        name: path,
        ...(spec.contexts ? { contexts: spec.contexts } : {}),
      }),
    );
  }

  closeMsg(fileId: Buffer): SmbMessage {
    return this.msg(Smb2Command.CLOSE, encodeCloseRequest({ flags: 0, fileId }));
  }

  queryInfoMsg(fileId: Buffer, infoType: number, infoClass: number, outLen: number, flags = 0, additionalInformation = 0): SmbMessage {
    return this.msg(
      Smb2Command.QUERY_INFO,
      encodeQueryInfoRequest({ infoType, fileInfoClass: infoClass, outputBufferLength: outLen, additionalInformation, flags, fileId }),
      // CreditCharge covers the larger of request and expected response (3.1.5.2).
      Math.max(1, Math.ceil(outLen / 65536)),
    );
  }

  setInfoMsg(fileId: Buffer, infoClass: number, buffer: Buffer, infoType: number = InfoType.FILE, additionalInformation = 0): SmbMessage {
    return this.msg(
      Smb2Command.SET_INFO,
      encodeSetInfoRequest({ infoType, fileInfoClass: infoClass, additionalInformation, fileId, buffer }),
    );
  }

  /** FileAllInformation of a handle, asked after a change in the same compound (read with postStat). */
  postQueryMsg(fileId: Buffer): SmbMessage {
    return this.queryInfoMsg(fileId, InfoType.FILE, FileInfoClass.FileAllInformation, 4096);
  }

  /**
   * Send a compound and wait for every member's reply. Members from
   * `relatedFrom` on are related (they act on the handle the member before
   * them opened); those before it stand alone, such as the CLOSE of a
   * handle the operation that follows replaces.
   */
  async compound(members: SmbMessage[], relatedFrom = 1): Promise<SmbResponse[]> {
    for (let i = 0; i < members.length - 1; i++) members[i]!.next = members[i + 1]!;
    for (let i = Math.max(1, relatedFrom); i < members.length; i++) members[i]!.related = true;
    await this.conn.send(members[0]!);
    return Promise.all(members.map((m) => m.done));
  }

  /**
   * Throw for the first member of a compound reply that failed, after
   * translating a too-long name (see nameError). `ok` lists extra statuses
   * accepted per member index.
   */
  checkAll(rs: SmbResponse[], paths: readonly string[], ok: Record<number, readonly number[]> = {}): void {
    rs.forEach((r, i) => {
      const accept = ok[i] ?? [NtStatus.STATUS_SUCCESS];
      const s = r.header.status;
      if (!accept.includes(s)) throw nameError(new SmbStatusError(s, statusName(s), r.header.command, r.header.messageId), paths);
    });
  }
}

/**
 * Samba maps the POSIX ENAMETOOLONG of its back end to
 * STATUS_OBJECT_NAME_INVALID, which otherwise means "no such name" (ENOENT).
 * When one of the paths involved has a component longer than a POSIX file
 * system can store, report STATUS_NAME_TOO_LONG (ENAMETOOLONG) instead.
 */
export function nameError(e: SmbStatusError, paths: readonly string[]): SmbStatusError {
  if (e.status !== NtStatus.STATUS_OBJECT_NAME_INVALID) return e;
  const tooLong = paths.some((p) => p.split('\\').some((c) => Buffer.byteLength(c, 'utf8') > NAME_MAX_BYTES));
  if (!tooLong) return e;
  return new SmbStatusError(NtStatus.STATUS_NAME_TOO_LONG, undefined, e.command, e.messageId, 'server said STATUS_OBJECT_NAME_INVALID for a name component over 255 bytes');
}

/** The stat in a post-change query's reply, or null if it failed or does not parse. */
export function postStat(r: SmbResponse): SmbStat | null {
  const s = r.header.status;
  if (s !== NtStatus.STATUS_SUCCESS && s !== NtStatus.STATUS_BUFFER_OVERFLOW) return null;
  try {
    return statFromAll(decodeFileAllInformation(decodeQueryInfoResponse(r.msg).outputBuffer));
  } catch {
    return null;
  }
}

/** The times, sizes and attributes every SMB2 info shape carries. */
interface StatFields {
  endOfFile: number;
  allocationSize: number;
  fileAttributes: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
}

/** SmbStat from the common fields, with what only some shapes know. */
function statOf(f: StatFields, fileIndex: bigint, nlink: number, directory = false): SmbStat {
  return {
    fileIndex,
    size: f.endOfFile,
    allocationSize: f.allocationSize,
    attributes: f.fileAttributes,
    isDirectory: directory || (f.fileAttributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
    creationTime: filetimeToDate(f.creationTime),
    lastAccessTime: filetimeToDate(f.lastAccessTime),
    lastWriteTime: filetimeToDate(f.lastWriteTime),
    changeTime: filetimeToDate(f.changeTime),
    nlink,
  };
}

/**
 * SmbStat from a CREATE response: no link count (0); the file id only from
 * a QFid context, and only when the request asked for one (`askedDiskId`).
 */
export function statFromCreate(c: CreateResponse, askedDiskId = false): SmbStat {
  return statOf(c, askedDiskId ? diskFileId(c) : 0n, 0);
}

/** The QFid request context (MS-SMB2 2.2.13.2.9): no data. */
export const QFID_CONTEXT: CreateContext = { name: CreateContextName.QUERY_ON_DISK_ID, data: Buffer.alloc(0) };

/** The MxAc request context (MS-SMB2 2.2.13.2.5): no timestamp, so no data. */
export const MXAC_CONTEXT: CreateContext = { name: CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST, data: Buffer.alloc(0) };

/**
 * `st` with the MaximalAccess of `c`'s MxAc response context (2.2.14.2.5);
 * `st` itself when there is none, it is malformed, or its QueryStatus is
 * not success.
 */
export function withMaximalAccess(st: SmbStat, c: CreateResponse): SmbStat {
  const m = c.contexts.find((x) => x.name === CreateContextName.QUERY_MAXIMAL_ACCESS_REQUEST);
  if (!m) return st;
  try {
    const r = decodeMaximalAccessContextData(m.data);
    return r.queryStatus === NtStatus.STATUS_SUCCESS ? { ...st, maximalAccess: r.maximalAccess } : st;
  } catch {
    return st;
  }
}

/**
 * DiskFileId of a QFid response context (MS-SMB2 2.2.14.2.9, 32 bytes); its
 * first 8 bytes are the file index, as the Linux client takes them. 0n if
 * absent or malformed.
 */
function diskFileId(c: CreateResponse): bigint {
  const q = c.contexts.find((x) => x.name === CreateContextName.QUERY_ON_DISK_ID);
  return q && q.data.length >= 32 ? q.data.readBigUInt64LE(0) : 0n;
}

/** SmbStat from FileAllInformation. */
export function statFromAll(info: FileAllInformation): SmbStat {
  return statOf(info, info.indexNumber, Math.max(1, info.numberOfLinks), info.directory);
}

/** A directory entry: its name and SmbStat (entries carry no link count: 0); the stat object is the entry, not copied. */
export function dirEntryOf(e: StatFields & { fileIndex: bigint; name: string }): SmbDirEntry {
  return Object.assign(statOf(e, e.fileIndex, 0), { name: e.name });
}

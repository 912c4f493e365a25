/**
 * A connected share: TREE_CONNECT and the per-path and per-handle operations
 * the filesystem needs, each in as few round trips as SMB2 compounds allow
 * (MS-SMB2 3.2.4.1.4: related operations use FileId 0xFF..FF).
 *
 * The Tree is the facade; the work lives in tree-core.ts (message builders),
 * tree-io.ts (per-handle: create, write, flush, query/set info),
 * tree-namespace.ts (one-round-trip path compounds), tree-list.ts (bounded
 * directory listing) and lease.ts (leases, oplocks and their breaks).
 */
import type { BvecqPos } from '../netfs/bvecq.js';
import type { ServerNotification, SmbConnection } from './connection.js';
import { SmbProtocolError, SmbStatusError } from './errors.js';
import { SmbMessage } from './message.js';
import { NtStatus } from './ntstatus.js';
import { decodeCloseResponse } from './pdu/close.js';
import { CreateOptions, decodeCreateResponse, FileAccess, OplockLevel } from './pdu/create.js';
import {
  decodeFileAllInformation,
  decodeFileFsFullSizeInformation,
  FileInfoClass,
} from './pdu/fscc.js';
import type { OpenWatch } from './durable.js';
import { LeaseTable } from './lease.js';
import { QFID_CONTEXT, RELATED_FILE_ID, statFromAll, statFromCreate, TreeCore, type CreateSpec } from './tree-core.js';
import * as io from './tree-io.js';
import { closeWithAttrs, createWriteClose } from './tree-close.js';
import { listDirectory, listPath } from './tree-list.js';
import * as ns from './tree-namespace.js';
import * as sec from './tree-security.js';
import { Smb2Command } from './pdu/header.js';
import { decodeQueryInfoResponse, InfoType } from './pdu/query-info.js';
import { decodeTreeConnectResponse, encodeTreeConnectRequest, encodeTreeDisconnectRequest, ShareFlags } from './pdu/tree-connect.js';
import { expectStatus, type Negotiated, type SessionState } from './session.js';
import {
  Dialect,
  type CallerGone,
  type SmbBreakEvent,
  type SmbCreateOptions,
  type SmbDirEntry,
  type SmbFsStat,
  type SmbOpen,
  type SmbOpenResult,
  type SmbStat,
  type SmbTimes,
  type SmbTree,
  type SmbWrittenFile,
} from './types.js';

export class Tree implements SmbTree {
  private readonly core: TreeCore;
  /** Leases and oplocks held through this tree; emits 'break' after each break is handled. */
  readonly leases: LeaseTable;
  private readonly onNotification = (n: ServerNotification): void => this.leases.onNotification(n);
  /** Whether the server keeps S-1-5-88-3 mode ACEs, learned at the first setMode. */
  private readonly modeAces: sec.ModeAceSupport = {};

  private constructor(
    private readonly conn: SmbConnection,
    private readonly neg: Negotiated,
    private readonly session: SessionState,
    treeId: number,
    readonly shareFlags: number,
    readonly shareAccess: number,
    private readonly unc: string,
  ) {
    this.core = new TreeCore(conn, neg, session, treeId);
    this.leases = new LeaseTable(this.core);
    conn.on('notification', this.onNotification);
  }

  /** The tree id (a reconnect gives the tree a new one). */
  get treeId(): number {
    return this.core.treeId;
  }

  /**
   * After a reconnect, on the new session: TREE_CONNECT again (a setup
   * request); the tree takes its new id. Returns the old one.
   */
  async reconnect(): Promise<number> {
    const old = this.core.treeId;
    const m = new SmbMessage(Smb2Command.TREE_CONNECT, encodeTreeConnectRequest({ path: this.unc }));
    m.sessionId = this.session.sessionId;
    m.forceSign = this.neg.dialect === Dialect.SMB3_1_1 && this.session.signingKey !== null;
    const r = await this.conn.request(m);
    expectStatus(r);
    decodeTreeConnectResponse(r.msg);
    this.core.treeId = r.header.treeId;
    if ((this.shareFlags & ShareFlags.ENCRYPT_DATA) !== 0 && this.neg.dialect >= Dialect.SMB3_0) this.conn.sealTree(this.session.sessionId, r.header.treeId);
    return old;
  }

  /** What the opener of `fileId` knows that a reconnect needs (durable.ts). */
  watchOpen(fileId: Buffer, w: OpenWatch): void {
    this.core.durables.watch(fileId, w);
  }

  /** After a reconnect: take back the durable opens (durable.ts). */
  reopenDurables(): Promise<{ reclaimed: number; reopened: number; lost: number }> {
    return this.core.durables.reopenAll(this.core, this.leases);
  }

  get maxReadSize(): number {
    return this.neg.maxReadSize;
  }

  get maxWriteSize(): number {
    return this.neg.maxWriteSize;
  }

  get transferBudget(): number {
    return this.conn.transferBudget;
  }

  /** TREE_CONNECT to \\host\share. */
  static async connect(conn: SmbConnection, neg: Negotiated, session: SessionState, host: string, share: string): Promise<Tree> {
    const unc = `\\\\${host}\\${share}`;
    const m = new SmbMessage(Smb2Command.TREE_CONNECT, encodeTreeConnectRequest({ path: unc }));
    m.sessionId = session.sessionId;
    // 3.1.1 requires a signed TREE_CONNECT whenever the session has keys.
    m.forceSign = neg.dialect === Dialect.SMB3_1_1 && session.signingKey !== null;
    const r = await conn.request(m);
    if (r.header.status === NtStatus.STATUS_ACCESS_DENIED && neg.dialect < Dialect.SMB3_0) {
      // Samba (and Windows) refuse a share that requires encryption to SMB 2.x this way.
      throw new SmbStatusError(r.header.status, undefined, Smb2Command.TREE_CONNECT, r.header.messageId,
        `share '${share}' refused; if it requires encryption, SMB ${neg.dialect === Dialect.SMB2_1 ? '2.1' : '2.0.2'} cannot do it (use vers=3.0 or later)`);
    }
    expectStatus(r);
    const t = decodeTreeConnectResponse(r.msg);
    // MS-SMB2 3.2.5.5: a share that requires encryption has every later request on the tree encrypted.
    if ((t.shareFlags & ShareFlags.ENCRYPT_DATA) !== 0 && neg.dialect >= Dialect.SMB3_0) {
      if (!session.cipher) {
        throw new SmbProtocolError(`share '${share}' requires encryption but this session cannot encrypt (guest, or no cipher negotiated)`);
      }
      conn.sealTree(session.sessionId, r.header.treeId);
    }
    return new Tree(conn, neg, session, r.header.treeId, t.shareFlags, t.maximalAccess, unc);
  }

  /** A request message addressed to this tree. */
  private msg(command: number, body: Buffer, charge = 1): SmbMessage {
    return this.core.msg(command, body, charge);
  }

  /** CREATE + QUERY_INFO(`infoClass`) + CLOSE in one round trip; returns the info bytes. */
  private async queryPath(
    path: string,
    infoType: number,
    infoClass: number,
    outLen: number,
    spec: CreateSpec = { desiredAccess: FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE },
  ): Promise<Buffer> {
    const create = this.core.createMsg(path, spec);
    const query = this.core.queryInfoMsg(RELATED_FILE_ID, infoType, infoClass, outLen);
    const rs = await this.core.compound([create, query, this.core.closeMsg(RELATED_FILE_ID)]);
    this.core.checkAll(rs.slice(0, 2), [path], { 1: [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_BUFFER_OVERFLOW] });
    return decodeQueryInfoResponse(rs[1]!.msg).outputBuffer;
  }

  /**
   * Attributes of `path`. Where leases exist (2.1+) the stat opens with read
   * access, which is not a "stat open": the server first breaks another
   * client's write caching, so their cached writes reach it and the size we
   * get includes them (a plain attributes-only open would see a stale size).
   * Our own lease key goes along, so our own leases are not broken. A file we
   * may not read, or one opened without read sharing, falls back to an
   * attributes-only open. With `mode`, the DACL is read in the same compound
   * and the mode it records returned (null if none, or it may not be read).
   */
  async stat(path: string, opts: { mode?: boolean } = {}): Promise<SmbStat> {
    const withMode = opts.mode === true;
    const basic: CreateSpec = { desiredAccess: FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE };
    const plain = async () => {
      if (!withMode) return this.statOnce(path, basic, false);
      try {
        return await this.statOnce(path, { desiredAccess: basic.desiredAccess | FileAccess.READ_CONTROL }, true);
      } catch (e) {
        if ((e as { status?: number }).status !== NtStatus.STATUS_ACCESS_DENIED) throw e;
        return { ...(await this.statOnce(path, basic, false)), mode: null };
      }
    };
    if (!io.leasing(this.core)) return plain();
    const spec: CreateSpec = {
      desiredAccess: FileAccess.FILE_READ_DATA | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE | (withMode ? FileAccess.READ_CONTROL : 0),
      ...this.ownLease(path),
    };
    try {
      return await this.statOnce(path, spec, withMode);
    } catch (e) {
      const s = (e as { status?: number }).status;
      if (s !== NtStatus.STATUS_ACCESS_DENIED && s !== NtStatus.STATUS_SHARING_VIOLATION) throw e;
      return plain();
    }
  }

  /** CREATE + QUERY_INFO FileAllInformation [+ QUERY_INFO owner, group, DACL] + CLOSE in one round trip. */
  private async statOnce(path: string, spec: CreateSpec, withMode: boolean): Promise<SmbStat> {
    const members = [
      this.core.createMsg(path, spec),
      this.core.queryInfoMsg(RELATED_FILE_ID, InfoType.FILE, FileInfoClass.FileAllInformation, 4096),
      ...(withMode ? [sec.modeQueryMsg(this.core)] : []),
      this.core.closeMsg(RELATED_FILE_ID),
    ];
    const rs = await this.core.compound(members);
    this.core.checkAll(rs.slice(0, 2), [path], { 1: [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_BUFFER_OVERFLOW] });
    const st = statFromAll(decodeFileAllInformation(decodeQueryInfoResponse(rs[1]!.msg).outputBuffer));
    if (!withMode) return st;
    // A descriptor the server will not return (e.g. larger than the buffer) leaves the mode unknown, not the stat failed.
    return { ...st, mode: rs[2]!.header.status === NtStatus.STATUS_SUCCESS ? sec.modeFromReply(rs[2]!) : null };
  }

  async open(path: string, opts: { directory?: boolean } = {}): Promise<SmbOpen> {
    const access = opts.directory
      ? FileAccess.FILE_LIST_DIRECTORY | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE
      : FileAccess.FILE_READ_DATA | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE;
    const options = opts.directory ? CreateOptions.FILE_DIRECTORY_FILE : CreateOptions.FILE_NON_DIRECTORY_FILE;
    const r = await this.conn.request(this.core.createMsg(path, { desiredAccess: access, createOptions: options, contexts: [QFID_CONTEXT] }));
    this.core.checkAll([r], [path]);
    const c = decodeCreateResponse(r.msg);
    const fileId = Buffer.from(c.fileId);
    const stat = statFromCreate(c, true);
    // Read-only: after a reconnect it is simply opened again (durable.ts).
    this.core.durables.add({
      durable: false, writable: false, fileId, path, desiredAccess: access, createOptions: options, createGuid: null, leaseKey: null,
      oplockLevel: OplockLevel.NONE, fileIndex: stat.fileIndex, size: stat.size, lastWriteMs: stat.lastWriteTime.getTime(), wroteSince: false,
      inFlight: [], watch: null,
    });
    return { fileId, stat };
  }

  create(path: string, opts: SmbCreateOptions): Promise<SmbOpenResult> {
    return io.create(this.core, this.leases, path, opts);
  }

  async close(fileId: Buffer, opts: { attrs?: boolean } = {}): Promise<SmbStat | null> {
    this.forget(fileId);
    if (opts.attrs) return closeWithAttrs(this.core, fileId);
    const r = await this.conn.request(this.core.closeMsg(fileId));
    expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_FILE_CLOSED]);
    // STATUS_FILE_CLOSED comes with the 9-byte error body, not a CLOSE reply.
    if (r.header.status === NtStatus.STATUS_SUCCESS) decodeCloseResponse(r.msg);
    return null;
  }

  createWriteClose(path: string, opts: SmbCreateOptions, data: Buffer, times?: SmbTimes): Promise<SmbWrittenFile> {
    return createWriteClose(this.core, path, opts, data, times);
  }

  async read(fileId: Buffer, offset: number, length: number, dest: BvecqPos): Promise<number> {
    const m = io.readMsg(this.core, fileId, offset, length);
    m.readDest = dest;
    m.readMax = length;
    const r = await this.conn.request(m);
    if (r.header.status === NtStatus.STATUS_END_OF_FILE) return 0;
    expectStatus(r);
    if (r.decanted === undefined) throw new SmbProtocolError('READ reply was not decanted');
    return r.decanted;
  }

  write(fileId: Buffer, offset: number, data: Buffer[]): Promise<number> {
    return io.write(this.core, fileId, offset, data);
  }

  flush(fileId: Buffer): Promise<void> {
    return io.flush(this.core, fileId);
  }

  statHandle(fileId: Buffer): Promise<SmbStat> {
    return io.statHandle(this.core, fileId);
  }

  setEndOfFile(fileId: Buffer, size: number): Promise<void> {
    return io.setEndOfFile(this.core, fileId, size);
  }

  setTimes(fileId: Buffer, times: SmbTimes): Promise<SmbStat | null> {
    return io.setTimes(this.core, fileId, times);
  }

  renameHandle(fileId: Buffer, newPath: string, replace: boolean): Promise<void> {
    this.leases.dropHandlePath(fileId);
    this.leases.dropPath(newPath);
    return io.renameHandle(this.core, fileId, newPath, replace);
  }

  setDeleteOnClose(fileId: Buffer, on: boolean): Promise<void> {
    return io.setDeleteOnClose(this.core, fileId, on);
  }

  truncatePath(path: string, size: number): Promise<void> {
    return ns.truncatePath(this.core, path, size);
  }

  setTimesPath(path: string, times: SmbTimes): Promise<SmbStat | null> {
    return ns.setTimesPath(this.core, path, times);
  }

  setAttributesPath(path: string, attributes: number): Promise<void> {
    return ns.setAttributesPath(this.core, path, attributes);
  }

  renamePath(from: string, to: string, replace: boolean, closing: readonly Buffer[] = []): Promise<SmbStat | null> {
    for (const id of closing) this.forget(id);
    this.leases.dropPath(from);
    this.leases.dropPath(to);
    return ns.renamePath(this.core, from, to, replace, closing);
  }

  unlinkPath(path: string, closing: readonly Buffer[] = []): Promise<void> {
    for (const id of closing) this.forget(id);
    this.leases.dropPath(path);
    return ns.unlinkPath(this.core, path, closing);
  }

  /** A handle about to be closed (by close() or inside another operation's compound): its lease, durable state and loss are forgotten first. */
  private forget(fileId: Buffer): void {
    this.leases.forget(fileId);
    this.core.durables.remove(fileId);
    this.conn.forgetHandle(fileId);
  }

  rmdirPath(path: string): Promise<void> {
    this.leases.dropPath(path);
    return ns.rmdirPath(this.core, path);
  }

  mkdirPath(path: string): Promise<SmbStat | null> {
    return ns.mkdirPath(this.core, path);
  }

  linkPath(existing: string, newPath: string): Promise<SmbStat | null> {
    return ns.linkPath(this.core, existing, newPath);
  }

  modeOf(path: string): Promise<number | null> {
    return sec.modeOfPath(this.core, path, this.ownLease(path));
  }

  setMode(path: string, mode: number, directory: boolean): Promise<number | null> {
    return sec.setModePath(this.core, path, mode, directory, this.modeAces, this.ownLease(path));
  }

  /** Our lease key on `path` for a CREATE, so opening it (e.g. with WRITE_DAC) does not break our own lease. */
  private ownLease(path: string): sec.SpecExtra {
    const key = io.leasing(this.core) ? this.leases.keyForPath(path) : undefined;
    return key ? { requestedOplockLevel: OplockLevel.LEASE, contexts: [io.leaseContext(this.core, key)] } : {};
  }

  getEas(path: string): Promise<{ name: string; value: Buffer }[]> {
    return ns.getEas(this.core, path);
  }

  setEa(path: string, name: string, value: Buffer | null): Promise<void> {
    return ns.setEa(this.core, path, name, value);
  }

  onBreak(cb: ((ev: SmbBreakEvent) => Promise<void>) | null): void {
    this.leases.onBreak(cb);
  }

  listDirectory(fileId: Buffer, signal?: CallerGone): Promise<SmbDirEntry[]> {
    return listDirectory(this.core, fileId, signal);
  }

  listPath(path: string, signal?: CallerGone, opts?: { maxNames?: number }): Promise<{ stat: SmbStat; entries: SmbDirEntry[]; complete: boolean }> {
    return listPath(this.core, path, signal, opts);
  }

  async statfs(): Promise<SmbFsStat> {
    const fs = decodeFileFsFullSizeInformation(await this.queryPath('', InfoType.FILESYSTEM, FileInfoClass.FileFsFullSizeInformation, 64));
    return {
      blockSize: fs.sectorsPerAllocationUnit * fs.bytesPerSector,
      totalBlocks: fs.totalAllocationUnits,
      freeBlocks: fs.actualAvailableAllocationUnits,
      availBlocks: fs.callerAvailableAllocationUnits,
    };
  }

  async disconnect(): Promise<void> {
    this.conn.off('notification', this.onNotification);
    if (this.conn.isClosed) return;
    const r = await this.conn.request(this.msg(Smb2Command.TREE_DISCONNECT, encodeTreeDisconnectRequest()));
    expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_NETWORK_NAME_DELETED]);
  }
}

/**
 * A connected share: TREE_CONNECT and the per-path and per-handle operations
 * the filesystem needs, each in as few round trips as SMB2 compounds allow
 * (MS-SMB2 3.2.4.1.4: related operations use FileId 0xFF..FF).
 */
import type { BvecqPos } from '../netfs/bvecq.js';
import type { SmbConnection } from './connection.js';
import { SmbProtocolError } from './errors.js';
import { creditChargeFor, SmbMessage, type SmbResponse } from './message.js';
import { NtStatus } from './ntstatus.js';
import { decodeCloseResponse, encodeCloseRequest } from './pdu/close.js';
import {
  CreateDisposition,
  CreateOptions,
  decodeCreateResponse,
  encodeCreateRequest,
  FileAccess,
  ShareAccess,
} from './pdu/create.js';
import {
  decodeFileAllInformation,
  decodeFileFsFullSizeInformation,
  FileInfoClass,
  FILE_ATTRIBUTE_DIRECTORY,
  filetimeToDate,
} from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import { decodeQueryDirectoryResponse, encodeQueryDirectoryRequest, parseFileIdBothDirectoryInformation } from './pdu/query-directory.js';
import { decodeQueryInfoResponse, encodeQueryInfoRequest, InfoType } from './pdu/query-info.js';
import { encodeReadRequest } from './pdu/read.js';
import { decodeTreeConnectResponse, encodeTreeConnectRequest, encodeTreeDisconnectRequest } from './pdu/tree-connect.js';
import { expectStatus, type Negotiated, type SessionState } from './session.js';
import { Dialect, type SmbDirEntry, type SmbFsStat, type SmbOpen, type SmbStat, type SmbTree } from './types.js';

/** FileId of the previous compound member (MS-SMB2 3.2.4.1.4). */
const RELATED_FILE_ID = Buffer.alloc(16, 0xff);
const QUERY_DIRECTORY_RESTART = 0x01;

export class Tree implements SmbTree {
  private constructor(
    private readonly conn: SmbConnection,
    private readonly neg: Negotiated,
    private readonly session: SessionState,
    readonly treeId: number,
    readonly shareFlags: number,
  ) {}

  get maxReadSize(): number {
    return this.neg.maxReadSize;
  }

  /** TREE_CONNECT to \\host\share. */
  static async connect(conn: SmbConnection, neg: Negotiated, session: SessionState, host: string, share: string): Promise<Tree> {
    const m = new SmbMessage(Smb2Command.TREE_CONNECT, encodeTreeConnectRequest({ path: `\\\\${host}\\${share}` }));
    m.sessionId = session.sessionId;
    // 3.1.1 requires a signed TREE_CONNECT whenever the session has keys.
    m.forceSign = neg.dialect === Dialect.SMB3_1_1 && session.signingKey !== null;
    const r = await conn.request(m);
    expectStatus(r);
    const t = decodeTreeConnectResponse(r.msg);
    return new Tree(conn, neg, session, r.header.treeId, t.shareFlags);
  }

  /** A request message addressed to this tree. */
  private msg(command: number, body: Buffer, charge = 1): SmbMessage {
    const m = new SmbMessage(command, body, charge);
    m.sessionId = this.session.sessionId;
    m.treeId = this.treeId;
    return m;
  }

  private createMsg(path: string, access: number, options: number): SmbMessage {
    return this.msg(
      Smb2Command.CREATE,
      encodeCreateRequest({
        requestedOplockLevel: 0,
        impersonationLevel: 2,
        desiredAccess: access,
        fileAttributes: 0,
        shareAccess: ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        createDisposition: CreateDisposition.FILE_OPEN,
        createOptions: options,
        name: path,
      }),
    );
  }

  /** Send a related compound and wait for every member's reply. */
  private async compound(members: SmbMessage[]): Promise<SmbResponse[]> {
    for (let i = 0; i < members.length - 1; i++) members[i]!.next = members[i + 1]!;
    for (let i = 1; i < members.length; i++) members[i]!.related = true;
    await this.conn.send(members[0]!);
    return Promise.all(members.map((m) => m.done));
  }

  /** CREATE + QUERY_INFO(`infoClass`) + CLOSE in one round trip; returns the info bytes. */
  private async queryPath(path: string, infoType: number, infoClass: number, outLen: number): Promise<Buffer> {
    const create = this.createMsg(path, FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE, 0);
    const query = this.msg(
      Smb2Command.QUERY_INFO,
      encodeQueryInfoRequest({ infoType, fileInfoClass: infoClass, outputBufferLength: outLen, additionalInformation: 0, flags: 0, fileId: RELATED_FILE_ID }),
    );
    const close = this.msg(Smb2Command.CLOSE, encodeCloseRequest({ flags: 0, fileId: RELATED_FILE_ID }));
    const [rc, rq] = await this.compound([create, query, close]);
    expectStatus(rc!);
    expectStatus(rq!, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_BUFFER_OVERFLOW]);
    return decodeQueryInfoResponse(rq!.msg).outputBuffer;
  }

  async stat(path: string): Promise<SmbStat> {
    const info = decodeFileAllInformation(await this.queryPath(path, InfoType.FILE, FileInfoClass.FileAllInformation, 4096));
    return {
      fileIndex: info.indexNumber,
      size: info.endOfFile,
      allocationSize: info.allocationSize,
      attributes: info.fileAttributes,
      isDirectory: info.directory || (info.fileAttributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
      creationTime: filetimeToDate(info.creationTime),
      lastAccessTime: filetimeToDate(info.lastAccessTime),
      lastWriteTime: filetimeToDate(info.lastWriteTime),
      changeTime: filetimeToDate(info.changeTime),
      nlink: Math.max(1, info.numberOfLinks),
    };
  }

  async open(path: string, opts: { directory?: boolean } = {}): Promise<SmbOpen> {
    const access = opts.directory
      ? FileAccess.FILE_LIST_DIRECTORY | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE
      : FileAccess.FILE_READ_DATA | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE;
    const options = opts.directory ? CreateOptions.FILE_DIRECTORY_FILE : CreateOptions.FILE_NON_DIRECTORY_FILE;
    const r = await this.conn.request(this.createMsg(path, access, options));
    expectStatus(r);
    const c = decodeCreateResponse(r.msg);
    return {
      fileId: Buffer.from(c.fileId),
      stat: {
        fileIndex: 0n,
        size: c.endOfFile,
        allocationSize: c.allocationSize,
        attributes: c.fileAttributes,
        isDirectory: (c.fileAttributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
        creationTime: filetimeToDate(c.creationTime),
        lastAccessTime: filetimeToDate(c.lastAccessTime),
        lastWriteTime: filetimeToDate(c.lastWriteTime),
        changeTime: filetimeToDate(c.changeTime),
        nlink: 1,
      },
    };
  }

  async close(fileId: Buffer): Promise<void> {
    const r = await this.conn.request(this.msg(Smb2Command.CLOSE, encodeCloseRequest({ flags: 0, fileId })));
    expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_FILE_CLOSED]);
    decodeCloseResponse(r.msg);
  }

  async read(fileId: Buffer, offset: number, length: number, dest: BvecqPos): Promise<number> {
    const m = this.msg(
      Smb2Command.READ,
      encodeReadRequest({ padding: 0x50, flags: 0, length, offset, fileId, minimumCount: 0, channel: 0, remainingBytes: 0 }),
      creditChargeFor(length),
    );
    m.readDest = dest;
    m.readMax = length;
    const r = await this.conn.request(m);
    if (r.header.status === NtStatus.STATUS_END_OF_FILE) return 0;
    expectStatus(r);
    if (r.decanted === undefined) throw new SmbProtocolError('READ reply was not decanted');
    return r.decanted;
  }

  async listDirectory(fileId: Buffer): Promise<SmbDirEntry[]> {
    const out: SmbDirEntry[] = [];
    const outLen = Math.min(this.neg.maxTransactSize, 1024 * 1024);
    for (let first = true; ; first = false) {
      const m = this.msg(
        Smb2Command.QUERY_DIRECTORY,
        encodeQueryDirectoryRequest({
          fileInformationClass: FileInfoClass.FileIdBothDirectoryInformation,
          flags: first ? QUERY_DIRECTORY_RESTART : 0,
          fileIndex: 0,
          fileId,
          fileName: '*',
          outputBufferLength: outLen,
        }),
        creditChargeFor(outLen),
      );
      const r = await this.conn.request(m);
      if (r.header.status === NtStatus.STATUS_NO_MORE_FILES) return out;
      expectStatus(r);
      for (const e of parseFileIdBothDirectoryInformation(decodeQueryDirectoryResponse(r.msg).outputBuffer)) {
        if (e.name === '.' || e.name === '..') continue;
        out.push({
          name: e.name,
          fileIndex: e.fileIndex,
          size: e.endOfFile,
          allocationSize: e.allocationSize,
          attributes: e.fileAttributes,
          isDirectory: (e.fileAttributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
          creationTime: filetimeToDate(e.creationTime),
          lastAccessTime: filetimeToDate(e.lastAccessTime),
          lastWriteTime: filetimeToDate(e.lastWriteTime),
          changeTime: filetimeToDate(e.changeTime),
          nlink: 1,
        });
      }
    }
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
    if (this.conn.isClosed) return;
    const r = await this.conn.request(this.msg(Smb2Command.TREE_DISCONNECT, encodeTreeDisconnectRequest()));
    expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_NETWORK_NAME_DELETED]);
  }
}

/**
 * CLOSE that brings the file's attributes back (SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
 * MS-SMB2 2.2.15/2.2.16), and the one-round-trip small-file write built on
 * it: CREATE + WRITE + CLOSE as related compound members (3.2.4.1.4), the
 * WRITE and CLOSE naming the CREATE's handle as FileId 0xFF..FF.
 */
import { SmbProtocolError } from './errors.js';
import { creditChargeFor, type SmbResponse } from './message.js';
import { NtStatus } from './ntstatus.js';
import { CloseFlags, decodeCloseResponse, encodeCloseRequest } from './pdu/close.js';
import { CreateOptions, decodeCreateResponse } from './pdu/create.js';
import { FILE_ATTRIBUTE_DIRECTORY, FileInfoClass, filetimeToDate } from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import { decodeWriteResponse, encodeWriteRequest } from './pdu/write.js';
import { expectStatus } from './session.js';
import { QFID_CONTEXT, RELATED_FILE_ID, statFromCreate, type TreeCore } from './tree-core.js';
import { accessFor, basicInfoFor, DISPOSITIONS } from './tree-io.js';
import type { SmbCreateOptions, SmbStat, SmbTimes, SmbWrittenFile } from './types.js';

/**
 * The attributes of a CLOSE reply, or null when its Flags do not say they
 * are valid (a server may ignore the request). No file id, no link count.
 */
function attrsOfClose(r: SmbResponse): SmbStat | null {
  const c = decodeCloseResponse(r.msg);
  if ((c.flags & CloseFlags.POSTQUERY_ATTRIB) === 0) return null;
  return {
    fileIndex: 0n,
    size: c.endOfFile,
    allocationSize: c.allocationSize,
    attributes: c.fileAttributes,
    isDirectory: (c.fileAttributes & FILE_ATTRIBUTE_DIRECTORY) !== 0,
    creationTime: filetimeToDate(c.creationTime),
    lastAccessTime: filetimeToDate(c.lastAccessTime),
    lastWriteTime: filetimeToDate(c.lastWriteTime),
    changeTime: filetimeToDate(c.changeTime),
    nlink: 0,
  };
}

function closeAttrsMsg(core: TreeCore, fileId: Buffer) {
  return core.msg(Smb2Command.CLOSE, encodeCloseRequest({ flags: CloseFlags.POSTQUERY_ATTRIB, fileId }));
}

/** CLOSE with POSTQUERY_ATTRIB; the attributes at close, or null. An already closed handle is not an error. */
export async function closeWithAttrs(core: TreeCore, fileId: Buffer): Promise<SmbStat | null> {
  const r = await core.conn.request(closeAttrsMsg(core, fileId));
  expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_FILE_CLOSED]);
  return r.header.status === NtStatus.STATUS_SUCCESS ? attrsOfClose(r) : null;
}

/**
 * CREATE `path` (no lease: the handle ends in the same compound), WRITE
 * `data` at 0 when there is any, SET_INFO of `times` when given (after the
 * WRITE, so the times set are the ones the file keeps), CLOSE with
 * POSTQUERY_ATTRIB: one round trip. The WRITE's data travels inline in its
 * body, since only the last member of a compound may carry a separate
 * payload. Fails with the CREATE's error (the later members then fail too)
 * or the WRITE's or SET_INFO's (the file exists then, possibly empty).
 */
export async function createWriteClose(core: TreeCore, path: string, opts: SmbCreateOptions, data: Buffer, times?: SmbTimes): Promise<SmbWrittenFile> {
  if (data.length > core.neg.maxWriteSize) throw new RangeError(`WRITE of ${data.length} bytes exceeds MaxWriteSize ${core.neg.maxWriteSize}`);
  const create = core.createMsg(path, {
    desiredAccess: accessFor(opts),
    disposition: DISPOSITIONS[opts.disposition],
    createOptions: CreateOptions.FILE_NON_DIRECTORY_FILE,
    fileAttributes: opts.attributes ?? 0,
    contexts: [QFID_CONTEXT],
  });
  const members = [create];
  if (data.length > 0) {
    const fixed = encodeWriteRequest({ offset: 0, fileId: RELATED_FILE_ID, length: data.length, flags: 0 });
    members.push(core.msg(Smb2Command.WRITE, Buffer.concat([fixed, data]), creditChargeFor(data.length)));
  }
  if (times) members.push(core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileBasicInformation, basicInfoFor(times)));
  members.push(closeAttrsMsg(core, RELATED_FILE_ID));
  const rs = await core.compound(members);
  core.checkAll(rs.slice(0, members.length - 1), [path]);
  const c = decodeCreateResponse(rs[0]!.msg);
  let written = 0;
  if (data.length > 0) {
    written = decodeWriteResponse(rs[1]!.msg).count;
    if (written > data.length) throw new SmbProtocolError(`WRITE reply says ${written} bytes for a write of ${data.length}`);
  }
  const closing = rs[rs.length - 1]!;
  const created = statFromCreate(c, true);
  if (created.isDirectory) throw new SmbProtocolError('CREATE with FILE_NON_DIRECTORY_FILE opened a directory');
  const after = closing.header.status === NtStatus.STATUS_SUCCESS ? attrsOfClose(closing) : null;
  // The CLOSE's attributes are the file's after the write; the id comes from the CREATE (QFid).
  const stat = after ? { ...after, fileIndex: created.fileIndex, isDirectory: false } : null;
  return { createAction: c.createAction, written, stat };
}

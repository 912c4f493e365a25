/**
 * Per-path operations of a tree, each one round trip: a related compound of
 * CREATE, the operation on the new handle (FileId 0xFF..FF), and CLOSE
 * (MS-SMB2 3.2.4.1.4). If the CREATE fails the server fails the related
 * members with the same status, so the CREATE's status is the one reported.
 * rename and mkdir also query the result's attributes (FileAllInformation)
 * in the same compound, so the caller can cache them instead of asking
 * again; a failed or malformed query only means no attributes (the change
 * itself was made).
 */
import type { SmbMessage, SmbResponse } from './message.js';
import { NtStatus } from './ntstatus.js';
import { CreateDisposition, CreateOptions, decodeCreateResponse, FileAccess } from './pdu/create.js';
import { decodeFileFullEaInformation, encodeFileFullEaInformation } from './pdu/ea.js';
import {
  encodeFileBasicInformation,
  encodeFileDispositionInformation,
  encodeFileEndOfFileInformation,
  encodeFileLinkInformation,
  encodeFileRenameInformation,
  FileInfoClass,
} from './pdu/fscc.js';
import { decodeQueryInfoResponse, InfoType, QueryInfoFlags } from './pdu/query-info.js';
import { basicInfoFor } from './tree-io.js';
import { MXAC_CONTEXT, postStat, RELATED_FILE_ID, withMaximalAccess, type CreateSpec, type TreeCore } from './tree-core.js';
import type { SmbStat, SmbTimes } from './types.js';

const ATTR = FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE;

/** What onPath checks and adds beyond its CREATE, middle members and CLOSE. */
interface OnPathOptions {
  /** The names an error message gives (default: the path). */
  names?: readonly string[];
  /** Statuses accepted besides success for middle members, by index from 0. */
  ok?: Record<number, readonly number[]>;
  /** The middle member (index from 0) whose status is not checked: a post-change query. */
  unchecked?: number;
  /** Handles of ours the operation ends (such as one closetimeo kept), closed first in the same compound. */
  closing?: readonly Buffer[];
}

/**
 * CREATE `path` with `spec`, then `middle` (built for the related handle),
 * then CLOSE; throws the first member's failure. The CLOSEs of `o.closing`
 * go first in the same compound, unrelated: their handles are gone before
 * the CREATE, whatever it answers. Returns the replies from the CREATE on.
 */
async function onPath(core: TreeCore, path: string, spec: CreateSpec, middle: SmbMessage[], o: OnPathOptions = {}): Promise<SmbResponse[]> {
  const { names = [path], ok = {}, unchecked, closing = [] } = o;
  const closes = closing.map((id) => core.closeMsg(id));
  const all = await core.compound([...closes, core.createMsg(path, spec), ...middle, core.closeMsg(RELATED_FILE_ID)], closes.length + 1);
  // Whatever those CLOSEs answer (STATUS_FILE_CLOSED for a handle a reconnect
  // lost), the handles are gone on our side and the operation's own members
  // say whether it was done: their replies are not used.
  const rs = all.slice(closes.length);
  const shifted: Record<number, readonly number[]> = {};
  for (const [i, v] of Object.entries(ok)) shifted[Number(i) + 1] = [NtStatus.STATUS_SUCCESS, ...v];
  core.checkAll(unchecked === undefined ? rs : rs.filter((_, i) => i !== unchecked + 1), names, shifted);
  return rs;
}

/** The post-change attributes query: a middle member of onPath, left unchecked there. */
function postQuery(core: TreeCore): SmbMessage {
  return core.postQueryMsg(RELATED_FILE_ID);
}

/** Set the size of the file at `path` (FileEndOfFileInformation). */
export async function truncatePath(core: TreeCore, path: string, size: number): Promise<void> {
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileEndOfFileInformation, encodeFileEndOfFileInformation(size));
  await onPath(core, path, { desiredAccess: ATTR | FileAccess.FILE_WRITE_DATA, createOptions: CreateOptions.FILE_NON_DIRECTORY_FILE }, [set]);
}

/**
 * Set times (and attributes if given) of `path` (FileBasicInformation).
 * Resolves to the attributes after the change, or null if they did not come.
 */
export async function setTimesPath(core: TreeCore, path: string, times: SmbTimes): Promise<SmbStat | null> {
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileBasicInformation, basicInfoFor(times));
  const rs = await onPath(core, path, { desiredAccess: ATTR | FileAccess.FILE_WRITE_ATTRIBUTES }, [set, postQuery(core)], { unchecked: 1 });
  return postStat(rs[2]!);
}

/** Set the FILE_ATTRIBUTE_* bits of `path`; 0 is sent as FILE_ATTRIBUTE_NORMAL (0 would mean "unchanged"). */
export async function setAttributesPath(core: TreeCore, path: string, attributes: number): Promise<void> {
  const buf = encodeFileBasicInformation({ creationTime: 0n, lastAccessTime: 0n, lastWriteTime: 0n, changeTime: 0n, fileAttributes: attributes || 0x80 });
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileBasicInformation, buf);
  await onPath(core, path, { desiredAccess: ATTR | FileAccess.FILE_WRITE_ATTRIBUTES }, [set]);
}

/**
 * Rename a file or directory; `replace` overwrites an existing target file.
 * Resolves to the renamed file's attributes, or null if they did not come.
 */
export async function renamePath(core: TreeCore, from: string, to: string, replace: boolean, closing: readonly Buffer[] = []): Promise<SmbStat | null> {
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileRenameInformation, encodeFileRenameInformation({ replaceIfExists: replace, fileName: to }));
  const rs = await onPath(core, from, { desiredAccess: ATTR | FileAccess.DELETE }, [set, postQuery(core)], { names: [from, to], unchecked: 1, closing });
  return postStat(rs[2]!);
}

/** Delete a file (not a directory: STATUS_FILE_IS_A_DIRECTORY). */
export async function unlinkPath(core: TreeCore, path: string, closing: readonly Buffer[] = []): Promise<void> {
  const spec = { desiredAccess: ATTR | FileAccess.DELETE, createOptions: CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE };
  await onPath(core, path, spec, [], { closing });
}

/**
 * Delete an empty directory. Delete-pending is set with SET_INFO
 * FileDispositionInformation rather than FILE_DELETE_ON_CLOSE, because the
 * server checks emptiness there and answers STATUS_DIRECTORY_NOT_EMPTY on
 * that member; a CLOSE that fails to delete would not say why.
 */
export async function rmdirPath(core: TreeCore, path: string): Promise<void> {
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileDispositionInformation, encodeFileDispositionInformation(true));
  await onPath(core, path, { desiredAccess: ATTR | FileAccess.DELETE, createOptions: CreateOptions.FILE_DIRECTORY_FILE }, [set]);
}

/**
 * Create a directory (STATUS_OBJECT_NAME_COLLISION if the name exists).
 * Resolves to its attributes, with this session's maximal access to it when
 * the server says, or null if they did not come or do not describe a
 * directory.
 */
export async function mkdirPath(core: TreeCore, path: string): Promise<SmbStat | null> {
  const rs = await onPath(
    core,
    path,
    { desiredAccess: ATTR, disposition: CreateDisposition.FILE_CREATE, createOptions: CreateOptions.FILE_DIRECTORY_FILE, contexts: [MXAC_CONTEXT] },
    [postQuery(core)],
    { unchecked: 0 },
  );
  const st = postStat(rs[1]!);
  return st?.isDirectory ? withMaximalAccess(st, decodeCreateResponse(rs[0]!.msg)) : null;
}

/**
 * Make `newPath` a hard link to the file at `existing`. Resolves to the
 * file's attributes after the change (its new link count included), or
 * null if they did not come.
 */
export async function linkPath(core: TreeCore, existing: string, newPath: string): Promise<SmbStat | null> {
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileLinkInformation, encodeFileLinkInformation({ replaceIfExists: false, fileName: newPath }));
  const spec = { desiredAccess: ATTR | FileAccess.FILE_WRITE_ATTRIBUTES, createOptions: CreateOptions.FILE_NON_DIRECTORY_FILE };
  const rs = await onPath(core, existing, spec, [set, postQuery(core)], { names: [existing, newPath], unchecked: 1 });
  return postStat(rs[2]!);
}

/** Every extended attribute of `path` (FileFullEaInformation); [] when it has none. */
export async function getEas(core: TreeCore, path: string): Promise<{ name: string; value: Buffer }[]> {
  const outLen = Math.min(core.neg.maxTransactSize, 65536);
  const q = core.queryInfoMsg(RELATED_FILE_ID, InfoType.FILE, FileInfoClass.FileFullEaInformation, outLen, QueryInfoFlags.SL_RESTART_SCAN);
  const rs = await onPath(core, path, { desiredAccess: ATTR | FileAccess.FILE_READ_EA }, [q], { ok: { 0: [NtStatus.STATUS_NO_EAS_ON_FILE] } });
  if (rs[1]!.header.status === NtStatus.STATUS_NO_EAS_ON_FILE) return [];
  return decodeFileFullEaInformation(decodeQueryInfoResponse(rs[1]!.msg).outputBuffer).map((e) => ({ name: e.name, value: Buffer.from(e.value) }));
}

/** Set one extended attribute of `path`, or delete it (value null). */
export async function setEa(core: TreeCore, path: string, name: string, value: Buffer | null): Promise<void> {
  const buf = encodeFileFullEaInformation([{ flags: 0, name, value: value ?? Buffer.alloc(0) }]);
  const set = core.setInfoMsg(RELATED_FILE_ID, FileInfoClass.FileFullEaInformation, buf);
  await onPath(core, path, { desiredAccess: ATTR | FileAccess.FILE_WRITE_EA }, [set]);
}

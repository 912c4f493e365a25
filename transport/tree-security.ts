/**
 * Security descriptors on a tree: QUERY_INFO and SET_INFO with InfoType
 * SMB2_0_INFO_SECURITY (MS-SMB2 2.2.37, 2.2.39), and the POSIX mode kept in
 * the DACL (mode-sid.ts). Each call is one related compound (CREATE, the
 * operation, CLOSE); a chmod is two (read the DACL, write it back).
 */
import type { SmbMessage, SmbResponse } from './message.js';
import { hasModeAce, modeFromSd, sdWithMode } from './mode-sid.js';
import { FileAccess } from './pdu/create.js';
import { decodeQueryInfoResponse, InfoType, SecurityInformation } from './pdu/query-info.js';
import { decodeSecurityDescriptor, encodeSecurityDescriptor, type SecurityDescriptor } from './pdu/security.js';
import { RELATED_FILE_ID, type CreateSpec, type TreeCore } from './tree-core.js';

/** CREATE fields a caller adds (our lease key, so our own lease is not broken). */
export type SpecExtra = Pick<CreateSpec, 'requestedOplockLevel' | 'contexts'>;

/** A descriptor's ACLs have 16-bit sizes, so this holds any DACL a server can keep. */
const SD_MAX = 65536;

/** Owner, group and DACL: what a mode is read from. */
const MODE_INFO = SecurityInformation.OWNER | SecurityInformation.GROUP | SecurityInformation.DACL;

/** QUERY_INFO of owner, group and DACL on the previous compound member's handle (opened with READ_CONTROL). */
export function modeQueryMsg(core: TreeCore): SmbMessage {
  return core.queryInfoMsg(RELATED_FILE_ID, InfoType.SECURITY, 0, SD_MAX, 0, MODE_INFO);
}

/** The mode a modeQueryMsg reply records (null: none). */
export function modeFromReply(r: SmbResponse): number | null {
  return modeFromSd(decodeSecurityDescriptor(decodeQueryInfoResponse(r.msg).outputBuffer));
}

/** The descriptor parts of `path` that `info` (SecurityInformation bits) asks for. */
export async function querySecurity(core: TreeCore, path: string, info: number, extra: SpecExtra = {}): Promise<SecurityDescriptor> {
  const create = core.createMsg(path, { desiredAccess: FileAccess.READ_CONTROL | FileAccess.SYNCHRONIZE, ...extra });
  const query = core.queryInfoMsg(RELATED_FILE_ID, InfoType.SECURITY, 0, SD_MAX, 0, info);
  const rs = await core.compound([create, query, core.closeMsg(RELATED_FILE_ID)]);
  core.checkAll(rs.slice(0, 2), [path]);
  return decodeSecurityDescriptor(decodeQueryInfoResponse(rs[1]!.msg).outputBuffer);
}

/** The mode `path`'s descriptor records, or null when it has no DACL. */
export async function modeOfPath(core: TreeCore, path: string, extra: SpecExtra = {}): Promise<number | null> {
  return modeFromSd(await querySecurity(core, path, MODE_INFO, extra));
}

/** What a tree learned about the server: whether it keeps S-1-5-88-3 ACEs (unknown until the first chmod). */
export interface ModeAceSupport {
  kept?: boolean;
}

/** SET_INFO `sd` on `path` and read the result back in the same compound. */
async function writeAndReadBack(core: TreeCore, path: string, sd: SecurityDescriptor, extra: SpecExtra): Promise<SecurityDescriptor> {
  const create = core.createMsg(path, { desiredAccess: FileAccess.READ_CONTROL | FileAccess.WRITE_DAC | FileAccess.SYNCHRONIZE, ...extra });
  const set = core.setInfoMsg(RELATED_FILE_ID, 0, encodeSecurityDescriptor(sd), InfoType.SECURITY, SecurityInformation.DACL);
  const rs = await core.compound([create, set, modeQueryMsg(core), core.closeMsg(RELATED_FILE_ID)]);
  core.checkAll(rs.slice(0, 3), [path]);
  return decodeSecurityDescriptor(decodeQueryInfoResponse(rs[2]!.msg).outputBuffer);
}

/**
 * Record `mode` in `path`'s descriptor (mode-sid.ts), keeping the ACEs of
 * other trustees; resolves to the mode the server then reports, which the
 * caller compares with what it asked for. With the S-1-5-88-3 ACE first; if
 * the server does not keep it (Samba), again without it — the rwx bits
 * only, and not at all when setuid/setgid/sticky bits are asked for — and
 * `support` remembers that for the next call.
 */
export async function setModePath(
  core: TreeCore,
  path: string,
  mode: number,
  directory: boolean,
  support: ModeAceSupport,
  extra: SpecExtra = {},
): Promise<number | null> {
  const old = await querySecurity(core, path, MODE_INFO, extra);
  if (support.kept !== false) {
    const back = await writeAndReadBack(core, path, sdWithMode(old, mode, directory, true), extra);
    if (hasModeAce(back)) {
      support.kept = true;
      return modeFromSd(back);
    }
    support.kept = false;
  }
  if (mode & 0o7000) return modeFromSd(old);
  return modeFromSd(await writeAndReadBack(core, path, sdWithMode(old, mode, directory, false), extra));
}

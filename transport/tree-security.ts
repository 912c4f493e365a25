/**
 * Security descriptors on a tree: QUERY_INFO and SET_INFO with InfoType
 * SMB2_0_INFO_SECURITY (MS-SMB2 2.2.37, 2.2.39), and the POSIX mode kept in
 * the DACL (mode-sid.ts). Each call is one related compound (CREATE, the
 * operation, CLOSE); a chmod is two (read the DACL, write it back).
 */
import type { SmbMessage, SmbResponse } from './message.js';
import { modeFromDacl, sdWithMode } from './mode-sid.js';
import { FileAccess } from './pdu/create.js';
import { decodeQueryInfoResponse, InfoType, SecurityInformation } from './pdu/query-info.js';
import { decodeSecurityDescriptor, encodeSecurityDescriptor, type SecurityDescriptor } from './pdu/security.js';
import { RELATED_FILE_ID, type TreeCore } from './tree-core.js';

/** A descriptor's ACLs have 16-bit sizes, so this holds any DACL a server can keep. */
const SD_MAX = 65536;

/** QUERY_INFO of the DACL on the previous compound member's handle (opened with READ_CONTROL). */
export function daclQueryMsg(core: TreeCore): SmbMessage {
  return core.queryInfoMsg(RELATED_FILE_ID, InfoType.SECURITY, 0, SD_MAX, 0, SecurityInformation.DACL);
}

/** The mode recorded in a DACL QUERY_INFO reply (null: none). */
export function modeFromReply(r: SmbResponse): number | null {
  return modeFromDacl(decodeSecurityDescriptor(decodeQueryInfoResponse(r.msg).outputBuffer).dacl);
}

/** The descriptor parts of `path` that `info` (SecurityInformation bits) asks for. */
export async function querySecurity(core: TreeCore, path: string, info: number): Promise<SecurityDescriptor> {
  const create = core.createMsg(path, { desiredAccess: FileAccess.READ_CONTROL | FileAccess.SYNCHRONIZE });
  const query = core.queryInfoMsg(RELATED_FILE_ID, InfoType.SECURITY, 0, SD_MAX, 0, info);
  const rs = await core.compound([create, query, core.closeMsg(RELATED_FILE_ID)]);
  core.checkAll(rs.slice(0, 2), [path]);
  return decodeSecurityDescriptor(decodeQueryInfoResponse(rs[1]!.msg).outputBuffer);
}

/** The mode recorded in `path`'s DACL, or null when there is none. */
export async function modeOfPath(core: TreeCore, path: string): Promise<number | null> {
  return modeFromDacl((await querySecurity(core, path, SecurityInformation.DACL)).dacl);
}

/**
 * Record `mode` in `path`'s DACL, keeping its other ACEs; resolves to the
 * mode the server then reports. A server may accept the DACL and drop the
 * ACE (Samba without acl_xattr maps DACLs onto POSIX ACLs and keeps no
 * S-1-5-88-3 entry), so the write is read back in the same compound.
 */
export async function setModePath(core: TreeCore, path: string, mode: number): Promise<number | null> {
  const old = await querySecurity(core, path, SecurityInformation.DACL);
  const buf = encodeSecurityDescriptor(sdWithMode(old, mode));
  const create = core.createMsg(path, { desiredAccess: FileAccess.READ_CONTROL | FileAccess.WRITE_DAC | FileAccess.SYNCHRONIZE });
  const set = core.setInfoMsg(RELATED_FILE_ID, 0, buf, InfoType.SECURITY, SecurityInformation.DACL);
  const rs = await core.compound([create, set, daclQueryMsg(core), core.closeMsg(RELATED_FILE_ID)]);
  core.checkAll(rs.slice(0, 3), [path]);
  return modeFromReply(rs[2]!);
}

/**
 * POSIX mode bits kept in a file's DACL, the convention of the Linux cifs
 * client's `modefromsid`: an ACE whose SID is S-1-5-88-3-<mode> (the "Unix
 * NFS mode" SIDs Windows' NFS server uses) carries the mode in its last
 * sub-authority. The ACE is ACCESS_DENIED with an empty mask, so it denies
 * nothing and the server's access checks are unchanged.
 *
 * Writing replaces any earlier mode ACE and keeps every other ACE as it was:
 * the mode is recorded for clients that read it, not enforced by the server
 * (the kernel enforces it locally on allow_other mounts).
 */
import {
  aceMaskSid,
  AceType,
  maskSidAce,
  SdControl,
  type Ace,
  type Acl,
  type SecurityDescriptor,
} from './pdu/security.js';

const MODE_SID_PREFIX = 'S-1-5-88-3-';
const EVERYONE = 'S-1-1-0';
/** FILE_ALL_ACCESS: what a missing (NULL) DACL grants everyone. */
const FILE_ALL_ACCESS = 0x001f01ff;
const ACL_REVISION = 2;

function isModeAce(ace: Ace): boolean {
  return aceMaskSid(ace)?.sid.startsWith(MODE_SID_PREFIX) ?? false;
}

/** The ACE recording `mode` (permission, setuid/setgid and sticky bits). */
export function modeAce(mode: number): Ace {
  return maskSidAce(AceType.ACCESS_DENIED, 0, 0, MODE_SID_PREFIX + (mode & 0o7777));
}

/**
 * The mode recorded in `dacl`, or null when there is none. The first
 * S-1-5-88-3 ACE counts; one whose SID is not exactly S-1-5-88-3-<0..07777>
 * is ignored as malformed.
 */
export function modeFromDacl(dacl: Acl | null): number | null {
  for (const ace of dacl?.aces ?? []) {
    const sid = aceMaskSid(ace)?.sid;
    if (!sid?.startsWith(MODE_SID_PREFIX)) continue;
    const rest = sid.slice(MODE_SID_PREFIX.length);
    if (!/^\d+$/.test(rest)) return null;
    const mode = Number(rest);
    return mode <= 0o7777 ? mode : null;
  }
  return null;
}

/**
 * A descriptor to SET_INFO with DACL_SECURITY_INFORMATION that records
 * `mode` in `old`'s DACL: the mode ACE first, then the other ACEs. A missing
 * DACL (everyone may do anything) becomes an explicit Everyone: full access,
 * so adding the ACE does not lock everyone out.
 */
export function sdWithMode(old: SecurityDescriptor, mode: number): SecurityDescriptor {
  const others = old.dacl ? old.dacl.aces.filter((a) => !isModeAce(a)) : [maskSidAce(AceType.ACCESS_ALLOWED, 0, FILE_ALL_ACCESS, EVERYONE)];
  return {
    control: old.control & (SdControl.DACL_AUTO_INHERITED | SdControl.DACL_PROTECTED),
    owner: null,
    group: null,
    sacl: null,
    dacl: { revision: old.dacl?.revision ?? ACL_REVISION, aces: [modeAce(mode), ...others] },
  };
}

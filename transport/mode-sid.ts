/**
 * POSIX mode bits in a file's security descriptor, the way the Linux cifs
 * client's `modefromsid` keeps them.
 *
 * Writing (chmod): the new DACL starts with an ACE whose SID is
 * S-1-5-88-3-<mode> (the "Unix NFS mode" SIDs), ACCESS_DENIED with an empty
 * mask so it denies nothing, which carries all twelve mode bits; then the
 * ACEs of other trustees as they were; then allow ACEs for the owner, the
 * group and Everyone with the rights the rwx bits stand for. Samba ignores
 * a whole DACL that contains an S-1-5-88 SID (it takes it for a macOS
 * chmod), so for such a server the DACL is written again without the mode
 * ACE (tree-security.ts) and only the rwx bits are kept, mapped by Samba
 * onto the file's POSIX mode.
 *
 * Reading: the S-1-5-88-3 ACE if there is one (all twelve bits); otherwise
 * the rwx bits from the owner, group and Everyone ACEs (Everyone counts for
 * all three classes, an earlier deny wins over a later allow); no DACL at
 * all: null (nothing recorded; the mount's file_mode/dir_mode apply).
 */
import {
  aceMaskSid,
  AceType,
  maskSidAce,
  SdControl,
  type Ace,
  type SecurityDescriptor,
} from './pdu/security.js';

const MODE_SID_PREFIX = 'S-1-5-88-3-';
const NFS_SID_PREFIX = 'S-1-5-88-';
const EVERYONE = 'S-1-1-0';
const ACL_REVISION = 2;
/** AceFlags INHERIT_ONLY_ACE: the ACE is only for children, not this object. */
const INHERIT_ONLY = 0x08;

/** Access rights (MS-DTYP 2.4.3, MS-SMB2 2.2.13.1.1). */
const FILE_READ_DATA = 0x0001;
const FILE_WRITE_DATA = 0x0002;
const FILE_APPEND_DATA = 0x0004;
const FILE_READ_EA = 0x0008;
const FILE_WRITE_EA = 0x0010;
const FILE_EXECUTE = 0x0020;
const FILE_DELETE_CHILD = 0x0040;
const FILE_READ_ATTRIBUTES = 0x0080;
const FILE_WRITE_ATTRIBUTES = 0x0100;
const READ_CONTROL = 0x00020000;
const WRITE_DAC = 0x00040000;
const SYNCHRONIZE = 0x00100000;
const GENERIC_ALL = 0x10000000;
const GENERIC_EXECUTE = 0x20000000;
const GENERIC_WRITE = 0x40000000;
const GENERIC_READ = 0x80000000;

/** What every trustee keeps whatever the mode: see the attributes and the ACL. */
const MINIMUM = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;
const R_RIGHTS = FILE_READ_DATA | FILE_READ_EA;
const W_RIGHTS = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES;
const X_RIGHTS = FILE_EXECUTE;

/** The ACE recording `mode` (permission, setuid/setgid and sticky bits). */
export function modeAce(mode: number): Ace {
  return maskSidAce(AceType.ACCESS_DENIED, 0, 0, MODE_SID_PREFIX + (mode & 0o7777));
}

/** Access mask for one rwx triple (bits 4, 2, 1). */
export function rightsFor(rwx: number, directory: boolean, owner: boolean): number {
  let m = MINIMUM | (owner ? WRITE_DAC : 0);
  if (rwx & 4) m |= R_RIGHTS;
  if (rwx & 2) m |= W_RIGHTS | (directory ? FILE_DELETE_CHILD : 0);
  if (rwx & 1) m |= X_RIGHTS;
  return m;
}

/** The rwx triple an access mask grants (generic rights included). */
export function rwxOf(mask: number): number {
  if (mask & GENERIC_ALL) return 7;
  let rwx = 0;
  if (mask & (GENERIC_READ | FILE_READ_DATA)) rwx |= 4;
  if (mask & (GENERIC_WRITE | FILE_WRITE_DATA | FILE_APPEND_DATA)) rwx |= 2;
  if (mask & (GENERIC_EXECUTE | FILE_EXECUTE)) rwx |= 1;
  return rwx;
}

/** Whether `sd` has an S-1-5-88-3 ACE (the server kept the one we wrote). */
export function hasModeAce(sd: SecurityDescriptor): boolean {
  return recordedMode(sd.dacl?.aces ?? []) !== undefined;
}

/** The mode an S-1-5-88-3 ACE records; undefined if there is none, null if it is malformed. */
function recordedMode(aces: readonly Ace[]): number | null | undefined {
  for (const ace of aces) {
    const sid = aceMaskSid(ace)?.sid;
    if (!sid?.startsWith(MODE_SID_PREFIX)) continue;
    const rest = sid.slice(MODE_SID_PREFIX.length);
    if (!/^\d+$/.test(rest)) return null;
    const mode = Number(rest);
    return mode <= 0o7777 ? mode : null;
  }
  return undefined;
}

/** The mode `sd` records (see the top of the file); null when it has no DACL. */
export function modeFromSd(sd: SecurityDescriptor): number | null {
  if (!sd.dacl) return null;
  const recorded = recordedMode(sd.dacl.aces);
  if (recorded !== undefined) return recorded;
  // Classes u, g, o as shifts 6, 3, 0; the first ACE to mention a bit decides it.
  const allowed = [0, 0, 0];
  const denied = [0, 0, 0];
  for (const ace of sd.dacl.aces) {
    if (ace.flags & INHERIT_ONLY) continue;
    const ms = aceMaskSid(ace);
    if (!ms || ace.type === AceType.SYSTEM_AUDIT) continue;
    const classes: number[] = [];
    if (ms.sid === EVERYONE) classes.push(0, 1, 2);
    else {
      if (sd.owner !== null && ms.sid === sd.owner) classes.push(0);
      if (sd.group !== null && ms.sid === sd.group) classes.push(1);
    }
    const bits = rwxOf(ms.mask);
    for (const c of classes) {
      if (ace.type === AceType.ACCESS_ALLOWED) allowed[c]! |= bits & ~denied[c]!;
      else denied[c]! |= bits & ~allowed[c]!;
    }
  }
  return (allowed[0]! << 6) | (allowed[1]! << 3) | allowed[2]!;
}

/**
 * The descriptor to SET_INFO with DACL_SECURITY_INFORMATION so that `old`
 * (read with owner, group and DACL) records `mode`; without `withModeAce`
 * only the owner/group/Everyone ACEs carry it (the rwx bits).
 */
export function sdWithMode(old: SecurityDescriptor, mode: number, directory: boolean, withModeAce = true): SecurityDescriptor {
  const mine = (sid: string) => sid === EVERYONE || sid === old.owner || sid === old.group || sid.startsWith(NFS_SID_PREFIX);
  const kept = (old.dacl?.aces ?? []).filter((a) => {
    const sid = aceMaskSid(a)?.sid;
    // Inherit-only ACEs are for children: kept, whoever they name.
    return sid === undefined || !mine(sid) || (a.flags & INHERIT_ONLY) !== 0;
  });
  const aces: Ace[] = [...(withModeAce ? [modeAce(mode)] : []), ...kept];
  if (old.owner !== null) aces.push(maskSidAce(AceType.ACCESS_ALLOWED, 0, rightsFor((mode >> 6) & 7, directory, true), old.owner));
  if (old.group !== null && old.group !== old.owner) aces.push(maskSidAce(AceType.ACCESS_ALLOWED, 0, rightsFor((mode >> 3) & 7, directory, false), old.group));
  aces.push(maskSidAce(AceType.ACCESS_ALLOWED, 0, rightsFor(mode & 7, directory, false), EVERYONE));
  return {
    control: old.control & (SdControl.DACL_AUTO_INHERITED | SdControl.DACL_PROTECTED),
    owner: null,
    group: null,
    sacl: null,
    dacl: { revision: old.dacl?.revision ?? ACL_REVISION, aces },
  };
}

/**
 * Security descriptors in self-relative form (MS-DTYP 2.4.6), their ACLs
 * (2.4.5), ACEs (2.4.4) and SIDs (2.4.2.2), as QUERY_INFO/SET_INFO with
 * InfoType SMB2_0_INFO_SECURITY carry them.
 *
 * SECURITY_DESCRIPTOR: Revision (1) Sbz1 (1) Control (2) OffsetOwner (4)
 *   OffsetGroup (4) OffsetSacl (4) OffsetDacl (4), then the parts at their
 *   offsets (0 = absent). ACL: AclRevision (1) Sbz1 (1) AclSize (2)
 *   AceCount (2) Sbz2 (2), then AceCount ACEs. ACE: AceType (1) AceFlags (1)
 *   AceSize (2), then a body whose shape depends on the type. SID: Revision
 *   (1) SubAuthorityCount (1) IdentifierAuthority (6, big-endian)
 *   SubAuthority (4 each, little-endian).
 *
 * ACE bodies are kept as bytes so a DACL we rewrite keeps every ACE we do
 * not understand (object ACEs, callback ACEs) exactly as the server sent it.
 * SIDs are handled in their string form ("S-1-5-32-544").
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer } from './codec.js';

/** SECURITY_DESCRIPTOR Control bits (MS-DTYP 2.4.6). */
export const SdControl = {
  DACL_PRESENT: 0x0004,
  SACL_PRESENT: 0x0010,
  DACL_AUTO_INHERITED: 0x0400,
  DACL_PROTECTED: 0x1000,
  SELF_RELATIVE: 0x8000,
} as const;

/** AceType values (MS-DTYP 2.4.4.1) whose body is Mask + SID. */
export const AceType = {
  ACCESS_ALLOWED: 0x00,
  ACCESS_DENIED: 0x01,
  SYSTEM_AUDIT: 0x02,
} as const;

const SD_HEADER = 20;
const ACL_HEADER = 8;
const ACE_HEADER = 4;
const MAX_SUB_AUTHORITIES = 15;

export interface Ace {
  type: number;
  flags: number;
  /** Everything after the 4-byte header, verbatim (padding included). */
  body: Buffer;
}

export interface Acl {
  /** AclRevision: 2, or 4 when object ACEs are present. */
  revision: number;
  aces: Ace[];
}

export interface SecurityDescriptor {
  control: number;
  owner: string | null;
  group: string | null;
  sacl: Acl | null;
  /** null: no DACL (SE_DACL_PRESENT clear, or a NULL DACL: everyone may do anything). */
  dacl: Acl | null;
}

/** Binary SID of "S-1-<authority>-<sub>-...". */
export function encodeSid(sid: string): Buffer {
  const m = /^S-1-(\d+)((?:-\d+)*)$/.exec(sid);
  if (!m) throw new RangeError(`bad SID '${sid}'`);
  const authority = BigInt(m[1]!);
  const subs = m[2] ? m[2].slice(1).split('-').map(Number) : [];
  if (authority >= 1n << 48n || subs.length > MAX_SUB_AUTHORITIES || subs.some((s) => s > 0xffffffff)) {
    throw new RangeError(`bad SID '${sid}'`);
  }
  const w = new Writer(8 + 4 * subs.length);
  w.u8(1).u8(subs.length);
  for (let i = 5; i >= 0; i--) w.u8(Number((authority >> BigInt(8 * i)) & 0xffn));
  for (const s of subs) w.u32(s);
  return w.buf;
}

/** Read a SID at the reader's position (its length comes from SubAuthorityCount). */
function readSid(r: Reader): string {
  const revision = r.u8();
  const count = r.u8();
  if (revision !== 1 || count > MAX_SUB_AUTHORITIES) throw new SmbProtocolError(`bad SID (revision ${revision}, ${count} sub-authorities)`);
  let authority = 0n;
  for (let i = 0; i < 6; i++) authority = (authority << 8n) | BigInt(r.u8());
  let s = `S-1-${authority}`;
  for (let i = 0; i < count; i++) s += `-${r.u32()}`;
  return s;
}

/** The SID in `buf` (which may have bytes after it). */
export function decodeSid(buf: Buffer): string {
  return readSid(new Reader(buf));
}

/** An ACE whose body is Mask + SID (allowed, denied, audit). */
export function maskSidAce(type: number, flags: number, mask: number, sid: string): Ace {
  const s = encodeSid(sid);
  const body = Buffer.alloc(4 + s.length);
  body.writeUInt32LE(mask >>> 0, 0);
  s.copy(body, 4);
  return { type, flags, body };
}

/** Mask and SID of an allowed/denied/audit ACE; null for other types. */
export function aceMaskSid(ace: Ace): { mask: number; sid: string } | null {
  if (ace.type !== AceType.ACCESS_ALLOWED && ace.type !== AceType.ACCESS_DENIED && ace.type !== AceType.SYSTEM_AUDIT) return null;
  const r = new Reader(ace.body);
  const mask = r.u32();
  return { mask, sid: readSid(r) };
}

function aclSize(acl: Acl): number {
  return ACL_HEADER + acl.aces.reduce((n, a) => n + ACE_HEADER + a.body.length, 0);
}

function writeAcl(w: Writer, acl: Acl): void {
  const size = aclSize(acl);
  if (size > 0xffff || acl.aces.length > 0xffff) throw new RangeError(`ACL too large (${size} bytes)`);
  w.u8(acl.revision).u8(0).u16(size).u16(acl.aces.length).u16(0);
  for (const a of acl.aces) {
    w.u8(a.type).u8(a.flags).u16(ACE_HEADER + a.body.length);
    w.bytes(a.body);
  }
}

/** Read the ACL at `off` of `buf`; every ACE must lie inside AclSize. */
function readAcl(buf: Buffer, off: number, what: string): Acl {
  const r = new Reader(buf, off);
  const revision = r.u8();
  r.u8();
  const size = r.u16();
  const count = r.u16();
  r.u16();
  if (revision !== 2 && revision !== 4) throw new SmbProtocolError(`${what}: bad AclRevision ${revision}`);
  if (size < ACL_HEADER || off + size > buf.length) throw new SmbProtocolError(`${what}: AclSize ${size} outside the descriptor`);
  const inner = new Reader(buf, off + ACL_HEADER, off + size);
  const aces: Ace[] = [];
  for (let i = 0; i < count; i++) {
    const type = inner.u8();
    const flags = inner.u8();
    const aceSize = inner.u16();
    if (aceSize < ACE_HEADER + 4 || aceSize % 4 !== 0) throw new SmbProtocolError(`${what}: bad AceSize ${aceSize}`);
    aces.push({ type, flags, body: Buffer.from(inner.bytes(aceSize - ACE_HEADER)) });
  }
  return { revision, aces };
}

/** Encode a self-relative descriptor: header, owner, group, SACL, DACL. */
export function encodeSecurityDescriptor(sd: SecurityDescriptor): Buffer {
  const owner = sd.owner === null ? null : encodeSid(sd.owner);
  const group = sd.group === null ? null : encodeSid(sd.group);
  const size = SD_HEADER + (owner?.length ?? 0) + (group?.length ?? 0) + (sd.sacl ? aclSize(sd.sacl) : 0) + (sd.dacl ? aclSize(sd.dacl) : 0);
  let control = sd.control | SdControl.SELF_RELATIVE;
  control = sd.dacl ? control | SdControl.DACL_PRESENT : control & ~SdControl.DACL_PRESENT;
  control = sd.sacl ? control | SdControl.SACL_PRESENT : control & ~SdControl.SACL_PRESENT;
  const w = new Writer(size);
  w.u8(1).u8(0).u16(control);
  let at = SD_HEADER;
  const offsets: number[] = [];
  for (const len of [owner?.length, group?.length, sd.sacl && aclSize(sd.sacl), sd.dacl && aclSize(sd.dacl)]) {
    offsets.push(len ? at : 0);
    at += len ?? 0;
  }
  for (const o of offsets) w.u32(o);
  if (owner) w.bytes(owner);
  if (group) w.bytes(group);
  if (sd.sacl) writeAcl(w, sd.sacl);
  if (sd.dacl) writeAcl(w, sd.dacl);
  return w.buf;
}

/**
 * Decode a self-relative descriptor. Offsets, sizes and counts are checked
 * against the buffer: a malformed reply fails with SmbProtocolError.
 */
export function decodeSecurityDescriptor(buf: Buffer): SecurityDescriptor {
  const r = new Reader(buf);
  const revision = r.u8();
  r.u8();
  const control = r.u16();
  const [oOwner, oGroup, oSacl, oDacl] = [r.u32(), r.u32(), r.u32(), r.u32()];
  if (revision !== 1) throw new SmbProtocolError(`security descriptor: bad Revision ${revision}`);
  if ((control & SdControl.SELF_RELATIVE) === 0) throw new SmbProtocolError('security descriptor: not self-relative');
  const at = (off: number, what: string): number => {
    if (off < SD_HEADER || off >= buf.length) throw new SmbProtocolError(`security descriptor: ${what} offset ${off} outside ${buf.length} bytes`);
    return off;
  };
  const sid = (off: number, what: string) => (off === 0 ? null : readSid(new Reader(buf, at(off, what))));
  const acl = (off: number, present: number, what: string) =>
    off === 0 || (control & present) === 0 ? null : readAcl(buf, at(off, what), what);
  return {
    control,
    owner: sid(oOwner, 'owner'),
    group: sid(oGroup, 'group'),
    sacl: acl(oSacl, SdControl.SACL_PRESENT, 'SACL'),
    dacl: acl(oDacl, SdControl.DACL_PRESENT, 'DACL'),
  };
}

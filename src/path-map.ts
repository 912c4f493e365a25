/**
 * FUSE paths ↔ SMB paths.
 *
 * FUSE gives absolute POSIX paths (`/a/b`); SMB wants share-relative paths
 * with '\' separators (`a\b`, '' for the share root).
 *
 * Names may contain characters that SMB forbids (`" * : < > ? \ |` and the
 * control characters 0x01–0x1F). We map them into the Unicode private-use
 * area the way the Linux kernel cifs client does with its `mapposix` mount
 * option, which selects the *SFM* (Services for Macintosh) table
 * (CIFS_MOUNT_MAP_SFM_CHR, fs/smb/client/cifs_unicode.h):
 *
 *     0x01–0x1F → U+F001–U+F01F
 *     "  → U+F020    *  → U+F021    :  → U+F022    <  → U+F023
 *     >  → U+F024    ?  → U+F025    \  → U+F026    |  → U+F027
 *     a trailing space → U+F028, a trailing period → U+F029
 *
 * (The older `mapchars` option uses the SFU table, 0xF000|c, instead; Windows
 * and Samba's `vfs_fruit`/`catia` understand the SFM one, so that is ours.)
 * The reverse mapping turns every one of those code points back, so any
 * name round-trips.
 */

const SFM_SPECIAL: Record<string, number> = {
  '"': 0xf020,
  '*': 0xf021,
  ':': 0xf022,
  '<': 0xf023,
  '>': 0xf024,
  '?': 0xf025,
  '\\': 0xf026,
  '|': 0xf027,
};
const SFM_SPACE = 0xf028;
const SFM_PERIOD = 0xf029;

const FROM_SFM = new Map<number, string>();
for (const [ch, cp] of Object.entries(SFM_SPECIAL)) FROM_SFM.set(cp, ch);
for (let c = 1; c < 0x20; c++) FROM_SFM.set(0xf000 + c, String.fromCharCode(c));
FROM_SFM.set(SFM_SPACE, ' ');
FROM_SFM.set(SFM_PERIOD, '.');

/** Map one POSIX name component to its SMB form (mapposix/SFM). */
export function nameToSmb(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    const code = name.charCodeAt(i);
    const special = SFM_SPECIAL[ch];
    if (special !== undefined) out += String.fromCharCode(special);
    else if (code > 0 && code < 0x20) out += String.fromCharCode(0xf000 + code);
    else if (i === name.length - 1 && name !== '.' && name !== '..' && (ch === ' ' || ch === '.')) {
      out += String.fromCharCode(ch === ' ' ? SFM_SPACE : SFM_PERIOD);
    } else out += ch;
  }
  return out;
}

/** Map one SMB name (as the server lists it) back to its POSIX form. */
export function nameFromSmb(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    out += (code >= 0xf001 && code <= 0xf029 ? FROM_SFM.get(code) : undefined) ?? name[i]!;
  }
  return out;
}

/**
 * `/a/b` → `a\b` (with each component mapped), '/' → ''. A non-empty
 * `prefix` (SMB form, from `//host/share/prefix`) is put in front.
 */
export function fusePathToSmb(path: string, prefix = ''): string {
  const parts = path.split('/').filter((p) => p !== '').map(nameToSmb);
  if (prefix) parts.unshift(prefix);
  return parts.join('\\');
}

/** `a\b` → `/a/b`, '' → '/' (inverse of fusePathToSmb without a prefix). */
export function smbPathToFuse(path: string): string {
  if (path === '') return '/';
  return '/' + path.split('\\').map(nameFromSmb).join('/');
}

/** Parent directory of a FUSE path ('/' for top-level names and '/'). */
export function fuseParent(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Join a FUSE directory path and a child name. */
export function fuseJoin(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

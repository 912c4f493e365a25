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

import { LRUCache } from 'lru-cache';

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

/** Any character nameFromSmb maps back. */
const SFM_RANGE = /[\uf001-\uf029]/;

/** Map one SMB name (as the server lists it) back to its POSIX form. */
export function nameFromSmb(name: string): string {
  if (!SFM_RANGE.test(name)) return name; // the usual name: nothing mapped
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    out += (code >= 0xf001 && code <= 0xf029 ? FROM_SFM.get(code) : undefined) ?? name[i]!;
  }
  return out;
}

/** `a\b` → `/a/b`, '' → '/' (inverse of SmbPathMap.toSmb without a prefix). */
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

/** Unicode normalization form names are sent in (`unicode=` option). */
export type NameForm = 'nfc' | 'nfd';

/** Names of ASCII characters only: the same in every normalization form. */
export const ASCII_NAME = /^[\x00-\x7f]*$/;

/** `name` in normalization form `form`. */
export function normalizeName(name: string, form: NameForm): string {
  return ASCII_NAME.test(name) ? name : name.normalize(form === 'nfd' ? 'NFD' : 'NFC');
}

/** Most names remembered as stored outside the chosen form (LRU beyond this). */
const MAX_AS_STORED = 100_000;
/** SMB paths remembered for toSmb (a path maps the same way while nothing is remembered as stored). */
const MAX_MAPPED = 8192;

/**
 * FUSE paths → SMB paths for one mount, with Unicode normalization.
 *
 * Linux does not normalize names; SMB servers mostly do not either (Samba
 * and NTFS store the code points they are given; macOS stores NFD). A name
 * written through the mount is sent in the chosen form (NFC by default, NFD
 * with `unicode=nfd`), so a name typed either way ends up in one spelling.
 *
 * Names the server lists are shown as the server holds them. When such a
 * name is not in the chosen form (an NFD name on a server holding NFC ones),
 * normalizing it would miss the stored file, so the server's own spelling is
 * remembered here (from the listing, or from a lookup that found only that
 * spelling) and used for that path from then on.
 */
export class SmbPathMap {
  /** FUSE paths whose last name the server holds exactly as written. */
  private readonly asStored = new LRUCache<string, true>({ max: MAX_AS_STORED });
  /**
   * toSmb's answers while no name is remembered as stored (then it is a pure
   * function of the path): settle() maps every open file's path per call.
   * A plain map emptied when full: an LRU's bookkeeping cost more per call
   * than the mapping it saves (a `sha256sum -c` profile).
   */
  private readonly mapped = new Map<string, string>();

  constructor(
    readonly form: NameForm,
    private readonly prefix = '',
  ) {}

  /**
   * SMB path of `path` (`/a/b` → `a\b`, '/' → '', the mount's prefix in
   * front): each name in the chosen form unless the server holds it as
   * written, then mapped (nameToSmb).
   */
  toSmb(path: string): string {
    const pure = this.asStored.size === 0;
    const known = pure ? this.mapped.get(path) : undefined;
    if (known !== undefined) return known;
    const smb = this.map(path);
    if (pure) {
      if (this.mapped.size >= MAX_MAPPED) this.mapped.clear();
      this.mapped.set(path, smb);
    }
    return smb;
  }

  private map(path: string): string {
    const names = path.split('/').filter((p) => p !== '');
    let at = '';
    const parts = names.map((name) => {
      at += '/' + name;
      const normal = normalizeName(name, this.form);
      return nameToSmb(normal === name || !this.asStored.has(at) ? normal : name);
    });
    if (this.prefix) parts.unshift(this.prefix);
    return parts.join('\\');
  }

  /** The server holds the last name of `path` exactly as written (seen in a listing or found by lookup). */
  noteAsStored(path: string): void {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (normalizeName(name, this.form) !== name) this.asStored.set(path, true);
  }

  /**
   * The SMB path to try when `path` was not found: its last name as written,
   * when that differs from the chosen form and was not what was tried; else
   * undefined (ASCII names and names typed in the chosen form never cost a
   * second round trip).
   */
  asWritten(path: string): string | undefined {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (normalizeName(name, this.form) === name || this.asStored.has(path)) return undefined;
    const dir = this.toSmb(fuseParent(path));
    return dir === '' ? nameToSmb(name) : `${dir}\\${nameToSmb(name)}`;
  }

  /** `path` is gone or moved: forget it, and with `subtree` everything below it. */
  forget(path: string, subtree = false): void {
    if (this.asStored.size === 0) return;
    this.asStored.delete(path);
    if (!subtree) return;
    const below = path === '/' ? '/' : path + '/';
    for (const k of [...this.asStored.keys()]) if (k.startsWith(below)) this.asStored.delete(k);
  }
}

/**
 * Minshall+French symlinks ("mfsymlinks"), the format the Linux cifs client
 * (mount option `mfsymlinks`) and macOS use to keep symlinks on servers
 * without POSIX extensions: a regular file of exactly 1067 bytes,
 *
 *     offset 0   "XSym\n"
 *     offset 5   the target's length in bytes, 4 decimal digits, "\n"
 *     offset 10  lowercase hex MD5 of the target (32 chars), "\n"
 *     offset 43  the target (at most 1024 bytes), "\n", then spaces to 1067
 *
 * (offsets as CIFS_MF_SYMLINK_*_OFFSET in fs/smb/client/link.c). A file is a
 * symlink only if all of it checks out: size, magic, length, and the MD5 of
 * the target; anything else is an ordinary file.
 */
import { createHash } from 'node:crypto';

export const MFSYMLINK_SIZE = 1067;
export const MFSYMLINK_MAX_TARGET = 1024;
const MAGIC = 'XSym\n';
const LEN_OFFSET = 5;
const MD5_OFFSET = 10;
const LINK_OFFSET = 43;

/** The 1067-byte file body for a link to `target`; throws -ENAMETOOLONG if too long. */
export function encodeMfSymlink(target: string): Buffer {
  const t = Buffer.from(target, 'utf8');
  if (t.length > MFSYMLINK_MAX_TARGET) throw -36;
  const out = Buffer.alloc(MFSYMLINK_SIZE, 0x20);
  out.write(MAGIC, 0, 'latin1');
  out.write(`${String(t.length).padStart(4, '0')}\n`, LEN_OFFSET, 'latin1');
  out.write(`${createHash('md5').update(t).digest('hex')}\n`, MD5_OFFSET, 'latin1');
  t.copy(out, LINK_OFFSET);
  if (LINK_OFFSET + t.length < MFSYMLINK_SIZE) out[LINK_OFFSET + t.length] = 0x0a;
  return out;
}

/** The target if `buf` is a well-formed mfsymlink, otherwise null. */
export function decodeMfSymlink(buf: Buffer): string | null {
  if (buf.length !== MFSYMLINK_SIZE) return null;
  if (buf.toString('latin1', 0, LEN_OFFSET) !== MAGIC) return null;
  const lenText = buf.toString('latin1', LEN_OFFSET, MD5_OFFSET);
  if (!/^\d{4}\n$/.test(lenText)) return null;
  const len = Number(lenText.slice(0, 4));
  if (len > MFSYMLINK_MAX_TARGET) return null;
  const md5 = buf.toString('latin1', MD5_OFFSET, LINK_OFFSET);
  if (!/^[0-9a-f]{32}\n$/.test(md5)) return null;
  const t = buf.subarray(LINK_OFFSET, LINK_OFFSET + len);
  if (createHash('md5').update(t).digest('hex') !== md5.slice(0, 32)) return null;
  return t.toString('utf8');
}

/** Whether a file of this size could be an mfsymlink (worth reading). */
export function couldBeMfSymlink(size: number, isDirectory: boolean): boolean {
  return !isDirectory && size === MFSYMLINK_SIZE;
}

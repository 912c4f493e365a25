/**
 * Names of open files that were unlinked or renamed over. libfuse2 (without
 * `hard_remove`) renames such a file to `.fuse_hidden<16 hex>` through our
 * rename handler and unlinks it after the last close; we make that rename on
 * the server too, so every operation on the descriptor — fstat included,
 * which libfuse2 can only serve by path — still reaches the file. Should an
 * open file be unlinked without libfuse hiding it first, we rename it to
 * `.smbfuse-deleted-<16 hex>` ourselves ("silly rename", as NFS).
 *
 * Both kinds are left out of every listing, are found by a lookup only while
 * open here (libfuse looks them up for fstat), and cannot be created by
 * users. One left behind by a daemon that died is deleted by the next
 * listing of its directory (fs.ts), unless it is open here.
 */
import { randomBytes } from 'node:crypto';

const OURS = /^\.smbfuse-deleted-[0-9a-f]{16}$/;
/** libfuse 2.9's hidden_name(): ".fuse_hidden%08x%08x". */
const LIBFUSE = /^\.fuse_hidden[0-9a-f]{16}$/;

/** A fresh hidden name of our own (one path component). */
export function hiddenName(): string {
  return '.smbfuse-deleted-' + randomBytes(8).toString('hex');
}

/** The last component of `path` (or a bare name). */
function last(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Whether the last component of `path` is a hidden name (ours or libfuse's). */
export function isHiddenName(path: string): boolean {
  const n = last(path);
  return OURS.test(n) || LIBFUSE.test(n);
}

/** Whether it is the name libfuse gives an open file it hides. */
export function isLibfuseHiddenName(path: string): boolean {
  return LIBFUSE.test(last(path));
}

/**
 * Names for open files that were unlinked or renamed over ("silly rename",
 * as NFS does): the file is renamed on the server to `.smbfuse-deleted-`
 * followed by 16 hex digits in its own directory, and deleted at its last
 * close here. Such names are never listed or found by a lookup, and cannot
 * be made by users. One left behind by a daemon that died is deleted by the
 * next listing of its directory (fs.ts), unless it is still open elsewhere.
 */
import { randomBytes } from 'node:crypto';

const PREFIX = '.smbfuse-deleted-';
const PATTERN = /^\.smbfuse-deleted-[0-9a-f]{16}$/;

/** A fresh hidden name (one path component). */
export function hiddenName(): string {
  return PREFIX + randomBytes(8).toString('hex');
}

/** Whether the last component of `path` (or a bare name) is one of ours. */
export function isHiddenName(path: string): boolean {
  return PATTERN.test(path.slice(path.lastIndexOf('/') + 1));
}

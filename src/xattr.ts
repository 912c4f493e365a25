/**
 * Extended attributes: the `user.` namespace maps to SMB extended attributes
 * (FileFullEaInformation), `user.NAME` ↔ EA `NAME`. Other namespaces
 * (security., system., trusted.) have no SMB counterpart: ENOTSUP.
 * SMB treats an EA with an empty value as absent, so an empty value is
 * stored as a deletion and reads back as ENODATA.
 */
import { EEXIST, ENODATA, ENOTSUP, toFuseErrno } from './errno.js';
import type { SmbTree } from '../transport/types.js';

const PREFIX = 'user.';
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;

/** Whether an xattr name is in the `user.` namespace (the only one with an SMB counterpart). */
export function isUserXattr(name: string): boolean {
  return name.startsWith(PREFIX) && name.length > PREFIX.length;
}

/** EA name for an xattr name; throws -ENOTSUP outside `user.`. */
export function eaName(name: string): string {
  if (!isUserXattr(name)) throw -ENOTSUP;
  return name.slice(PREFIX.length);
}

/** Every EA of the file; "no EAs on file" is an empty list. */
async function eas(tree: SmbTree, smbPath: string): Promise<Array<{ name: string; value: Buffer }>> {
  try {
    return await tree.getEas(smbPath);
  } catch (err) {
    if (toFuseErrno(err) === -ENODATA) return [];
    throw err;
  }
}

/** Find an EA by name (SMB EA names compare case-insensitively). */
function findEa(eas: Array<{ name: string; value: Buffer }>, ea: string): { name: string; value: Buffer } | undefined {
  const want = ea.toLowerCase();
  return eas.find((e) => e.name.toLowerCase() === want);
}

export async function getXattr(tree: SmbTree, smbPath: string, name: string): Promise<Buffer> {
  const ea = eaName(name);
  const found = findEa(await eas(tree, smbPath), ea);
  if (!found || found.value.length === 0) throw -ENODATA;
  return found.value;
}

export async function listXattr(tree: SmbTree, smbPath: string): Promise<string[]> {
  return (await eas(tree, smbPath)).filter((e) => e.value.length > 0).map((e) => PREFIX + e.name);
}

export async function setXattr(tree: SmbTree, smbPath: string, name: string, value: Buffer, flags: number): Promise<void> {
  const ea = eaName(name);
  if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
    const exists = findEa(await eas(tree, smbPath), ea) !== undefined;
    if (flags & XATTR_CREATE && exists) throw -EEXIST;
    if (flags & XATTR_REPLACE && !exists) throw -ENODATA;
  }
  await tree.setEa(smbPath, ea, value.length ? Buffer.from(value) : null);
}

export async function removeXattr(tree: SmbTree, smbPath: string, name: string): Promise<void> {
  const ea = eaName(name);
  if (!findEa(await eas(tree, smbPath), ea)) throw -ENODATA;
  await tree.setEa(smbPath, ea, null);
}

/**
 * Namespace and metadata changes: unlink, rename, mkdir, rmdir, link,
 * symlink/readlink (mfsymlinks), truncate, utimens, chmod, chown and the
 * `user.*` xattrs. Each is one compound round trip on the server (the
 * transport's *Path methods), followed by the cache updates it calls for
 * (see changed()): the entry itself is dropped (for directories and renames
 * everything below it too), or for mkdir and rename set from the attributes
 * queried in the same compound; parent listings are kept in step with names
 * added and removed rather than dropped and asked for again.
 *
 * Decisions (as mount.cifs without POSIX extensions):
 *  - chmod. With `modefromsid` the mode is stored in the file's security
 *    descriptor (transport/mode-sid.ts) and read back; what the server did
 *    not keep is EPERM. Without it modes are file_mode/dir_mode, and only a
 *    file's write bits can change (FILE_ATTRIBUTE_READONLY). A chmod asking
 *    for more is then
 *      - accepted, as mount.cifs does, on a mount only its user can reach:
 *        no write bit sets READONLY, any clears it, the rest is dropped
 *        (`cp -a`, `tar x` and `rsync -a` work; rsync fails a file whose
 *        temporary copy it cannot chmod);
 *      - refused with EPERM under `allow_other`, where the kernel checks
 *        other users against the modes shown: `chmod 600` must not seem to
 *        have locked them out. There a file's mode must be file_mode
 *        (READONLY cleared) or file_mode without its write bits (set), a
 *        directory's dir_mode.
 *  - chown: accepted and ignored for any ids (owners come from uid/gid);
 *    mount.cifs does the same without unix extensions.
 *  - unlink of a file open here, or a rename over it: libfuse first renames
 *    it to `.fuse_hidden…` through rename() (done on the server too, the
 *    file marked for deletion at its last close); should it not have, we
 *    rename it to our own hidden name. The name disappears at once, open
 *    descriptors keep working, listings never show hidden names
 *    (hidden-names.ts).
 *  - names of that hidden form cannot be created by users (EINVAL); only an
 *    open file can be renamed to libfuse's form.
 *  - a READONLY file is deleted by clearing the attribute first (POSIX lets
 *    the directory's owner remove it; SMB refuses with ACCESS_DENIED).
 */
import type { SmbStat } from '../transport/types.js';
import { EACCES, EINVAL, EISDIR, ENOENT, ENOTDIR, EPERM, toFuseErrno } from './errno.js';
import { FILE_ATTRIBUTE_READONLY, type SmbFs } from './fs.js';
import { rememberStat, type InodeSlot } from './fs-files.js';
import { encodeMfSymlink } from './mfsymlink.js';
import { hiddenName, isLibfuseHiddenName } from './hidden-names.js';
import { checkNewName } from './new-name.js';
import { fuseJoin, fuseParent } from './path-map.js';
import { getXattr, listXattr, removeXattr, setXattr } from './xattr.js';

const FILE_ATTRIBUTE_NORMAL = 0x80;

/**
 * Drop `path` (and below it unless `exact`) from the caches. How the
 * parent's listing fares depends on the change: `attrs` (times, size, mode
 * of the entry) leaves it as it is; `added` and `removed` keep it in step
 * (so later lookups of absent names need no round trip) and drop the
 * parent's own attributes (its times changed); anything else drops it.
 */
function changed(fs: SmbFs, path: string, exact = true, how?: 'added' | 'removed' | 'attrs'): void {
  fs.attrs.invalidate(path, exact);
  const parent = fuseParent(path);
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (how === 'added') fs.attrs.childAdded(parent, name);
  else if (how === 'removed') {
    fs.attrs.childRemoved(parent, name);
    fs.paths.forget(path); // a name made here again is sent in the chosen form
  }
  else if (how !== 'attrs') fs.attrs.invalidate(parent, true);
  if (exact) fs.links.delete(path);
  else for (const k of [...fs.links.keys()]) if (k === path || k.startsWith(path + '/')) fs.links.delete(k);
}

/**
 * A link was added to (`added`) or removed from the file at `path`: forget
 * its remembered link count and every cached name of it (their counts are
 * stale). From the cache only (no round trip); a file that had 1 link loses
 * its only name, so there is nothing else to fix then.
 */
function linksChanged(fs: SmbFs, path: string, added: boolean): void {
  const c = fs.attrs.get(path);
  if (c?.kind !== 'hit' || c.stat.fileIndex === 0n) return;
  const id = c.stat.fileIndex;
  fs.linkCounts.delete(id);
  if (added || c.stat.nlink !== 1) fs.attrs.invalidateFile(id);
}

/** Whether `after` (a server's answer) can describe the file `before` was: same kind, same id where both have one. */
function sameFile(before: SmbStat, after: SmbStat): boolean {
  if (before.isDirectory !== after.isDirectory) return false;
  return before.fileIndex === 0n || after.fileIndex === 0n || before.fileIndex === after.fileIndex;
}

/** stat of `path`, or null if it does not exist. */
async function statOrNull(fs: SmbFs, path: string): Promise<SmbStat | null> {
  try {
    return await fs.statSmb(path);
  } catch (err) {
    if (toFuseErrno(err) === -ENOENT) return null;
    throw err;
  }
}

/** Rename an open file to a hidden name and mark it for deletion on last close. */
async function sillyRename(fs: SmbFs, slot: InodeSlot): Promise<void> {
  const from = slot.path;
  const hidden = fuseJoin(fuseParent(from), hiddenName());
  await fs.files.flushPath(from).catch(() => {});
  fs.hiding.add(hidden);
  try {
    await fs.tree.renamePath(fs.smbPath(from), fs.smbPath(hidden), false);
  } catch (err) {
    const fileId = [...slot.handles][0]?.fileId;
    if (!fileId) throw err;
    await fs.tree.renameHandle(fileId, fs.smbPath(hidden), false);
  } finally {
    // movePath below runs before any other handler can list the directory.
    fs.hiding.delete(hidden);
  }
  fs.files.movePath(from, hidden);
  slot.deleteOnClose = true;
  changed(fs, from);
  fs.paths.forget(from);
  fs.attrs.setNegative(from);
}

/**
 * Delete a file; a READONLY one has the attribute cleared and is tried again.
 * `closing`: handles of ours to close in the first try's compound (emptied as they go).
 */
async function unlinkOnServer(fs: SmbFs, path: string, closing: Buffer[] = []): Promise<void> {
  const smb = fs.smbPath(path);
  try {
    await fs.tree.unlinkPath(smb, closing.splice(0));
  } catch (err) {
    if (toFuseErrno(err) !== -EACCES) throw err;
    const st = await fs.tree.stat(smb);
    if (!(st.attributes & FILE_ATTRIBUTE_READONLY)) throw err;
    await fs.tree.setAttributesPath(smb, st.attributes & ~FILE_ATTRIBUTE_READONLY || FILE_ATTRIBUTE_NORMAL);
    await fs.tree.unlinkPath(smb);
  }
}

/** unlink; `closing` as for unlinkOnServer (a handle closetimeo kept of the file: fuse-ops takes it over). */
export async function unlink(fs: SmbFs, path: string, closing: Buffer[] = []): Promise<void> {
  fs.checkWritable();
  linksChanged(fs, path, false);
  const slot = fs.files.openSlot(path);
  if (slot) return sillyRename(fs, slot);
  await unlinkOnServer(fs, path, closing);
  fs.files.dropIdle(path);
  changed(fs, path, true, 'removed');
  fs.attrs.setNegative(path);
}

/**
 * rename over nothing, a file (replaced; silly-renamed first if open here)
 * or an empty directory (removed first; ENOTEMPTY otherwise), across
 * directories too. Open files at or below `from` follow. `closing`: handles
 * closetimeo kept of either file, closed first in the rename's compound
 * (emptied when it is sent).
 */
export async function rename(fs: SmbFs, from: string, to: string, closing: Buffer[] = []): Promise<void> {
  fs.checkWritable();
  const hiding = isLibfuseHiddenName(to) && fs.files.openSlot(from) !== undefined;
  if (!hiding) checkNewName(to, fs.paths.form);
  if (from === to) return;
  // The source's type matters only against an existing target; otherwise
  // the rename's own reply tells what moved (no lookup of a file whose
  // attributes a write here dropped, as dbench renames right after one).
  const dst = await statOrNull(fs, to);
  const src = dst ? await fs.statSmb(from) : (fs.statCached(from) ?? null);
  if (src && dst) {
    if (src.isDirectory && !dst.isDirectory) throw -ENOTDIR;
    if (!src.isDirectory && dst.isDirectory) throw -EISDIR;
    if (dst.isDirectory) {
      if (to.startsWith(from + '/')) throw -EINVAL;
      await fs.tree.rmdirPath(fs.smbPath(to));
      changed(fs, to, false);
    } else {
      const open = fs.files.openSlot(to);
      if (open) await sillyRename(fs, open);
    }
  }
  await fs.files.flushPath(from).catch(() => {});
  // A listing meanwhile must not take the hidden name for a leftover.
  if (hiding) fs.hiding.add(to);
  let moved: SmbStat | null = null;
  try {
    moved = await fs.tree.renamePath(fs.smbPath(from), fs.smbPath(to), true, closing.splice(0));
  } catch (err) {
    const fileId = [...(fs.files.openSlot(from)?.handles ?? [])][0]?.fileId;
    if (!fileId) throw err;
    await fs.tree.renameHandle(fileId, fs.smbPath(to), true);
  } finally {
    fs.hiding.delete(to);
  }
  fs.files.dropIdle(to);
  fs.files.dropIdle(from);
  fs.files.movePath(from, to);
  // libfuse hides an open file it unlinks or replaces: gone at the last close.
  const hidden = hiding ? fs.files.openSlot(to) : undefined;
  if (hidden) hidden.deleteOnClose = true;
  // Both listings kept in step (removed before added: a case-only rename is both).
  changed(fs, from, false, 'removed');
  changed(fs, to, false, 'added');
  fs.paths.forget(from, true);
  fs.attrs.setNegative(from);
  // The attributes queried in the rename's own compound: a stat of the new name needs no round trip.
  if (moved && !hidden && (!src || sameFile(src, moved))) rememberStat(fs.attrs, to, moved);
}

export async function mkdir(fs: SmbFs, path: string, mode?: number): Promise<void> {
  fs.checkWritable();
  checkNewName(path, fs.paths.form);
  const st = await fs.tree.mkdirPath(fs.smbPath(path));
  fs.files.createAccess.note(path, st?.maximalAccess);
  changed(fs, path, true, 'added');
  // Queried in mkdir's own compound: the lookup that follows needs no round trip.
  if (st) rememberStat(fs.attrs, path, st, true);
  if (mode !== undefined) await fs.initialMode(path, mode, true);
  // We just made it, so it is empty: lookups inside it need no round trip.
  fs.attrs.setDir(path, [], fuseJoin);
}

export async function rmdir(fs: SmbFs, path: string): Promise<void> {
  fs.checkWritable();
  await fs.tree.rmdirPath(fs.smbPath(path));
  changed(fs, path, false, 'removed');
  fs.attrs.setNegative(path);
}

/** Hard link (the server must support them; Samba does). */
export async function link(fs: SmbFs, existing: string, newPath: string): Promise<void> {
  fs.checkWritable();
  checkNewName(newPath, fs.paths.form);
  const before = fs.attrs.get(existing);
  const after = await fs.tree.linkPath(fs.smbPath(existing), fs.smbPath(newPath));
  linksChanged(fs, existing, true);
  fs.files.linked(existing);
  changed(fs, existing, true, 'attrs');
  changed(fs, newPath, true, 'added');
  // Queried in the link's own compound (new link count included): the stat of the new name (git) needs no round trip.
  if (!after || after.isDirectory || after.fileIndex === 0n) return;
  if (before?.kind === 'hit' && !sameFile(before.stat, after)) return;
  if (after.nlink > 0) fs.linkCounts.set(after.fileIndex, after.nlink);
  rememberStat(fs.attrs, newPath, after);
  rememberStat(fs.attrs, existing, after);
}

/** symlink: write an mfsymlink file at `path` pointing to `target`. */
export async function symlink(fs: SmbFs, target: string, path: string): Promise<void> {
  fs.checkWritable();
  checkNewName(path, fs.paths.form);
  const body = encodeMfSymlink(target);
  const o = await fs.tree.create(fs.smbPath(path), { access: 'readwrite', disposition: 'create', nonDirectory: true });
  let err: unknown = null;
  try {
    let done = 0;
    while (done < body.length) {
      const n = await fs.tree.write(o.fileId, done, [body.subarray(done)]);
      if (n <= 0) throw -EINVAL;
      done += n;
    }
  } catch (e) {
    err = e;
  }
  await fs.tree.close(o.fileId).catch(() => {});
  if (err !== null) {
    await fs.tree.unlinkPath(fs.smbPath(path)).catch(() => {});
    throw err;
  }
  changed(fs, path, true, 'added');
}

export async function readlink(fs: SmbFs, path: string): Promise<string> {
  const target = await fs.linkTarget(path, await fs.statSmb(path));
  if (target === null) throw -EINVAL;
  return target;
}

/** truncate by path: through the open file if there is one, else one compound. */
export async function truncate(fs: SmbFs, path: string, size: number): Promise<void> {
  fs.checkWritable();
  const slot = fs.files.openSlot(path);
  if (slot) await fs.files.truncateSlot(slot, size);
  else await fs.tree.truncatePath(fs.smbPath(path), size);
  fs.files.dropIdle(path);
  changed(fs, path, true, 'attrs');
}

/**
 * utimens: null leaves a time as it is (UTIME_OMIT; 0 in FileBasicInformation);
 * FileTimes keep 100 ns. Dirty data is written first so it cannot move mtime later.
 */
export async function utimens(fs: SmbFs, path: string, atime: Date | null, mtime: Date | null): Promise<void> {
  fs.checkWritable();
  if (atime === null && mtime === null) return;
  const times = { lastAccessTime: atime, lastWriteTime: mtime };
  // A CLOSE in flight after writes would set mtime again on the server: wait for it.
  await fs.files.openSlot(path)?.closing;
  const slot = fs.files.openSlot(path);
  await fs.files.flushPath(path);
  const fileId = slot?.ops.writeHandle;
  fs.files.dropPendingTimes(path);
  const after = fileId ? await fs.tree.setTimes(fileId, times) : await fs.tree.setTimesPath(fs.smbPath(path), times);
  if (slot && mtime) slot.lastWrite = mtime;
  changed(fs, path, true, 'attrs');
  // Queried in the same compound: the stat that follows (tar, cp -a, touch) needs no round trip.
  if (after) rememberStat(fs.attrs, path, after);
}

/** chmod (see the top). */
export async function chmod(fs: SmbFs, path: string, mode: number): Promise<void> {
  fs.checkWritable();
  const st = await fs.statSmb(path);
  const want = mode & 0o7777;
  if (fs.modeFromSid) return chmodInDescriptor(fs, path, st, want);
  if (!fs.opts.allowOther) {
    if (!st.isDirectory) await setReadOnly(fs, path, st, (want & 0o222) === 0);
    return;
  }
  if (st.isDirectory) {
    if (want !== fs.opts.dirMode) throw -EPERM;
    return;
  }
  const base = fs.opts.fileMode;
  let readOnly: boolean;
  if (want === base) readOnly = (base & 0o222) === 0;
  else if (want === (base & ~0o222)) readOnly = true;
  else throw -EPERM;
  await setReadOnly(fs, path, st, readOnly);
}

/** Set or clear FILE_ATTRIBUTE_READONLY of a file (nothing if it already is so). */
async function setReadOnly(fs: SmbFs, path: string, st: SmbStat, readOnly: boolean): Promise<void> {
  const has = (st.attributes & FILE_ATTRIBUTE_READONLY) !== 0;
  if (st.isDirectory || readOnly === has) return;
  const attrs = readOnly ? st.attributes | FILE_ATTRIBUTE_READONLY : st.attributes & ~FILE_ATTRIBUTE_READONLY;
  await fs.tree.setAttributesPath(fs.smbPath(path), attrs & ~0x10 /* never DIRECTORY */ || FILE_ATTRIBUTE_NORMAL);
  changed(fs, path, true, 'attrs');
}

/**
 * modefromsid chmod: write the mode into the descriptor. A write bit asked
 * for also clears READONLY, which would otherwise hide it (and refuse writes).
 */
async function chmodInDescriptor(fs: SmbFs, path: string, st: SmbStat, want: number): Promise<void> {
  let kept: number | null;
  try {
    kept = await fs.tree.setMode(fs.smbPath(path), want, st.isDirectory);
  } finally {
    changed(fs, path, true, 'attrs');
  }
  if (kept !== want) throw -EPERM;
  if (want & 0o222) await setReadOnly(fs, path, st, false);
}

/** chown: accepted and ignored (see top); the path must exist. */
export async function chown(fs: SmbFs, path: string): Promise<void> {
  fs.checkWritable();
  await fs.statSmb(path);
}

export function getxattr(fs: SmbFs, path: string, name: string): Promise<Buffer> {
  return getXattr(fs.tree, fs.smbPath(path), name);
}

export function listxattr(fs: SmbFs, path: string): Promise<string[]> {
  return listXattr(fs.tree, fs.smbPath(path));
}

export async function setxattr(fs: SmbFs, path: string, name: string, value: Buffer, flags: number): Promise<void> {
  fs.checkWritable();
  await setXattr(fs.tree, fs.smbPath(path), name, value, flags);
  fs.attrs.invalidate(path, true);
}

export async function removexattr(fs: SmbFs, path: string, name: string): Promise<void> {
  fs.checkWritable();
  await removeXattr(fs.tree, fs.smbPath(path), name);
  fs.attrs.invalidate(path, true);
}

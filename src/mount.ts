/**
 * The fuse-native instance and the mount's lifecycle.
 *
 * libfuse options: fuse-native builds libfuse's `-o a,b,c` argument in its
 * (internal) method `_fuseOptions()` from a fixed list of `opts` fields, and
 * has no field for `big_writes`, `ro`, `auto_cache`, `negative_timeout`, ...
 * SmbFuse subclasses Fuse and overrides that one method to append our extra
 * options (fuseOptionString). Everything else about fuse-native is unchanged.
 *
 * Noticing an external unmount: when the kernel unmounts us (`fusermount -u`,
 * `umount`), libfuse's loop thread inside fuse-native ends silently: there is
 * no destroy callback into JavaScript. So we watch /proc/self/mountinfo (one
 * small read per second) and call `onGone` once our mount point disappears.
 */
import { readFileSync, statSync } from 'node:fs';
import Fuse from 'fuse-native';
import { bindingHooks } from './fuse-binding.js';

/** Escape a value for libfuse's option parser (',' and '\' are special). */
function escapeOpt(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

/**
 * Append `extra` options to the `-o…` string fuse-native built (which may be
 * ''), skipping any already present.
 */
export function fuseOptionString(base: string, extra: readonly string[]): string {
  const have = base.startsWith('-o') ? base.slice(2).split(',').filter((s) => s !== '') : [];
  for (const e of extra) if (!have.includes(e)) have.push(e);
  const out = have.length ? '-o' + have.join(',') : '';
  // fuse-native.c copies the string into a 1024-byte buffer.
  if (Buffer.byteLength(out) > 1023) throw new Error('FUSE option string too long');
  return out;
}

/**
 * The extra libfuse options for an smbfuse mount: `ro` for read-only mounts;
 * big writes (128 KiB FUSE writes instead of 4 KiB); with cache=none no
 * kernel page cache either (direct_io). Otherwise the kernel drops its pages
 * of a file at every open (no auto_cache/keep_cache): libfuse's auto_cache
 * would compare against attributes up to actimeo old and keep stale pages
 * after another client's change, breaking close-to-open. Data survives in
 * our own page cache, whose version check uses the CREATE reply's times.
 *
 * Link counts: `use_ino` reports our st_ino (the server's file id, so hard
 * links share one number). No `hard_remove`: with it libfuse2 cannot serve
 * fstat(2) of an unlinked open file (the kernel asks by inode without a file
 * handle, libfuse needs a path), so libfuse keeps renaming such files to
 * `.fuse_hidden…`, and we keep those names out of listings (hidden-names.ts).
 *
 * Access: without `allow_other` the kernel lets only the mounting user in
 * (everyone else gets EACCES, whatever the modes say). With it, others are
 * let in and `default_permissions` has the kernel check every access against
 * the attributes we report (uid=, gid=, file_mode=, dir_mode=) like a local
 * file system. As root, allow_other needs no `user_allow_other` in
 * /etc/fuse.conf (that only limits fusermount for other users).
 */
export function extraFuseOptions(o: { unc: string; allowOther: boolean; actimeoMs: number; readOnly?: boolean; cache?: string }): string[] {
  const secs = String(o.actimeoMs / 1000);
  const out = [
    ...(o.readOnly ? ['ro'] : []),
    'big_writes',
    'max_write=1048576',
    `fsname=${escapeOpt(o.unc)}`,
    'subtype=smbfuse',
    ...(o.cache === 'none' ? ['direct_io'] : []),
    `entry_timeout=${secs}`,
    `attr_timeout=${secs}`,
    `negative_timeout=${secs}`,
    'use_ino',
  ];
  if (o.allowOther) out.push('default_permissions');
  return out;
}

/**
 * fuse-native with extra libfuse options appended to its option string, and
 * the stat/utimens handlers of the binary's layout (fuse-binding.ts).
 */
export class SmbFuse extends Fuse {
  constructor(
    mnt: string,
    ops: object,
    opts: ConstructorParameters<typeof Fuse>[2],
    private readonly extraOptions: readonly string[],
  ) {
    super(mnt, ops, opts);
    Object.assign(this, bindingHooks(ops as Parameters<typeof bindingHooks>[0]));
  }

  override _fuseOptions(): string {
    return fuseOptionString(super._fuseOptions(), this.extraOptions);
  }
}

/** Decode the octal escapes (\040 etc.) mountinfo uses in paths. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points listed in a /proc/self/mountinfo text (field 5). */
export function mountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f[4] !== undefined) out.push(unescapeMountinfo(f[4]));
  }
  return out;
}

/** Whether `path` (absolute, normalised) is a mount point now. */
export function isMountPoint(path: string, read: () => string = () => readFileSync('/proc/self/mountinfo', 'utf8')): boolean {
  return mountPoints(read()).includes(path);
}

/**
 * Check a mount point before mounting; returns an error line or null.
 * A dead FUSE mount (stat fails with ENOTCONN) is allowed: fuse-native's
 * `force` option lazily unmounts it first.
 */
export function checkMountPoint(path: string): string | null {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return `smbfuse: mount point ${path} is not a directory`;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') return null;
    if (code === 'ENOENT') return `smbfuse: mount point ${path} does not exist`;
    return `smbfuse: cannot use mount point ${path} (${code ?? 'error'})`;
  }
  try {
    if (isMountPoint(path)) return `smbfuse: ${path} is already a mount point`;
  } catch {
    // No /proc: fuse-native's own "Mountpoint in use" check still applies.
  }
  return null;
}

export interface MountOptions {
  mountpoint: string;
  unc: string;
  allowOther: boolean;
  debug: boolean;
  actimeoMs: number;
  readOnly?: boolean;
  cache?: string;
  /** fuse-native's own per-op timeout (backstop behind the handlers' own). */
  opTimeoutMs: number;
}

export interface Mounted {
  fuse: SmbFuse;
  /** Unmount (if still mounted) and stop watching; never throws. */
  unmount(): Promise<void>;
}

/**
 * Mount `ops` at the mount point. Resolves once the kernel has sent FUSE
 * INIT (fuse-native calls back from its init handler), i.e. the mount is
 * usable. `onGone` runs once if the mount disappears without unmount().
 */
export function mountFuse(ops: object, o: MountOptions, onGone: () => void): Promise<Mounted> {
  const fuse = new SmbFuse(
    o.mountpoint,
    ops,
    {
      force: true,
      mkdir: false,
      maxRead: 1048576,
      allowOther: o.allowOther,
      debug: o.debug,
      timeout: o.opTimeoutMs,
    },
    extraFuseOptions(o),
  );
  return new Promise((resolve, reject) => {
    fuse.mount((err) => {
      if (err) return reject(err);
      let closing = false;
      const watch = setInterval(() => {
        let present = true;
        try {
          present = isMountPoint(o.mountpoint);
        } catch {
          return;
        }
        if (!present && !closing) {
          closing = true;
          clearInterval(watch);
          onGone();
        }
      }, 1000);
      const unmount = async () => {
        closing = true;
        clearInterval(watch);
        if (!isMountPointSafe(o.mountpoint)) return;
        await new Promise<void>((res) => fuse.unmount(() => res()));
      };
      resolve({ fuse, unmount });
    });
  });
}

/** isMountPoint that says "yes" when it cannot tell (so we try to unmount). */
function isMountPointSafe(path: string): boolean {
  try {
    return isMountPoint(path);
  } catch {
    return true;
  }
}

/**
 * The fuse-native instance and the mount's lifecycle.
 *
 * libfuse options: see mount-options.ts; fuse-native itself is loaded only
 * when mounting (fuse-binding.ts).
 *
 * Noticing an external unmount: when the kernel unmounts us (`fusermount -u`,
 * `umount`), libfuse's loop thread inside fuse-native ends silently: there is
 * no destroy callback into JavaScript. So we watch /proc/self/mountinfo (one
 * small read per second) and call `onGone` once our mount point disappears.
 */
import { readFileSync, statSync } from 'node:fs';
import type Fuse from 'fuse-native';
import { loadSmbFuse } from './fuse-load.js';
import { extraFuseOptions } from './mount-options.js';

export { extraFuseOptions, fuseOptionString } from './mount-options.js';

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
  kernelFlags?: readonly string[];
  /** fuse-native's own per-op timeout (backstop behind the handlers' own). */
  opTimeoutMs: number;
}

export interface Mounted {
  fuse: Fuse;
  /** Unmount (if still mounted) and stop watching; never throws. */
  unmount(): Promise<void>;
}

/**
 * Mount `ops` at the mount point. Resolves once the kernel has sent FUSE
 * INIT (fuse-native calls back from its init handler), i.e. the mount is
 * usable. `onGone` runs once if the mount disappears without unmount().
 */
export async function mountFuse(ops: object, o: MountOptions, onGone: () => void): Promise<Mounted> {
  const SmbFuse = await loadSmbFuse();
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

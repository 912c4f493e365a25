/**
 * The fuse-native instance and the mount's lifecycle.
 *
 * libfuse options: see mount-options.ts; fuse-native itself is loaded only
 * when mounting (fuse-binding.ts).
 *
 * Noticing an external unmount: when the kernel unmounts us (`fusermount -u`,
 * `umount`), the binding's reading of /dev/fuse ends silently: there is
 * no destroy callback into JavaScript. So we watch /proc/self/mountinfo (one
 * small read per second) and our /dev/fuse descriptor, and call `onGone` once
 * the mount point disappears or the kernel has ended the connection (a device
 * number does not tell our mount from a later one: the kernel hands the same
 * one out again). Whatever is mounted on the path after ours is left alone,
 * by us and by the auto_unmount helper.
 *
 * A dead daemon (kill -9, a crash): with `auto_unmount` (the default) libfuse
 * mounts through fusermount, which stays behind holding the FUSE device and
 * unmounts the moment the daemon's end closes, so the mount point becomes a
 * plain directory again. Without it the mount stays, answering ENOTCONN, until
 * `fusermount -u`; mounting smbfuse there again clears a dead *smbfuse* mount
 * (nothing can be lost: its daemon is gone) and refuses any other dead mount,
 * whose owner may want to look at it first.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type Fuse from 'fuse-native';
import { bindingPatched } from './fuse-binding.js';
import { interruptBinding, type Interrupts } from './fuse-interrupt.js';
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

type ReadMountinfo = () => string;
const readMountinfo: ReadMountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');

/** Whether `path` (absolute, normalised) is a mount point now. */
export function isMountPoint(path: string, read: ReadMountinfo = readMountinfo): boolean {
  return mountPoints(read()).includes(path);
}

/** The file system type (e.g. `fuse.smbfuse`) of the topmost mount on `path`, or null. */
export function mountType(path: string, read: ReadMountinfo = readMountinfo): string | null {
  let type: string | null = null;
  for (const line of read().split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f[4] !== undefined && sep > 0 && unescapeMountinfo(f[4]) === path) type = f[sep + 1] ?? null;
  }
  return type;
}

/** "MAJ:MIN", the device of the topmost mount on `path` (mountinfo field 3), or null. */
export function mountDevice(path: string, read: ReadMountinfo = readMountinfo): string | null {
  let dev: string | null = null;
  for (const line of read().split('\n')) {
    const f = line.split(' ');
    if (f[4] !== undefined && unescapeMountinfo(f[4]) === path && /^\d+:\d+$/.test(f[2] ?? '')) dev = f[2]!;
  }
  return dev;
}

/** Children of this process named `comm` (from /proc/PID/stat). */
function childrenNamed(comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === process.pid && stat.slice(stat.indexOf('(') + 1, close) === comm) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * With auto_unmount libfuse leaves a fusermount child that unmounts the mount
 * point when this process ends, so a crash leaves no dead mount. Once our
 * mount is gone it would unmount whatever was mounted there since (smbfuse
 * again, another FUSE file system): it is ended first. It blocks every signal
 * but SIGKILL.
 */
function endAutoUnmountHelper(): void {
  try {
    for (const pid of childrenNamed('fusermount')) process.kill(pid, 'SIGKILL');
  } catch {
    // no /proc: the helper stays, as before
  }
}

/** Whether `path` is a dead mount (its FUSE daemon gone: stat fails with ENOTCONN). */
function isDeadMount(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

/** How long the daemon waits to learn whether what is mounted on its mount point is dead. */
export const DEAD_PROBE_MS = 3000;
/** The probe's exit status for ENOTCONN. */
const PROBE_DEAD = 3;

/**
 * isDeadMount, asked by a child process, for a daemon whose connection has
 * ended: a stat waits for whatever file system is mounted on the path now,
 * and one that hangs (it is not ours) must not hang the daemon with it.
 * Resolves to null if the child had no answer within `ms` or could not run.
 * Such a child is sent SIGKILL but not waited for: a FUSE request its file
 * system has already read holds it until that file system answers or goes.
 */
export function probeDeadMount(path: string, ms = DEAD_PROBE_MS): Promise<boolean | null> {
  const code = `try{require('fs').statSync(process.argv[1]);process.exit(0)}catch(e){process.exit(e.code==='ENOTCONN'?${PROBE_DEAD}:1)}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code, path], { stdio: 'ignore' });
    child.unref();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, ms);
    const done = (v: boolean | null) => {
      clearTimeout(timer);
      resolve(v);
    };
    child.once('error', () => done(null));
    child.once('exit', (status) => done(status === PROBE_DEAD ? true : status === 0 || status === 1 ? false : null));
  });
}

/** The line saying a dead smbfuse mount on `path` is cleared before mounting, or null if there is none. */
export function staleMountNotice(path: string, read: ReadMountinfo = readMountinfo): string | null {
  if (!isDeadMount(path)) return null;
  return mountType(path, read) === 'fuse.smbfuse' ? `smbfuse: ${path}: unmounting the dead smbfuse mount left there (its daemon is gone)` : null;
}

/**
 * Check a mount point before mounting; returns an error line or null.
 * A dead smbfuse mount (stat fails with ENOTCONN) is allowed: fuse-native's
 * `force` option lazily unmounts it first. A dead mount of anything else is
 * refused, as mount.cifs refuses a busy mount point.
 */
export function checkMountPoint(path: string, read: ReadMountinfo = readMountinfo): string | null {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return `smbfuse: mount point ${path} is not a directory`;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') {
      let type: string | null = null;
      try {
        type = mountType(path, read);
      } catch {
        // No /proc: cannot tell whose it is; refuse below.
      }
      if (type === 'fuse.smbfuse') return null;
      return `smbfuse: mount point ${path} is busy: a dead ${type ?? 'FUSE'} mount (its daemon is gone); unmount it first (fusermount -u ${path})`;
    }
    if (code === 'ENOENT') return `smbfuse: mount point ${path} does not exist`;
    return `smbfuse: cannot use mount point ${path} (${code ?? 'error'})`;
  }
  try {
    if (isMountPoint(path, read)) return `smbfuse: ${path} is already a mount point`;
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
  /** Let fusermount unmount the mount if the daemon dies (mount-options.ts). */
  autoUnmount?: boolean;
  /** fuse-native's own per-op timeout (backstop behind the handlers' own); 0: none. */
  opTimeoutMs: number;
  /** Where handlers registered their early EINTR answers (the same object makeFuseOps got). */
  interrupts?: Interrupts;
}

export interface Mounted {
  fuse: Fuse;
  /**
   * Whether the kernel's FUSE connection of this mount still exists (after a
   * lazy unmount it outlives the mount point while files are open);
   * undefined when this cannot be seen (no /proc).
   */
  connectionOpen(): boolean | undefined;
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
  const interrupts = o.interrupts && interruptBinding() ? o.interrupts : undefined;
  const fuse = new SmbFuse(
    o.mountpoint,
    ops,
    {
      force: true,
      mkdir: false,
      maxRead: 1048576,
      allowOther: o.allowOther,
      debug: o.debug,
      timeout: o.opTimeoutMs > 0 ? o.opTimeoutMs : false,
    },
    extraFuseOptions({ ...o, ordersShortReads: bindingPatched() }),
    interrupts,
  );
  const fdsBefore = fuseDeviceFds();
  return new Promise((resolve, reject) => {
    fuse.mount((err) => {
      if (err) return reject(err);
      interrupts?.listen(fuse);
      // libfuse's loop closes its /dev/fuse descriptor once the kernel ends the connection.
      const before = new Set(fdsBefore ?? []);
      const ours = fdsBefore === null ? [] : (fuseDeviceFds() ?? []).filter((fd) => !before.has(fd));
      const connectionOpen = () => (ours.length === 0 ? undefined : ours.some((fd) => fuseDeviceOpen(fd)));
      // Our mount point can be unmounted and mounted again (smbfuse again,
      // another FUSE file system) within a second, before the watch looks:
      // our own connection says whether the mount there is still ours. Once
      // it has ended, the path holds our mount only if that is dead (ENOTCONN;
      // a stat of our own live mount from this thread would never return).
      const ended = () => connectionOpen() === false;
      const oursThere = async () => isMountPoint(o.mountpoint) && (!ended() || (await probeDeadMount(o.mountpoint)) === true);
      const dropHelper = () =>
        oursThere().then(
          (ours) => void (ours || endAutoUnmountHelper()),
          () => {}, // cannot tell: the helper stays
        );
      let closing = false;
      const watch = setInterval(() => {
        let gone = false;
        try {
          gone = ended() || !isMountPoint(o.mountpoint);
        } catch {
          return;
        }
        if (gone && !closing) {
          closing = true;
          clearInterval(watch);
          void dropHelper();
          onGone();
        }
      }, 1000);
      const unmount = async () => {
        closing = true;
        clearInterval(watch);
        const mine = await oursThere().catch(() => true); // cannot tell: try to unmount
        if (mine) await new Promise<void>((res) => fuse.unmount(() => res()));
        await dropHelper();
      };
      resolve({ fuse, unmount, connectionOpen });
    });
  });
}

/** Our descriptors open on /dev/fuse (libfuse's channel), or null if /proc cannot tell. */
export function fuseDeviceFds(): number[] | null {
  try {
    return readdirSync('/proc/self/fd').map(Number).filter((fd) => fuseDeviceOpen(fd));
  } catch {
    return null;
  }
}

function fuseDeviceOpen(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/fuse';
  } catch {
    return false;
  }
}

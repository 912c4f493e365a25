/**
 * The kernel's readahead window for the mount. The kernel asks a FUSE
 * filesystem for file data ahead of a reader in requests no bigger than this
 * window, which is 128 KiB for every FUSE mount (the INIT answer can only
 * lower it). The patched binding (scripts/patch-fuse-native.mjs, "big
 * requests") lets requests grow to 1 MiB, but a sequential read only sends
 * them that big once the window is raised, through sysfs: root may write
 * /sys/class/bdi/MAJ:MIN/read_ahead_kb of the mount's device.
 *
 * The device number comes from /proc/self/mountinfo, not from stat(2): a
 * stat of our own mount point from the JavaScript thread would wait for a
 * FUSE request that only that thread can answer.
 *
 * The kernel lowers the window to the INIT answer's max_readahead when that
 * answer arrives, which can be after mount(2) has returned; so the window is
 * raised once a first request has been answered (afterInit).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { mountDevice } from './mount.js';

/** Largest window set here: four 1 MiB requests in flight. */
export const KERNEL_READAHEAD_MAX = 4 * 1024 * 1024;
/** The kernel's own window for FUSE mounts, never lowered here. */
const KERNEL_READAHEAD_DEFAULT = 128 * 1024;

/** The window for a mount whose own readahead ceiling is `readahead` bytes (0: none), or null to leave the kernel's. */
export function kernelReadaheadFor(c: { readahead: number; cache: string }): number | null {
  if (c.cache === 'none') return null; // direct_io: the kernel reads nothing ahead
  const want = Math.min(c.readahead, KERNEL_READAHEAD_MAX);
  return want > KERNEL_READAHEAD_DEFAULT ? want : null;
}

export interface ReadaheadFiles {
  mountinfo(): string;
  read(file: string): string;
  write(file: string, text: string): void;
}

const realFiles: ReadaheadFiles = {
  mountinfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
  read: (f) => readFileSync(f, 'utf8'),
  write: (f, t) => writeFileSync(f, t),
};

/**
 * Raise the kernel's readahead window of the mount on `mountpoint` to
 * `bytes` (never lower it). Returns what was done, for the debug log;
 * never throws (without root, or without sysfs, the window stays).
 */
export function raiseKernelReadahead(mountpoint: string, bytes: number, files: ReadaheadFiles = realFiles): string {
  try {
    const dev = mountDevice(mountpoint, files.mountinfo);
    if (dev === null) return `kernel readahead: ${mountpoint} not found in mountinfo; left as it is`;
    const file = `/sys/class/bdi/${dev}/read_ahead_kb`;
    const have = Number(files.read(file).trim());
    const kb = Math.floor(bytes / 1024);
    if (Number.isFinite(have) && have >= kb) return `kernel readahead: ${have} KiB already (${file})`;
    files.write(file, `${kb}\n`);
    return `kernel readahead: ${have} KiB -> ${kb} KiB (${file})`;
  } catch (e) {
    return `kernel readahead: left as it is (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/**
 * Resolves once the kernel has taken the mount's INIT answer (it holds every
 * request until then): a statfs of the mount point from libuv's thread pool,
 * answered by this process's JavaScript thread. Not a stat: the kernel would
 * keep the root's attributes for actimeo, and a daemon killed within that
 * time would leave a mount that still looks alive. False if no answer came
 * within `timeoutMs`, or it failed.
 */
export function afterInit(mountpoint: string, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    statfs(mountpoint).then(
      () => { clearTimeout(timer); resolve(true); },
      () => { clearTimeout(timer); resolve(false); },
    );
  });
}

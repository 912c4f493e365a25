/**
 * `-o fsc`: the persistent local disk cache (netfs/fscache-*) wired to SMB
 * files. This is the one place that knows what identifies an SMB file's
 * data: the key is (server, share, server file id), or the path where the
 * server gives no id; the version is (file id, change and last-write
 * times, size) as the CREATE of each open reports it. (Not the creation
 * time: Samba reports another one once it has stored DOS attributes.) An open
 * that reports another version discards the object's data, so a file
 * changed on the server is never served from the cache after the next open.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { statfs, writeFile, readFile, unlink, mkdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FscacheFileOps } from '../netfs/fscache-ops.js';
import { FscacheStore } from '../netfs/fscache-store.js';
import type { SmbStat } from '../transport/types.js';
import type { CacheMode } from './config.js';
import type { FsFileInfo } from './fs-inode.js';

/** Default bound: 10% of the free space where the cache lives, at most 10 GiB, at least 64 MiB. */
const DEFAULT_FRACTION = 0.1;
const DEFAULT_CAP = 10 * 1024 ** 3;
const DEFAULT_FLOOR = 64 * 1024 ** 2;

/** Where the cache lives by default: $XDG_CACHE_HOME/smbfuse, ~/.cache/smbfuse, or /var/cache/smbfuse for root. */
export function defaultCacheDir(env: Record<string, string | undefined>, uid: number, home = os.homedir()): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'smbfuse');
  if (uid === 0) return '/var/cache/smbfuse';
  return path.join(env['HOME'] || home, '.cache', 'smbfuse');
}

/** The default bound for a cache in `dir` (which exists). */
export async function defaultFscSize(dir: string): Promise<number> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  return Math.max(DEFAULT_FLOOR, Math.min(DEFAULT_CAP, Math.floor(free * DEFAULT_FRACTION)));
}

/** Whether process `pid` is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon is exiting, then a zombie until it is reaped: neither
  // will touch the cache again. /proc/PID/stat after the name: state, then
  // the flags fifth from it (PF_EXITING = 4).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] !== 'Z' && f[0] !== 'X' && (Number(f[6]) & 4) === 0;
  } catch {
    return true;
  }
}

/**
 * One daemon per cache directory: a `lock` file holding the owner's pid,
 * taken over when that process is gone. Resolves to null, or why not.
 */
async function takeLock(dir: string): Promise<string | null> {
  const lock = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      const release = () => {
        try {
          // Only our own lock: a later daemon may own the file by now.
          if (readFileSync(lock, 'utf8') === `${process.pid}\n`) unlinkSync(lock);
        } catch {
          // gone
        }
      };
      process.once('exit', release);
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return (e as NodeJS.ErrnoException).code ?? 'cannot lock';
      const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return `in use by smbfuse pid ${pid}`;
      await unlink(lock).catch(() => {});
    }
  }
  return 'cannot lock';
}

/**
 * Open the cache for a mount, or say in one line why the mount goes on
 * without it (the cache is an optimisation: it never fails the mount).
 */
export async function openFscache(o: { cacheDir: string; fscSize?: number }): Promise<FscacheStore | string> {
  try {
    await mkdir(o.cacheDir, { recursive: true, mode: 0o700 });
    const busy = await takeLock(o.cacheDir);
    if (busy) return `fsc: cache directory ${o.cacheDir} ${busy}; no disk cache for this mount`;
    const maxBytes = o.fscSize ?? (await defaultFscSize(o.cacheDir));
    return await FscacheStore.open({ dir: path.join(o.cacheDir, 'objects'), maxBytes });
  } catch (e) {
    return `fsc: cannot use cache directory ${o.cacheDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); no disk cache for this mount`;
  }
}

/** Key and version of an SMB file's data. */
export function fscIdentity(volume: string, f: FsFileInfo): { key: string; version: string } {
  const st: SmbStat = f.stat;
  const key = st.fileIndex !== 0n ? `${volume}\\id:${st.fileIndex}` : `${volume}\\path:${f.path}`;
  const t = (d: Date) => d.getTime();
  const version = `${st.fileIndex}:${t(st.changeTime)}:${t(st.lastWriteTime)}:${st.size}`;
  return { key, version };
}

/**
 * The disk cache's hooks for each opened file: bound to the version the open
 * reports, and bound again (discarding old data) when a later open of the
 * still-open file reports another.
 */
export function fscacheFor(store: FscacheStore, volume: string): (f: FsFileInfo) => { ops: FscacheFileOps; revalidate(f: FsFileInfo): void } {
  const bind = (f: FsFileInfo) => {
    const { key, version } = fscIdentity(volume, f);
    return store.acquire(key, version, f.stat.size);
  };
  return (file) => {
    const ops = new FscacheFileOps(bind(file));
    return { ops, revalidate: (f) => ops.rebind(bind(f)) };
  };
}

/** How long unmount waits for queued cache writes and the last map commits. */
export const FSC_CLOSE_MS = 10_000;

/** `-o fsc` at mount time: the store, or null after one warning line (cache=none sends all I/O to the server). */
export async function startFscache(c: { cache: CacheMode; cacheDir: string; fscSize?: number }, warn: (line: string) => void): Promise<FscacheStore | null> {
  if (c.cache === 'none') {
    warn('fsc: ignored with cache=none (all I/O goes to the server)');
    return null;
  }
  const s = await openFscache(c);
  if (typeof s === 'string') {
    warn(s);
    return null;
  }
  return s;
}

/** The volume part of cache keys: server, port and share. */
export function fscVolume(c: { host: string; port: number; share: string }): string {
  return `//${c.host.toLowerCase()}:${c.port}/${c.share.toLowerCase()}`;
}

/**
 * For the disk cache (-o fsc) end-to-end tests: the mount's fsc counters
 * through `smbfuse stats --json`, random files made on the server side with
 * their SHA-256, the SHA-256 of a file read through the mount, and the bytes
 * a directory really takes on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { FscacheStats } from '../../netfs/fscache-store.js';
import { runCli } from './mount.js';
import { freshShareDir, localTempDir } from './rw.js';
import { startSamba, type SambaServer } from './samba.js';

/** The fsc counters of the mount at `mnt` (throws if it has none). */
export async function fscStats(mnt: string): Promise<FscacheStats> {
  const r = await runCli(['stats', mnt, '--json']);
  if (r.code !== 0) throw new Error(`smbfuse stats failed: ${r.stderr.trim()}`);
  const s = JSON.parse(r.stdout) as { fsc?: FscacheStats };
  if (!s.fsc) throw new Error('the mount reports no disk cache');
  return s.fsc;
}

/** Write `size` random bytes to `file` (server side); resolves to their SHA-256. */
export async function makeRandomFile(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const f = await open(file, 'w');
  try {
    for (let done = 0; done < size; ) {
      const b = randomBytes(Math.min(4 << 20, size - done));
      h.update(b);
      await f.write(b);
      done += b.length;
    }
  } finally {
    await f.close();
  }
  return h.digest('hex');
}

/** SHA-256 of a file, streamed (through the mount or not). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Bytes the files under `dir` occupy on disk (allocated blocks, as du counts them). */
export async function diskUsage(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? await diskUsage(p) : (await stat(p)).blocks * 512;
  }
  return n;
}

/** A private Samba with an empty share directory `dirName`, and a fresh cache directory; all removed at teardown. */
export async function startFscTest(t: { teardown(fn: () => unknown): void }, dirName: string): Promise<{ samba: SambaServer; serverDir: string; cacheDir: string }> {
  const samba = await startSamba();
  t.teardown(() => samba.stop());
  const serverDir = await freshShareDir(t, samba.sharePath, dirName);
  const cacheDir = path.join(await localTempDir(t, 'smbfuse-fsc-'), 'cache');
  return { samba, serverDir, cacheDir };
}

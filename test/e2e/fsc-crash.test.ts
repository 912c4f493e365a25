/**
 * -o fsc and kill -9: the daemon is killed while a cold read is filling the
 * disk cache (after a map commit and with more data written since), the dead
 * mount is unmounted, the share is mounted again on the same cache directory
 * and the file reads back with the server's SHA-256. Done at two moments of
 * the fill; the second remount must also use what the first one committed.
 */
import t from 'tap';
import { open, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fscStats, makeRandomFile, sha256File, startFscTest } from '../helpers/fsc.js';
import { daemonsFor, detach, isMounted, mountShare, unmount } from '../helpers/mount.js';

const MiB = 1024 * 1024;
const SIZE = 128 * MiB;

const dirName = 'fsc-crash';
const { samba, serverDir, cacheDir } = await startFscTest(t, dirName);
const want = await makeRandomFile(path.join(serverDir, 'big.bin'), SIZE);
const opts = ['fsc', `cache_dir=${cacheDir}`, 'fsc_size=1G'];

/** Bytes allocated by the cache's data files. */
async function cachedBytes(): Promise<number> {
  const dir = path.join(cacheDir, 'objects');
  let n = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) if (f.endsWith('.data')) n += (await stat(path.join(dir, f))).blocks * 512;
  return n;
}

/**
 * Read the file through `mnt` in 1 MiB steps until the cache's data files
 * hold `killAt` bytes, then SIGKILL the daemon (ours: it serves `mnt`).
 */
async function readAndKill(t: { ok: (v: unknown, m: string) => void; equal: (a: unknown, b: unknown, m: string) => void; notOk: (v: unknown, m: string) => void }, mnt: string, killAt: number): Promise<void> {
  const pids = await daemonsFor(mnt);
  t.equal(pids.length, 1, 'one daemon serves the mount');
  const f = await open(path.join(mnt, dirName, 'big.bin'), 'r');
  const buf = Buffer.alloc(MiB);
  const deadline = Date.now() + 60_000;
  try {
    for (let pos = 0; pos < SIZE && Date.now() < deadline; pos += MiB) {
      await f.read(buf, 0, MiB, pos);
      if (pos % (8 * MiB) !== 0) continue;
      if ((await cachedBytes()) >= killAt) break;
      // The cache writes behind the reader and drops what it cannot keep up
      // with; let it catch up (bounded) so the kill lands mid-fill, not after.
      const until = Date.now() + 5000;
      while ((await cachedBytes()) < pos - 8 * MiB && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    t.ok((await cachedBytes()) >= killAt, `cache holds at least ${killAt} bytes at the kill`);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
  } finally {
    await f.close().catch(() => {});
  }
  const until = Date.now() + 10_000;
  while ((await daemonsFor(mnt)).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await detach(mnt);
  t.notOk(await isMounted(mnt), 'the dead mount is gone');
  await unmount(mnt);
}

t.test('kill -9 during a cold read, remount: right bytes', async (t) => {
  const m1 = await mountShare(samba, 'test', opts);
  await readAndKill(t, m1, 40 * MiB);

  const m2 = await mountShare(samba, 'test', opts);
  await readAndKill(t, m2, 96 * MiB);

  const m3 = await mountShare(samba, 'test', opts);
  t.teardown(() => unmount(m3));
  t.equal(await sha256File(path.join(m3, dirName, 'big.bin')), want, 'after two kills: the server\'s bytes');
  const s = await fscStats(m3);
  t.ok(s.bytesFromCache >= 32 * MiB, `what was committed before the kills is used (${s.bytesFromCache} from the cache)`);
  t.equal(s.bytesFromCache + s.bytesFromServer, SIZE, 'every byte from one source or the other');
  t.equal(await sha256File(path.join(m3, dirName, 'big.bin')), want, 'and again, now all from the cache');
});

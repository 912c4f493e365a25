/**
 * The patched binding keeps a libfuse thread's locals (wake-up handle,
 * semaphore, buffer) for the next thread when it ends (patch 7). libfuse2
 * ends idle threads beyond 10 after each burst of concurrent calls and starts
 * new ones at the next; unpatched, every thread that ever served a call left
 * its handle behind, checked by libuv at every wake-up from then on. Bursts
 * of concurrent direct reads on the do-nothing filesystem: the locals made
 * stay within the threads alive at once while many more threads come and go.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localTempDir, sh } from '../helpers/rw.js';
import { isMounted } from '../helpers/mount.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BURSTS = 40;
const READERS = 24;

t.test('thread locals are kept for new threads, not made anew', async (t) => {
  const dir = await localTempDir(t, 'smbfuse-threads-');
  const mnt = path.join(dir, 'mnt');
  const count = path.join(dir, 'locals');
  await sh(`mkdir ${mnt}`);
  const child = spawn(process.execPath, ['--require', path.join(root, 'test/helpers/count-locals.cjs'), path.join(root, 'scripts/fuse-null.mjs'), mnt, '--size', '256M'], {
    env: { ...process.env, NODE_OPTIONS: '', SMBFUSE_LOCALS_COUNT: count },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (await isMounted(mnt)) await sh(`fusermount -u ${mnt}`);
  });
  for (let i = 0; i < 100 && !(await isMounted(mnt)); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(await isMounted(mnt), 'fuse-null mounted');
  const seen = new Set<string>();
  let peak = 0;
  for (let b = 0; b < BURSTS; b++) {
    const burst = sh(Array.from({ length: READERS }, (_, i) => `dd if=${mnt}/big of=/dev/null bs=4k count=8 iflag=direct skip=${i * 1000} status=none &`).join(' ') + ' wait', { timeoutMs: 30000 });
    let done = false;
    void burst.then(() => (done = true));
    while (!done) {
      const tids = await readdir(`/proc/${child.pid}/task`).catch(() => []);
      for (const id of tids) seen.add(id);
      peak = Math.max(peak, tids.length);
      await new Promise((r) => setTimeout(r, 5));
    }
    t.equal((await burst).code, 0, `burst ${b}`, { diagnostic: false });
  }
  await new Promise((r) => setTimeout(r, 300));
  const made = Number(await readFile(count, 'utf8'));
  t.comment(`threads seen ${seen.size}, most alive at once ${peak}, thread locals made ${made}`);
  t.ok(seen.size > peak + 20, `threads came and went (${seen.size} seen, at most ${peak} at once)`);
  t.ok(made > 0 && made <= peak, `locals made (${made}) within the threads alive at once (${peak})`);
});

/**
 * The patched binding (patch 20) runs FUSE requests on Node's main thread:
 * no libfuse threads come and go with the load, and a request's locals
 * (what JavaScript answers it by) are taken from a free list and put back
 * when it is answered. Bursts of concurrent direct reads on the do-nothing
 * filesystem: the daemon's threads stay those it had before the bursts, and
 * the locals made stay within the requests in flight at once.
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

t.test('requests run on the main thread; their locals are reused', async (t) => {
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
  const before = new Set(await readdir(`/proc/${child.pid}/task`));
  const seen = new Set<string>();
  for (let b = 0; b < BURSTS; b++) {
    const burst = sh(Array.from({ length: READERS }, (_, i) => `dd if=${mnt}/big of=/dev/null bs=4k count=8 iflag=direct skip=${i * 1000} status=none &`).join(' ') + ' wait', { timeoutMs: 30000 });
    let done = false;
    void burst.then(() => (done = true));
    while (!done) {
      const tids = await readdir(`/proc/${child.pid}/task`).catch(() => []);
      for (const id of tids) seen.add(id);
      await new Promise((r) => setTimeout(r, 5));
    }
    t.equal((await burst).code, 0, `burst ${b}`, { diagnostic: false });
  }
  await new Promise((r) => setTimeout(r, 300));
  const made = Number(await readFile(count, 'utf8'));
  const came = [...seen].filter((id) => !before.has(id));
  t.comment(`threads before ${before.size}, seen ${seen.size}, locals made ${made}`);
  t.same(came, [], 'no thread came during the bursts');
  t.ok(made > 0 && made <= READERS, `locals made (${made}) within the requests in flight at once (${READERS})`);
});

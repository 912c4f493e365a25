/**
 * Hostile directory listings through a real CLI mount (issue 7, points 5
 * and 7), with a tampering proxy between smbfuse and the real Samba:
 *  - names rewritten in QUERY_DIRECTORY replies into ones Linux cannot have
 *    (unmapping to '..' or '.', holding '/', NUL, an unpaired surrogate):
 *    they are left out, the rest of the listing appears (a mapped name
 *    included), and lookups of what they would have looked like fail;
 *  - the same entries on every reply: `ls` fails with EIO within seconds
 *    and the mount keeps working;
 *  - new names on every reply, forever: the listing is answered ETIMEDOUT at
 *    the mount's timeout= and stops sending requests.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { mountShare, unmount } from '../helpers/mount.js';
import type { FrameHook } from '../helpers/proxy.js';
import { countingProxy, freshNamesEveryReply, renameEntries, restartEveryScan } from '../helpers/proxy-listing.js';
import { freshShareDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'server-names';
const base = await freshShareDir(t, samba.sharePath, dirName);
// Placeholders the proxy renames in listings (same UTF-16 length each).
const renames: Record<string, string> = {
  dd: '.\uf029', // unmaps to '..'
  ee: '\uf029\uf029', // unmaps to '..'
  d: '\uf029', // unmaps to '.'
  a_b: 'a/b',
  a0b: 'a\0b',
  zz: 'z\ud800',
};
for (const f of [...Object.keys(renames), 'keep1', 'keep2', 'ok\uf022']) await writeFile(path.join(base, f), f);

/** Mount the test share through a proxy with these hooks; counts QUERY_DIRECTORY requests. */
async function mountVia(hooks: { toServer?: FrameHook; toClient?: FrameHook }, opts: string[] = []) {
  const proxy = await countingProxy(t, samba, hooks);
  const mnt = await mountShare({ ...samba, port: proxy.port }, 'test', opts);
  t.teardown(() => unmount(mnt));
  return { mnt, queries: proxy.queries };
}

const errno = (p: Promise<unknown>) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code ?? String(e));

t.test('names Linux cannot have are left out; the rest is listed', async (t) => {
  const names = renameEntries(renames);
  const { mnt } = await mountVia({ toClient: names.hook });
  const dir = path.join(mnt, dirName);
  const listed = (await readdir(dir)).sort();
  t.ok(names.rewritten() >= Object.keys(renames).length, 'the proxy rewrote every placeholder');
  t.same(listed, ['keep1', 'keep2', 'ok:'], 'the usable names, the mapped one unmapped');
  const ls = await run('ls', ['-a1', dir], { timeout: 10000 });
  t.same(ls.stdout.trim().split('\n'), ['.', '..', 'keep1', 'keep2', 'ok:'], "ls -a: one '.' and one '..'");
  t.equal(await errno(stat(path.join(dir, 'a'))), 'ENOENT', "the NUL name's ghost 'a' does not resolve");
  t.equal(await errno(stat(path.join(dir, 'a', 'b'))), 'ENOENT', "'a/b' does not resolve");
  t.equal(await errno(stat(path.join(dir, 'z\ud800'))), 'ENOENT', 'the surrogate name does not resolve');
  t.equal((await stat(path.join(dir, 'keep1'))).size, 5, 'a kept name resolves');
  t.equal((await stat(path.join(dir, 'ok:'))).size, Buffer.byteLength('ok\uf022'), 'the mapped name resolves');
});

t.test('the same entries on every reply: the listing fails within seconds, the mount lives on', async (t) => {
  const { mnt, queries } = await mountVia({ toServer: restartEveryScan() }, ['timeout=10']);
  const dir = path.join(mnt, dirName);
  const t0 = Date.now();
  const r = await errno(readdir(dir));
  const ms = Date.now() - t0;
  t.equal(r, 'EIO', 'readdir fails with EIO');
  t.ok(ms < 5000, `in ${ms} ms`);
  t.ok(queries() <= 4, `${queries()} QUERY_DIRECTORY requests (not thousands)`);
  t.equal((await stat(path.join(dir, 'keep1'))).size, 5, 'the mount still answers');
});

t.test('new names on every reply: answered ETIMEDOUT at timeout=, then no more requests', async (t) => {
  const { mnt, queries } = await mountVia({ toServer: restartEveryScan(), toClient: freshNamesEveryReply() }, ['timeout=2']);
  const dir = path.join(mnt, dirName);
  const t0 = Date.now();
  const r = await errno(readdir(dir));
  const ms = Date.now() - t0;
  t.equal(r, 'ETIMEDOUT', 'readdir answers ETIMEDOUT');
  t.ok(ms < 6000, `in ${ms} ms (timeout=2)`);
  const atAnswer = queries();
  t.ok(atAnswer > 10, `the listing did run (${atAnswer} requests)`);
  await new Promise((res) => setTimeout(res, 1500));
  t.ok(queries() - atAnswer <= 2, `after the answer: ${queries() - atAnswer} more request(s), then none`);
  const settled = queries();
  await new Promise((res) => setTimeout(res, 1000));
  t.equal(queries(), settled, 'no request in the next second');
});

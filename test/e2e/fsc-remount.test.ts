/**
 * -o fsc end to end: a 256 MiB file read through the mount is cached on local
 * disk; after an unmount and a new mount it reads back identical with at
 * least 95% of its bytes from the cache (by the mount's counters). Then the
 * file is rewritten on the server side (another size and mtime) and the next
 * read through the same mount returns the new bytes, none from the cache.
 */
import t from 'tap';
import * as path from 'node:path';
import { fscStats, makeRandomFile, sha256File, startFscTest } from '../helpers/fsc.js';
import { mountShare, unmount } from '../helpers/mount.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

const dirName = 'fsc-remount';
const { samba, serverDir, cacheDir } = await startFscTest(t, dirName);
const serverFile = path.join(serverDir, 'big.bin');
const want = await makeRandomFile(serverFile, SIZE);
// closetimeo=0: the file is rewritten below on the server's own disk, which
// breaks no lease (Samba runs with kernel oplocks = no), so a handle this
// mount kept open under its lease would rightly go on serving what it read.
// Without one, the next open sees the server's new version (what is tested).
const opts = ['fsc', `cache_dir=${cacheDir}`, 'fsc_size=1G', 'closetimeo=0'];

t.test('cold read, remount, warm read from the disk cache; a change on the server is seen', async (t) => {
  const m1 = await mountShare(samba, 'test', opts);
  let unmounted = false;
  t.teardown(() => (unmounted ? undefined : unmount(m1)));
  t.equal(await sha256File(path.join(m1, dirName, 'big.bin')), want, 'cold read: right bytes');
  const cold = await fscStats(m1);
  t.ok(cold.bytesFromServer >= SIZE, `cold read from the server (${cold.bytesFromServer})`);
  t.equal(cold.bytesFromCache, 0, 'nothing from the cache yet');
  await unmount(m1);
  unmounted = true;

  const m2 = await mountShare(samba, 'test', opts);
  t.teardown(() => unmount(m2));
  const file = path.join(m2, dirName, 'big.bin');
  t.equal(await sha256File(file), want, 'warm read after remount: right bytes');
  const warm = await fscStats(m2);
  t.ok(warm.bytesFromCache >= 0.95 * SIZE, `at least 95% from the cache (${warm.bytesFromCache} of ${SIZE}; server ${warm.bytesFromServer})`);

  // Rewritten on the server: another size, a later mtime.
  await new Promise((r) => setTimeout(r, 20));
  const want2 = await makeRandomFile(serverFile, 8 * MiB + 123);
  const before = await fscStats(m2);
  t.equal(await sha256File(file), want2, 'after the change on the server: the new bytes');
  const after = await fscStats(m2);
  t.equal(after.bytesFromCache, before.bytesFromCache, 'nothing of the old data served from the cache');
  t.ok(after.bytesFromServer - before.bytesFromServer >= 8 * MiB + 123, 'the new data came from the server');
});

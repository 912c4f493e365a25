/**
 * -o fsc,fsc_size=64M: reading four 32 MiB files (twice the bound) through
 * the mount keeps the disk cache within 64 MiB, on disk and by the counters,
 * culls least recently used files (the first ones read), and every file
 * reads back right; the last file read is still served from the cache.
 */
import t from 'tap';
import * as path from 'node:path';
import { diskUsage, fscStats, makeRandomFile, sha256File, startFscTest } from '../helpers/fsc.js';
import { mountShare, unmount } from '../helpers/mount.js';

const MiB = 1024 * 1024;
const BOUND = 64 * MiB;

const dirName = 'fsc-bound';
const { samba, serverDir, cacheDir } = await startFscTest(t, dirName);
const names = ['a.bin', 'b.bin', 'c.bin', 'd.bin'];
const sums = new Map<string, string>();
for (const n of names) sums.set(n, await makeRandomFile(path.join(serverDir, n), 32 * MiB));

t.test('the disk cache stays within fsc_size', async (t) => {
  const mnt = await mountShare(samba, 'test', ['fsc', `cache_dir=${cacheDir}`, 'fsc_size=64M']);
  t.teardown(() => unmount(mnt));
  for (const n of names) {
    t.equal(await sha256File(path.join(mnt, dirName, n)), sums.get(n), `${n}: right bytes`);
    const s = await fscStats(mnt);
    t.ok(s.bytesUsed <= BOUND, `after ${n}: ${s.bytesUsed} bytes used, within ${BOUND}`);
    const du = await diskUsage(cacheDir);
    t.ok(du <= BOUND + MiB, `after ${n}: ${du} bytes on disk (data files within the bound, maps and lock within 1 MiB)`);
  }
  const s = await fscStats(mnt);
  t.equal(s.maxBytes, BOUND, 'the bound is fsc_size');
  t.ok(s.bytesCulled >= 64 * MiB, `culled ${s.bytesCulled}`);
  t.ok(s.bytesWritten >= 4 * 32 * MiB - 2 * MiB, `written ${s.bytesWritten} (nearly every byte read was offered and written)`);
  // Read again after a remount: within one mount the kernel's or the daemon's
  // pages would answer before the disk cache is asked.
  await unmount(mnt);
  const again = await mountShare(samba, 'test', ['fsc', `cache_dir=${cacheDir}`, 'fsc_size=64M']);
  t.teardown(() => unmount(again));
  t.equal(await sha256File(path.join(again, dirName, 'd.bin')), sums.get('d.bin'), 'the last file read again');
  const after = await fscStats(again);
  t.equal(after.bytesFromCache, 32 * MiB, `the last file read is served wholly from the cache (${JSON.stringify(after)})`);
});

/**
 * End to end, two smbfuse mounts of the same share (both cache=strict): two
 * processes writing different regions of one file at the same time, both on one
 * mount and one on each mount, into a pre-sized file and into an empty one —
 * both regions intact afterwards, through both mounts and on the server.
 *
 * Close-to-open and the lease-break flush between the two mounts are in
 * rw-coherency-leases.test.ts.
 */
import t, { type Test } from 'tap';
import { readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { fillRandom, freshShareDir, localTempDir, prng, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-rw-coherency-Ψ-été';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const local = await localTempDir(t, 'smbfuse-rw-coh-');

const mntA = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mntA));
const mntB = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mntB));
const A = path.join(mntA, dirName);
const B = path.join(mntB, dirName);
const r = prng(0xc0be);

/** Two processes at once: `dd` of `p1` into [0, n) and of `p2` into [n, 2n) of `target1`/`target2`. */
async function twoWriters(t: Test, target1: string, target2: string, serverFile: string, n: number, precreate: boolean): Promise<void> {
  const p1 = path.join(local, 'p1.bin');
  const p2 = path.join(local, 'p2.bin');
  await writeFile(p1, fillRandom(r, Buffer.alloc(n)));
  await writeFile(p2, fillRandom(r, Buffer.alloc(n)));
  if (precreate) await sh(`truncate -s ${2 * n} ${q(target1)}`);
  const dd = (src: string, dst: string, seek: number) =>
    sh(`dd if=${q(src)} of=${q(dst)} bs=65536 seek=${seek} oflag=seek_bytes conv=notrunc status=none`, { timeoutMs: 60_000 });
  // The second one writes its region back to front in 1 MiB pieces, so the two interleave.
  const pieces = n / (1 << 20);
  const backwards = sh(
    `for i in $(seq ${pieces - 1} -1 0); do dd if=${q(p2)} of=${q(target2)} bs=1048576 skip=$i seek=$((${n} + i * 1048576)) oflag=seek_bytes count=1 conv=notrunc status=none || exit 1; done`,
    { timeoutMs: 60_000 },
  );
  const [a, b] = await Promise.all([dd(p1, target1, 0), backwards]);
  t.equal(a.code, 0, `first writer (${a.ms} ms) ${a.stderr}`);
  t.equal(b.code, 0, `second writer (${b.ms} ms) ${b.stderr}`);
  const want = Buffer.concat([await readFile(p1), await readFile(p2)]);
  for (const [label, file] of [['first writer\'s mount', target1], ['second writer\'s mount', target2], ['server', serverFile]] as const) {
    const got = await readFile(file);
    t.equal(got.length, want.length, `${label}: size`);
    t.ok(got.subarray(0, n).equals(want.subarray(0, n)), `${label}: first region intact`);
    t.ok(got.subarray(n).equals(want.subarray(n)), `${label}: second region intact`);
  }
}

t.test('two processes on one mount write different regions at once', async (t) => {
  const f = path.join(A, 'two-writers-one-mount.bin');
  await twoWriters(t, f, f, path.join(serverDir, 'two-writers-one-mount.bin'), 8 << 20, true);
});

t.test('two processes on two mounts write different regions at once', async (t) => {
  const n = 'two-writers-two-mounts.bin';
  await twoWriters(t, path.join(A, n), path.join(B, n), path.join(serverDir, n), 8 << 20, true);
});

t.test('two processes on one mount extend an empty file from both ends', async (t) => {
  const f = path.join(A, 'two-writers-extend.bin');
  await writeFile(f, '');
  await twoWriters(t, f, f, path.join(serverDir, 'two-writers-extend.bin'), 4 << 20, false);
  t.ok((await stat(f)).size === 8 << 20, 'final size');
});

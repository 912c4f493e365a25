/**
 * End to end, read-only: for each dialect, mount a share holding a tree of
 * thousands of files through the CLI and read all of it with ordinary tools;
 * every SHA-256 must match the server-side file. Also a read beyond 4 GiB in a
 * sparse file and `ls -l` of a 3000-entry directory.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mountShare, unmount } from '../helpers/mount.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));

const samba = await startSamba();
t.teardown(() => samba.stop());

// The tree lives in its own directory of the share; its manifest beside it.
const top = path.join(samba.sharePath, 'e2e-read-Ωmega');
const treeDir = path.join(top, 'tree');
const manifest = path.join(top, 'MANIFEST.sha256');
const sparseFile = path.join(top, 'sparse.bin');
await rm(top, { recursive: true, force: true });
await run('node', [path.join(scripts, 'make-test-tree.mjs'), treeDir, '--files', '2000', '--manifest', manifest], { maxBuffer: 1 << 24 });
const { stdout: sparseJson } = await run('node', [path.join(scripts, 'make-test-tree.mjs'), '--sparse', sparseFile]);
t.teardown(() => rm(top, { recursive: true, force: true }));
const sparse = JSON.parse(sparseJson) as { size: number; extents: { offset: number; length: number; sha256?: string }[] };

// The newest dialect reads every file; the older ones every fifth (what they
// differ in is the session and its signing or sealing, not the file count).
const dialects = ['2.0', '2.1', '3.0', '3.02', '3.1.1'];
const everyFifth = path.join(top, 'MANIFEST-fifth.sha256');
await writeFile(everyFifth, (await readFile(manifest, 'utf8')).split('\n').filter((l, i) => l !== '' && i % 5 === 0).map((l) => `${l}\n`).join(''));

for (const vers of dialects) {
  const all = vers === '3.1.1';
  t.test(`vers=${vers}: ${all ? 'every' : 'every fifth'} file of the tree reads back with the server's SHA-256`, async (t) => {
    const mnt = await mountShare(samba, 'test', [`vers=${vers}`, 'ro']);
    t.teardown(() => unmount(mnt));
    const mountedTree = path.join(mnt, path.basename(top), 'tree');
    const r = await run('sha256sum', ['--quiet', '--strict', '-c', all ? manifest : everyFifth], { cwd: mountedTree, maxBuffer: 1 << 24 }).then(
      () => ({ ok: true, out: '' }),
      (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.slice(0, 2000) }),
    );
    t.ok(r.ok, `sha256sum -c over the mount${r.ok ? '' : `: ${r.out}`}`);
    const { stdout: count } = await run('bash', ['-c', 'find . -type f | wc -l'], { cwd: mountedTree });
    const { stdout: lines } = await run('bash', ['-c', `wc -l < '${manifest}'`]);
    t.equal(Number(count), Number(lines), 'find sees as many files as the manifest lists');
  });
}

t.test('a read beyond 4 GiB in a sparse file returns the right bytes', async (t) => {
  const mnt = await mountShare(samba, 'test');
  t.teardown(() => unmount(mnt));
  const f = await open(path.join(mnt, path.basename(top), 'sparse.bin'), 'r');
  t.teardown(() => f.close());
  t.equal((await f.stat()).size, sparse.size, 'size past 4 GiB');
  const local = await open(sparseFile, 'r');
  t.teardown(() => local.close());
  for (const off of [0, 2 ** 32 - 8, 2 ** 32 + 12345, 2 ** 32 + 12345 + 4090, 2 ** 32 + 1000, sparse.size - 100]) {
    const a = Buffer.alloc(4096);
    const b = Buffer.alloc(4096);
    const na = (await f.read(a, 0, 4096, off)).bytesRead;
    const nb = (await local.read(b, 0, 4096, off)).bytesRead;
    t.equal(na, nb, `length at ${off}`);
    t.ok(a.subarray(0, na).equals(b.subarray(0, nb)), `bytes at ${off}`);
  }
  const marker = Buffer.alloc(16);
  await f.read(marker, 0, 16, 2 ** 32 - 8);
  t.equal(marker.toString('latin1'), 'ACROSS-4GiB-EDGE', 'the marker that straddles 4 GiB');
});

t.test('ls -l of a directory of 3000 entries lists all of them', async (t) => {
  const mnt = await mountShare(samba, 'test');
  t.teardown(() => unmount(mnt));
  const { stdout } = await run('ls', ['-l', path.join(mnt, path.basename(top), 'tree', 'big-dir')], { maxBuffer: 1 << 24 });
  const entries = stdout.split('\n').filter((l) => /^[-d]/.test(l));
  t.equal(entries.length, 3000, 'entries listed');
  t.equal(entries.filter((l) => l.startsWith('d')).length, 10, 'directories among them');
});

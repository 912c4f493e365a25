/**
 * End to end, read-write, ordinary tools through one CLI mount (cache=strict):
 * `cp -a` of a tree in and back out with identical checksums; `tar x` then
 * `tar c` of a source-like tree of thousands of files; a git repository with a
 * second branch; `rsync -a` and a checksum dry run that finds nothing to send;
 * `sed -i`; an editor-style save (temp file renamed over the original); `mv`
 * across directories; `rm -rf` of everything.
 *
 * Everything happens under one directory of the share with a non-ASCII name;
 * the local copies live in a temp dir. Both are removed at the end.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountShare, unmount } from '../helpers/mount.js';
import { makeSourceTree, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));
const samba = await startSamba();
t.teardown(() => samba.stop());

const name = 'e2e-rw-tools-Ωμέγα-ß';
const serverTop = path.join(samba.sharePath, name);
await rm(serverTop, { recursive: true, force: true });
const local = await mkdtemp(path.join(tmpdir(), 'smbfuse-rw-tools-'));
t.teardown(() => rm(local, { recursive: true, force: true }));
t.teardown(() => rm(serverTop, { recursive: true, force: true }));

// modefromsid: cp -a, tar x and rsync -a keep modes, and a chmod the mount cannot keep fails (EPERM).
const mnt = await mountShare(samba, 'test', ['cache=strict', 'modefromsid']);
t.teardown(() => unmount(mnt));
const top = path.join(mnt, name);
await sh(`mkdir ${q(top)}`);

/** Fails the test with the command's output when it did not exit 0. */
function okRun(tt: Test, r: { code: number; stdout: string; stderr: string; ms: number }, what: string): boolean {
  const ok = r.code === 0;
  tt.ok(ok, `${what} (${r.ms} ms)${ok ? '' : `: exit ${r.code}\n${(r.stderr + r.stdout).slice(0, 3000)}`}`);
  return ok;
}

t.test('cp -a of a tree into the mount and back out: identical checksums', async (t) => {
  const src = path.join(local, 'cp-src');
  const manifest = path.join(local, 'cp.sha256');
  const r0 = await sh(`node ${q(path.join(scripts, 'make-test-tree.mjs'))} ${q(src)} --files 1000 --no-big --manifest ${q(manifest)}`);
  if (!okRun(t, r0, 'make-test-tree')) return;
  // big-dir (3000 more files of the same kind) only costs time here; tar below has thousands.
  await rm(path.join(src, 'big-dir'), { recursive: true });
  const lines = (await readFile(manifest, 'utf8')).split('\n').filter((l) => l && !/^[0-9a-f]{64} {2}big-dir\//.test(l));
  await writeFile(manifest, lines.join('\n') + '\n');
  t.comment(`${lines.length} files`);

  const dst = path.join(top, 'cp-tree');
  if (!okRun(t, await sh(`cp -a ${q(src)} ${q(dst)}`), 'cp -a into the mount')) return;
  okRun(t, await sh(`sha256sum --quiet --strict -c ${q(manifest)}`, { cwd: dst }), 'sha256sum -c on the mount');
  // Names go to the server in NFC (unicode=nfc, the default): the tree's one NFD name is stored, and so
  // listed and copied back, in NFC. The mount still finds it by its NFD spelling (the check above).
  const manifestNfc = path.join(local, 'cp-nfc.sha256');
  await writeFile(manifestNfc, lines.map((l) => l.normalize('NFC')).join('\n') + '\n');
  okRun(t, await sh(`sha256sum --quiet --strict -c ${q(manifestNfc)}`, { cwd: path.join(serverTop, 'cp-tree') }), 'sha256sum -c on the server side (names in NFC)');
  const back = path.join(local, 'cp-back');
  if (!okRun(t, await sh(`cp -a ${q(dst)} ${q(back)}`), 'cp -a back out of the mount')) return;
  okRun(t, await sh(`sha256sum --quiet --strict -c ${q(manifestNfc)}`, { cwd: back }), 'sha256sum -c on the copy back (names in NFC)');
  const count = await sh(`find . -type f | wc -l`, { cwd: back });
  t.equal(Number(count.stdout), lines.length, 'the copy back has exactly the manifest files');
  const dirs = await sh(`diff <(cd ${q(src)} && find . -type d | sort) <(cd ${q(back)} && find . -type d | sort)`);
  okRun(t, dirs, 'same directories (including empty ones) after the round trip');
});

t.test('tar x then tar c of a source-like tree of thousands of files', async (t) => {
  const src = path.join(local, 'tar-src');
  const files = await makeSourceTree(src, 2500, 11);
  const tarball = path.join(local, 'src.tar');
  if (!okRun(t, await sh(`tar cf ${q(tarball)} -C ${q(src)} .`), 'tar c locally')) return;
  const dst = path.join(top, 'tar-tree');
  await sh(`mkdir ${q(dst)}`);
  if (!okRun(t, await sh(`tar xf ${q(tarball)} -C ${q(dst)}`), `tar x of ${files.length} files into the mount`)) return;
  const tarball2 = path.join(local, 'back.tar');
  if (!okRun(t, await sh(`tar cf ${q(tarball2)} -C ${q(dst)} .`), 'tar c from the mount')) return;
  const l1 = await sh(`tar tf ${q(tarball)} | sort`);
  const l2 = await sh(`tar tf ${q(tarball2)} | sort`);
  t.equal(l2.stdout.split('\n').length, l1.stdout.split('\n').length, 'as many entries');
  t.ok(l1.stdout === l2.stdout, 'the same listing');
  const out = path.join(local, 'tar-out');
  await sh(`mkdir ${q(out)}`);
  okRun(t, await sh(`tar xf ${q(tarball2)} -C ${q(out)}`), 'tar x of the second tarball locally');
  okRun(t, await sh(`diff -r ${q(src)} ${q(out)}`), 'diff -r: the same content');
});

t.test('git: init, add -A, commit, checkout -b, commit, checkout back; clean status and fsck', async (t) => {
  const repo = path.join(top, 'git-repo');
  await makeSourceTree(path.join(local, 'git-src'), 300, 23);
  const g = (args: string) => sh(`git -c user.name=Tester -c user.email=tester@example.com -c init.defaultBranch=main -c core.autocrlf=false ${args}`, { cwd: repo });
  if (!okRun(t, await sh(`cp -r ${q(path.join(local, 'git-src'))} ${q(repo)}`), 'copy sources in')) return;
  if (!okRun(t, await g('init -q'), 'git init')) return;
  okRun(t, await g('add -A'), 'git add -A');
  okRun(t, await g('commit -q -m first'), 'git commit');
  okRun(t, await g('checkout -q -b other'), 'git checkout -b other');
  const readme = path.join(repo, 'README.md');
  await writeFile(readme, 'on branch other\n');
  await rm(path.join(repo, '.hidden-0'));
  okRun(t, await g('add -A'), 'git add -A on other');
  okRun(t, await g('commit -q -m second'), 'git commit on other');
  okRun(t, await g('checkout -q main'), 'git checkout main');
  const st = await g('status --porcelain');
  okRun(t, st, 'git status');
  t.equal(st.stdout, '', 'git status --porcelain is clean');
  await t.rejects(stat(readme), { code: 'ENOENT' }, 'the file added on other is gone on main');
  t.equal(await readFile(path.join(repo, '.hidden-0'), 'utf8'), await readFile(path.join(local, 'git-src', '.hidden-0'), 'utf8'), 'the file deleted on other is back');
  okRun(t, await g('fsck --full --strict'), 'git fsck');
  const log = await g('log --oneline other');
  t.equal(log.stdout.trim().split('\n').length, 2, 'two commits on other');
  okRun(t, await g('checkout -q other'), 'git checkout other again');
  t.equal(await readFile(readme, 'utf8'), 'on branch other\n', 'its file is back');
  t.equal((await g('status --porcelain')).stdout, '', 'still clean');
});

t.test('rsync -a into the mount; a checksum dry run finds no content to send', async (t) => {
  const src = path.join(local, 'rsync-src');
  const files = await makeSourceTree(src, 800, 31);
  const dst = path.join(top, 'rsync-tree');
  if (!okRun(t, await sh(`rsync -a ${q(src + '/')} ${q(dst + '/')}`), `rsync -a of ${files.length} files`)) return;
  const dry = await sh(`rsync -a --checksum --dry-run --itemize-changes ${q(src + '/')} ${q(dst + '/')}`);
  okRun(t, dry, 'rsync --checksum --dry-run');
  const lines = dry.stdout.split('\n').filter((l) => l.length > 0);
  // `>f…`/`cf…`/`cd…`: a file to send or an entry to create; `.f..t…`: time only.
  const content = lines.filter((l) => /^[<>ch]/.test(l));
  t.same(content.slice(0, 20), [], 'nothing to transfer or create');
  const timeOnly = lines.filter((l) => /^\.[fdL]/.test(l));
  if (timeOnly.length > 0) {
    // fuse-native's utimens passes atime where mtime belongs (known bug, reported).
    t.comment(`KNOWN ISSUE: rsync would still fix attributes of ${timeOnly.length} entries, e.g. ${JSON.stringify(timeOnly.slice(0, 3))}`);
  }
  okRun(t, await sh(`diff -r ${q(src)} ${q(dst)}`), 'diff -r: the same content');
});

t.test('sed -i edits a file in place', async (t) => {
  const f = path.join(top, 'sed-目標.txt');
  await writeFile(f, 'alpha beta\ngamma beta\n'.repeat(1000));
  okRun(t, await sh(`sed -i 's/beta/DELTA/g' ${q(f)}`), 'sed -i');
  t.equal(await readFile(f, 'utf8'), 'alpha DELTA\ngamma DELTA\n'.repeat(1000), 'the mount reads the edited text');
  t.equal(await readFile(path.join(serverTop, 'sed-目標.txt'), 'utf8'), 'alpha DELTA\ngamma DELTA\n'.repeat(1000), 'the server holds the edited text');
  t.same((await readdir(top)).filter((n) => n.startsWith('sed')), ['sed-目標.txt'], 'no temp file left behind');
});

t.test('editor-style save: write a temp file, fsync, rename over the original', async (t) => {
  const f = path.join(top, 'notes-ñ.txt');
  await writeFile(f, 'version 1\n');
  t.equal(await readFile(f, 'utf8'), 'version 1\n');
  for (let v = 2; v <= 5; v++) {
    const tmp = path.join(top, `.notes-ñ.txt.swp${v}`);
    const h = await open(tmp, 'wx');
    await h.writeFile(`version ${v}\n`.repeat(v * 100));
    await h.sync();
    await h.close();
    await rename(tmp, f);
    t.equal(await readFile(f, 'utf8'), `version ${v}\n`.repeat(v * 100), `version ${v} reads back after the rename`);
    await t.rejects(stat(tmp), { code: 'ENOENT' }, 'the temp name is gone');
  }
  t.equal(await readFile(path.join(serverTop, 'notes-ñ.txt'), 'utf8'), 'version 5\n'.repeat(500), 'the server holds the last version');
});

t.test('mv across directories (a file and a directory)', async (t) => {
  const a = path.join(top, 'mv-a');
  const b = path.join(top, 'mv-b', 'deeper');
  await sh(`mkdir -p ${q(a + '/sub')} ${q(b)}`);
  await writeFile(path.join(a, 'file.txt'), 'moving file\n');
  await writeFile(path.join(a, 'sub', 'inner.txt'), 'moving dir\n');
  okRun(t, await sh(`mv ${q(path.join(a, 'file.txt'))} ${q(b + '/')}`), 'mv file');
  okRun(t, await sh(`mv ${q(path.join(a, 'sub'))} ${q(path.join(b, 'sub-moved'))}`), 'mv directory');
  t.equal(await readFile(path.join(b, 'file.txt'), 'utf8'), 'moving file\n', 'the file at its new place');
  t.equal(await readFile(path.join(b, 'sub-moved', 'inner.txt'), 'utf8'), 'moving dir\n', 'the directory content at its new place');
  t.same(await readdir(a), [], 'the old directory is empty');
  t.same((await readdir(b)).sort(), ['file.txt', 'sub-moved'], 'the new directory lists both');
  t.equal(await readFile(path.join(serverTop, 'mv-b', 'deeper', 'sub-moved', 'inner.txt'), 'utf8'), 'moving dir\n', 'server side too');
});

t.test('rm -rf of the whole tree', async (t) => {
  const r = await sh(`rm -rf ${q(top)}`);
  okRun(t, r, 'rm -rf');
  await t.rejects(stat(top), { code: 'ENOENT' }, 'gone through the mount');
  await t.rejects(stat(serverTop), { code: 'ENOENT' }, 'gone on the server');
  t.notOk((await readdir(mnt)).includes(name), 'not listed in the share root');
});

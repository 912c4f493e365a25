/**
 * End to end, the POSIX behaviour people rely on, through one CLI mount
 * (cache=strict): O_EXCL, O_TRUNC, size visible
 * before close, zero-filled holes, unlink of an open file, ENOTEMPTY, names with
 * `: * ? " < > |`, ENAMETOOLONG, renames, chmod a-w / u+w, symlinks, and user.* extended attributes (with setfattr/getfattr from the `attr`
 * package; skipped, loudly, when they are not installed). O_APPEND from two
 * descriptors and hard links are in rw-posix-more.test.ts.
 */
import t from 'tap';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rmdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-rw-posix-Λάμδα-ü';
const serverDir = await freshShareDir(t, samba.sharePath, dirName, { create: false });
const mnt = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mnt));
const top = path.join(mnt, dirName);
await mkdir(top);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('O_EXCL on an existing file is EEXIST', async (t) => {
  const f = path.join(top, 'excl.txt');
  const h = await open(f, 'wx');
  await h.writeFile('first');
  await h.close();
  await t.rejects(open(f, 'wx'), { code: 'EEXIST' }, 'second O_CREAT|O_EXCL');
  await t.rejects(mkdir(path.join(top, 'excl.txt')), { code: 'EEXIST' }, 'mkdir over it');
  t.equal(await readFile(f, 'utf8'), 'first', 'content untouched');
});

t.test('O_TRUNC empties an existing file', async (t) => {
  const f = path.join(top, 'trunc.txt');
  await writeFile(f, 'y'.repeat(100_000));
  const h = await open(f, constants.O_RDWR | constants.O_TRUNC);
  t.equal((await h.stat()).size, 0, 'size 0 right after open');
  await h.write('short');
  await h.close();
  t.equal(await readFile(f, 'utf8'), 'short', 'only the new bytes');
  t.equal((await stat(path.join(serverDir, 'trunc.txt'))).size, 5, 'server size');
});

t.test('size is visible before close', async (t) => {
  const f = path.join(top, 'size-before-close.bin');
  const h = await open(f, 'w');
  t.teardown(() => h.close().catch(() => {}));
  await h.write(Buffer.alloc(123_457, 7), 0, 123_457, 0);
  t.equal((await h.stat()).size, 123_457, 'fstat');
  t.equal((await stat(f)).size, 123_457, 'stat by name');
  const ls = await sh(`ls -l ${q(f)}`);
  t.match(ls.stdout, / 123457 /, 'ls -l');
  await h.write(Buffer.alloc(10, 7), 0, 10, 200_000);
  t.equal((await stat(f)).size, 200_010, 'stat by name after extending');
});

t.test('writes past EOF leave zero-filled holes', async (t) => {
  const f = path.join(top, 'holes.bin');
  const h = await open(f, 'w+');
  await h.write(Buffer.from('A'), 0, 1, 0);
  await h.write(Buffer.from('B'), 0, 1, (1 << 20) + 5);
  await h.truncate((3 << 20) + 7);
  await h.write(Buffer.from('C'), 0, 1, 3 << 20);
  await h.close();
  const b = await readFile(f);
  t.equal(b.length, (3 << 20) + 7, 'size');
  t.equal(b[0], 0x41);
  t.equal(b[(1 << 20) + 5], 0x42);
  t.equal(b[3 << 20], 0x43);
  const nonzero = [...b].reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
  t.equal(nonzero, 3, 'everything else reads as zeros');
  t.ok((await readFile(path.join(serverDir, 'holes.bin'))).equals(b), 'the server holds the same bytes');
});

t.test('unlink of an open file: the name goes at once, the descriptor keeps working', async (t) => {
  const name = 'open-unlinked-ø.bin';
  const f = path.join(top, name);
  const h = await open(f, 'w+');
  t.teardown(() => h.close().catch(() => {}));
  await h.write(Buffer.from('before unlink;'), 0, 14, 0);
  await unlink(f);
  await t.rejects(stat(f), { code: 'ENOENT' }, 'stat: ENOENT');
  t.notOk((await readdir(top)).includes(name), 'not in readdir');
  await t.rejects(open(f, 'r'), { code: 'ENOENT' }, 'open: ENOENT');
  await h.write(Buffer.from(' after unlink'), 0, 13, 14);
  const buf = Buffer.alloc(64);
  const { bytesRead } = await h.read(buf, 0, 64, 0);
  t.equal(buf.subarray(0, bytesRead).toString(), 'before unlink; after unlink', 'the descriptor reads what it wrote');
  t.equal((await h.stat()).size, 27, 'fstat size');
  // A new file may take the name while the old one is open.
  await writeFile(f, 'new file');
  t.equal(await readFile(f, 'utf8'), 'new file', 'the name is free for a new file');
  await h.close();
  t.equal(await readFile(f, 'utf8'), 'new file', 'closing the old one leaves the new one alone');
  await unlink(f);
  // The hidden name is deleted on the last close (give a deferred close a moment).
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    left = (await readdir(serverDir)).filter((n) => !['excl.txt', 'trunc.txt', 'size-before-close.bin', 'holes.bin'].includes(n));
    if (left.length === 0) break;
    await sleep(100);
  }
  t.same(left, [], 'nothing left behind on the server after the last close');
});

t.test('rmdir of a non-empty directory is ENOTEMPTY', async (t) => {
  const d = path.join(top, 'full-dir');
  await mkdir(d);
  await writeFile(path.join(d, 'f'), 'x');
  await t.rejects(rmdir(d), { code: 'ENOTEMPTY' }, 'rmdir');
  const r = await sh(`rmdir ${q(d)}`);
  t.not(r.code, 0, 'rmdir(1) fails');
  t.match(r.stderr, /not empty/i, 'and says why');
  t.ok((await stat(path.join(d, 'f'))).isFile(), 'content still there');
  await unlink(path.join(d, 'f'));
  await rmdir(d);
  await t.rejects(stat(d), { code: 'ENOENT' }, 'empty: removed');
});

t.test('names with : * ? " < > | round-trip', async (t) => {
  const d = path.join(top, 'odd-names');
  await mkdir(d);
  const names = ['a:b.txt', 'star*.txt', 'what?.txt', 'say "hi".txt', '<tag>.txt', 'pipe|line.txt', 'all :*?"<>| together', 'trailing.dot.'];
  for (const n of names) await writeFile(path.join(d, n), `content of ${n}`);
  t.same((await readdir(d)).sort(), [...names].sort(), 'readdir lists every name as written');
  for (const n of names) t.equal(await readFile(path.join(d, n), 'utf8'), `content of ${n}`, `reads back: ${n}`);
  await mkdir(path.join(d, 'dir:with?odd*chars'));
  await rename(path.join(d, 'a:b.txt'), path.join(d, 'dir:with?odd*chars', 'moved<>.txt'));
  t.equal(await readFile(path.join(d, 'dir:with?odd*chars', 'moved<>.txt'), 'utf8'), 'content of a:b.txt', 'renamed into an odd directory');
  t.equal((await readdir(path.join(serverDir, 'odd-names'))).length, names.length, 'as many entries on the server');
  const ls = await sh(`ls ${q(d)} | wc -l`);
  t.equal(Number(ls.stdout), names.length, 'ls agrees');
});

t.test('a name longer than 255 bytes is ENAMETOOLONG, from open itself; a name that is not UTF-8 is EILSEQ', async (t) => {
  // open, not writeFile: a create whose CREATE waits for the close would fail only there, where many programs never look.
  await t.rejects(open(path.join(top, 'n'.repeat(256)), 'w'), { code: 'ENAMETOOLONG' }, '256 ASCII characters');
  await t.rejects(mkdir(path.join(top, 'd'.repeat(300))), { code: 'ENAMETOOLONG' }, 'mkdir of 300 characters');
  await t.rejects(open(path.join(top, 'é'.repeat(128)), 'w'), { code: 'ENAMETOOLONG' }, '128 two-byte letters (256 bytes)');
  t.equal((await readdir(top)).filter((n) => n.startsWith('n'.repeat(200)) || n.startsWith('é'.repeat(100))).length, 0, 'neither left a file');
  // Two names differing only in bytes that are not UTF-8 (an old Latin-1 archive) must not become one file.
  const latin1 = (s: string) => Buffer.concat([Buffer.from(top + '/'), Buffer.from(s, 'latin1')]);
  await t.rejects(open(latin1('caf\xe9'), 'w'), { code: 'EILSEQ' }, 'open of caf\\xe9');
  await t.rejects(mkdir(latin1('r\xe9p')), { code: 'EILSEQ' }, 'mkdir of r\\xe9p');
  const ok = 'k'.repeat(255);
  await writeFile(path.join(top, ok), 'x');
  t.equal(await readFile(path.join(top, ok), 'utf8'), 'x', '255 characters are fine');
  await unlink(path.join(top, ok));
});

t.test('rename: over an existing file, of directories, across directories', async (t) => {
  const d = path.join(top, 'ren');
  await mkdir(path.join(d, 'x', 'inner'), { recursive: true });
  await mkdir(path.join(d, 'y'));
  await writeFile(path.join(d, 'old.txt'), 'old');
  await writeFile(path.join(d, 'new.txt'), 'new, longer content');
  await rename(path.join(d, 'new.txt'), path.join(d, 'old.txt'));
  t.equal(await readFile(path.join(d, 'old.txt'), 'utf8'), 'new, longer content', 'over an existing file');
  await t.rejects(stat(path.join(d, 'new.txt')), { code: 'ENOENT' }, 'the source name is gone');
  // Over an existing file that is open: the open one keeps its content.
  await writeFile(path.join(d, 'victim.txt'), 'victim');
  const hv = await open(path.join(d, 'victim.txt'), 'r');
  await writeFile(path.join(d, 'winner.txt'), 'winner');
  await rename(path.join(d, 'winner.txt'), path.join(d, 'victim.txt'));
  t.equal((await hv.readFile()).toString(), 'victim', 'an open file replaced by rename still reads its own bytes');
  await hv.close();
  t.equal(await readFile(path.join(d, 'victim.txt'), 'utf8'), 'winner', 'the name has the new file');
  await writeFile(path.join(d, 'x', 'inner', 'deep.txt'), 'deep');
  await rename(path.join(d, 'x'), path.join(d, 'x-renamed'));
  t.equal(await readFile(path.join(d, 'x-renamed', 'inner', 'deep.txt'), 'utf8'), 'deep', 'a directory with content');
  await t.rejects(stat(path.join(d, 'x')), { code: 'ENOENT' }, 'old directory name gone');
  await rename(path.join(d, 'x-renamed', 'inner'), path.join(d, 'y', 'inner-moved'));
  t.equal(await readFile(path.join(d, 'y', 'inner-moved', 'deep.txt'), 'utf8'), 'deep', 'a directory across directories');
  await rename(path.join(d, 'old.txt'), path.join(d, 'y', 'inner-moved', 'moved.txt'));
  t.equal(await readFile(path.join(d, 'y', 'inner-moved', 'moved.txt'), 'utf8'), 'new, longer content', 'a file across directories');
  await mkdir(path.join(d, 'empty-target'));
  await rename(path.join(d, 'x-renamed'), path.join(d, 'empty-target'));
  t.ok((await stat(path.join(d, 'empty-target'))).isDirectory(), 'a directory over an empty directory');
  await mkdir(path.join(d, 'full-target'));
  await writeFile(path.join(d, 'full-target', 'f'), 'f');
  await t.rejects(rename(path.join(d, 'empty-target'), path.join(d, 'full-target')), { code: /ENOTEMPTY|EEXIST/ }, 'over a non-empty directory: ENOTEMPTY');
  t.same((await readdir(d)).sort(), ['empty-target', 'full-target', 'victim.txt', 'y'], 'the directory lists what is left');
});

t.test('chmod a-w makes the file read-only; u+w restores', async (t) => {
  const f = path.join(top, 'ro-file.txt');
  await writeFile(f, 'original');
  // file_mode 0755 without its write bits: the one other mode a file can have without modefromsid.
  await chmod(f, 0o555);
  t.equal((await stat(f)).mode & 0o222, 0, 'no write bits');
  await t.rejects(open(f, 'r+'), { code: 'EACCES' }, 'open for writing: EACCES');
  const r = await sh(`echo more >> ${q(f)}`);
  t.not(r.code, 0, 'the shell cannot append');
  t.match(r.stderr, /Permission denied/, 'Permission denied');
  t.equal(await readFile(f, 'utf8'), 'original', 'still readable, unchanged');
  const r2 = await sh(`chmod u+w ${q(f)}`);
  t.equal(r2.code, 0, 'chmod u+w');
  t.not((await stat(f)).mode & 0o200, 0, 'write bit back');
  await writeFile(f, 'rewritten');
  t.equal(await readFile(f, 'utf8'), 'rewritten', 'writable again');
});

t.test('symlink and readlink', async (t) => {
  const d = path.join(top, 'links');
  await mkdir(d);
  await writeFile(path.join(d, 'target-ü.txt'), 'target content');
  await symlink('target-ü.txt', path.join(d, 'link'));
  t.equal(await readlink(path.join(d, 'link')), 'target-ü.txt', 'readlink');
  t.ok((await lstat(path.join(d, 'link'))).isSymbolicLink(), 'lstat: a symlink');
  t.equal((await lstat(path.join(d, 'link'))).size, Buffer.byteLength('target-ü.txt'), 'lstat size is the target length');
  t.equal(await readFile(path.join(d, 'link'), 'utf8'), 'target content', 'reading through it');
  await symlink('../links/./nowhere/x', path.join(d, 'dangling'));
  t.equal(await readlink(path.join(d, 'dangling')), '../links/./nowhere/x', 'a dangling relative link');
  await t.rejects(stat(path.join(d, 'dangling')), { code: 'ENOENT' }, 'following it: ENOENT');
  await symlink('/etc/hostname', path.join(d, 'absolute'));
  t.equal(await readlink(path.join(d, 'absolute')), '/etc/hostname', 'an absolute link');
  const ls = await sh(`ls -l ${q(d)}`);
  t.match(ls.stdout, /link -> target-ü\.txt/, 'ls -l shows the link');
  await rename(path.join(d, 'link'), path.join(d, 'link2'));
  t.equal(await readlink(path.join(d, 'link2')), 'target-ü.txt', 'renamed link keeps its target');
  await unlink(path.join(d, 'link2'));
  t.equal(await readFile(path.join(d, 'target-ü.txt'), 'utf8'), 'target content', 'unlinking the link leaves the target');
});

t.test('user.* extended attributes', async (t) => {
  const have = (await sh('command -v setfattr && command -v getfattr')).code === 0;
  if (!have) {
    t.comment('SKIPPED: setfattr/getfattr (Debian package `attr`) are not installed; xattrs NOT TESTED');
    t.skip('xattrs need setfattr/getfattr', () => {});
    return;
  }
  const f = path.join(top, 'xattr-ž.txt');
  await writeFile(f, 'x');
  t.equal((await sh(`setfattr -n user.color -v blue ${q(f)}`)).code, 0, 'set user.color');
  t.equal((await sh(`setfattr -n user.empty -v '' ${q(f)}`)).code, 0, 'set an empty value');
  t.equal((await sh(`setfattr -n user.bin -v 0x00ff10 ${q(f)}`)).code, 0, 'set a binary value');
  t.equal((await sh(`getfattr --only-values -n user.color ${q(f)}`)).stdout, 'blue', 'get user.color');
  t.equal((await sh(`getfattr -e hex --only-values -n user.bin ${q(f)} | od -An -tx1 | tr -d ' \\n'`)).stdout, '00ff10', 'get the binary value');
  const list = await sh(`getfattr -d -m '^user\\.' ${q(f)}`);
  t.match(list.stdout, /user\.color="blue"/, 'listed: color');
  t.match(list.stdout, /user\.bin=/, 'listed: bin');
  t.equal((await sh(`setfattr -n user.color -v green ${q(f)}`)).code, 0, 'replace a value');
  t.equal((await sh(`getfattr --only-values -n user.color ${q(f)}`)).stdout, 'green', 'replaced');
  t.equal((await sh(`setfattr -x user.color ${q(f)}`)).code, 0, 'remove');
  const gone = await sh(`getfattr -n user.color ${q(f)}`);
  t.not(gone.code, 0, 'get after remove fails');
  t.match(gone.stderr, /No such attribute|No data available/, 'ENODATA');
  t.notMatch((await sh(`getfattr -d -m '^user\\.' ${q(f)}`)).stdout, /user\.color/, 'not listed any more');
  t.equal(await readFile(f, 'utf8'), 'x', 'file content untouched');
});

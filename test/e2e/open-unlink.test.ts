/**
 * Unlinking and renaming over open files through the CLI mount. POSIX: the
 * name is gone at once, descriptors keep working (fstat included). libfuse2
 * renames such a file to `.fuse_hidden…` through our rename handler; we do
 * that rename on the server, keep those names out of every listing, delete
 * the file at the last close, and clean up ones a dead daemon left behind.
 */
import t from 'tap';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { readFile as readText } from 'node:fs/promises';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-open-unlink';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const mnt = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mnt));
const top = path.join(mnt, dirName);

/** A fresh directory (mount path, server path) for one test. */
async function scratch(name: string): Promise<{ dir: string; server: string }> {
  await sh(`mkdir ${q(path.join(top, name))}`);
  return { dir: path.join(top, name), server: path.join(serverDir, name) };
}

/**
 * Names in a server directory once they settle: FUSE sends RELEASE after
 * close(2) returns, so the last-close delete lands a moment later (bounded).
 */
async function serverNames(dir: string, want: string[]): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const names = (await readdir(dir)).sort();
    if (JSON.stringify(names) === JSON.stringify(want) || Date.now() > deadline) return names;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every name `ls -a` shows, without . and .. */
async function lsA(dir: string): Promise<string[]> {
  const r = await sh(`ls -a ${q(dir)}`);
  return r.stdout.split('\n').filter((n) => n !== '' && n !== '.' && n !== '..').sort();
}

t.test('mv b a while a is open: the reader keeps the old file, no extra name', async (t) => {
  const { dir, server } = await scratch('mv-over');
  await writeFile(path.join(dir, 'a'), 'old contents of a\n');
  await writeFile(path.join(dir, 'b'), 'new contents from b\n');
  const reader = await open(path.join(dir, 'a'), 'r');
  const r = await sh(`mv ${q(path.join(dir, 'b'))} ${q(path.join(dir, 'a'))}`);
  t.equal(r.code, 0, r.stderr);
  t.same(await lsA(dir), ['a'], 'ls -a shows only a');
  t.equal(await readFile(path.join(dir, 'a'), 'utf8'), 'new contents from b\n', 'a is b now');
  const buf = Buffer.alloc(64);
  const { bytesRead } = await reader.read(buf, 0, 64, 0);
  t.equal(buf.toString('utf8', 0, bytesRead), 'old contents of a\n', 'the open descriptor still reads the old a');
  await reader.close();
  t.same(await lsA(dir), ['a'], 'still only a after the close');
  t.same(await serverNames(server, ['a']), ['a'], 'the old a is gone on the server after the last close');
});

t.test("editor save-by-rename over a file another process holds open", async (t) => {
  const { dir, server } = await scratch('editor');
  const file = path.join(dir, 'notes.txt');
  await writeFile(file, 'draft 1\n');
  const viewer = await open(file, 'r');
  // What vim (backupcopy=no) and most editors do: write a new file, fsync, rename it over.
  const r = await sh(`cd ${q(dir)} && printf 'draft 2\\n' > .notes.txt.swp && sync .notes.txt.swp && mv .notes.txt.swp notes.txt`);
  t.equal(r.code, 0, r.stderr);
  t.same(await lsA(dir), ['notes.txt'], 'ls -a shows only the saved file');
  t.equal(await readFile(file, 'utf8'), 'draft 2\n', 'the saved contents');
  const buf = Buffer.alloc(64);
  const { bytesRead } = await viewer.read(buf, 0, 64, 0);
  t.equal(buf.toString('utf8', 0, bytesRead), 'draft 1\n', 'the viewer still sees what it opened');
  t.equal(await viewer.readFile('utf8'), 'draft 1\n', 'readFile (fstat, then read to the end) works on the replaced file');
  const hidden = (await readdir(server)).find((n) => n.startsWith('.fuse_hidden'));
  t.ok(hidden, 'the replaced file is on the server under a hidden name while open');
  t.same(await lsA(dir), ['notes.txt'], 'which no listing shows');
  await viewer.close();
  t.same(await serverNames(server, ['notes.txt']), ['notes.txt'], 'nothing left on the server');
});

t.test('rm of an open file: name gone, descriptor reads and writes, file gone after close', async (t) => {
  const { dir, server } = await scratch('rm-open');
  const file = path.join(dir, 'victim');
  await writeFile(file, 'before rm;');
  const fh = await open(file, 'r+');
  const r = await sh(`rm ${q(file)}`);
  t.equal(r.code, 0, r.stderr);
  t.same(await lsA(dir), [], 'ls -a shows nothing');
  t.equal(await sh(`stat ${q(file)}`).then((x) => x.code), 1, 'the name is not found');
  const st = await fh.stat();
  t.equal(st.size, 10, 'fstat works on the unlinked file');
  t.equal(st.nlink, 0, 'fstat: no links left');
  await fh.write(Buffer.from(' after rm'), 0, 9, 10);
  await fh.sync();
  const buf = Buffer.alloc(64);
  const { bytesRead } = await fh.read(buf, 0, 64, 0);
  t.equal(buf.toString('utf8', 0, bytesRead), 'before rm; after rm', 'read back through the descriptor');
  t.equal((await fh.stat()).size, 19, 'fstat after writing');
  t.equal((await readdir(server)).length, 1, 'while open the server keeps it under a hidden name');
  t.match((await readdir(server))[0], /^\.fuse_hidden[0-9a-f]{16}$/);
  await fh.close();
  t.same(await serverNames(server, []), [], 'gone on the server after the last close');
  t.same(await lsA(dir), [], 'and from the mount');
});

t.test('a hidden file left by a dead daemon is not listed, and is deleted by the next listing', async (t) => {
  // Made on the server, so the mount has no cached listing of it.
  const dir = path.join(top, 'leftover');
  const server = path.join(serverDir, 'leftover');
  await mkdir(server);
  const left = '.fuse_hidden0000000a00000001';
  await writeFile(path.join(server, left), 'left behind');
  await writeFile(path.join(server, '.smbfuse-deleted-0123456789abcdef'), 'left behind too');
  await writeFile(path.join(server, '.smbfuse-deleted-notours'), 'a user file that only looks alike');
  t.same(await lsA(dir), ['.smbfuse-deleted-notours'], 'ls -a shows the look-alike, not the leftover');
  t.same((await readdir(server)).sort(), ['.smbfuse-deleted-notours'], 'the leftovers were deleted on the server');
  t.equal(await sh(`touch ${q(path.join(dir, '.smbfuse-deleted-fedcba9876543210'))}`).then((x) => x.code), 1, 'such a name cannot be created');
  t.equal(await sh(`touch ${q(path.join(dir, '.fuse_hidden0000000b00000002'))}`).then((x) => x.code), 1, 'nor libfuse\'s');
  await t.rejects(stat(path.join(dir, left)), { code: 'ENOENT' });
});

/** PIDs of the smbfuse daemon serving `mnt` (its command line names it). */
async function daemonOf(mnt: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const argv: string[] = await readText(`/proc/${p}/cmdline`, 'utf8').then((s) => s.split('\0'), () => []);
    if (argv.some((a) => a.endsWith('main.js')) && argv.includes(mnt)) out.push(Number(p));
  }
  return out;
}

t.test('a daemon killed with a removed file open: the next listing cleans up after it', async (t) => {
  const { dir, server } = await scratch('killed');
  await writeFile(path.join(dir, 'keep'), 'stays');
  const doomed = await mountShare(samba, 'test', ['cache=strict']);
  const victim = path.join(doomed, dirName, 'killed', 'open-and-removed');
  await writeFile(victim, 'orphan');
  const fh = await open(victim, 'r');
  t.equal((await sh(`rm ${q(victim)}`)).code, 0);
  t.equal((await readdir(server)).filter((n) => n.startsWith('.fuse_hidden')).length, 1, 'hidden on the server while open');
  const pids = await daemonOf(doomed);
  t.equal(pids.length, 1, 'the daemon of the second mount');
  process.kill(pids[0]!, 'SIGKILL');
  for (let i = 0; i < 100 && (await daemonOf(doomed)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  await fh.close().catch(() => {});
  await sh(`fusermount -uz ${q(doomed)}`);
  await unmount(doomed);
  t.equal((await readdir(server)).filter((n) => n.startsWith('.fuse_hidden')).length, 1, 'the dead daemon left it behind');
  await new Promise((r) => setTimeout(r, 1100)); // past actimeo: the next listing is read from the server
  t.same(await lsA(dir), ['keep'], 'the other mount never shows it');
  t.same(await serverNames(server, ['keep']), ['keep'], 'and its listing deleted it');
});

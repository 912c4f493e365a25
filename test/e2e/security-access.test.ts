/**
 * Who may use a mount. Run as root (the mounting user); the other user is
 * `nobody`, driven with runuser(1).
 *
 * - Default (no allow_other): the kernel lets only the mounting user in;
 *   nobody gets EACCES on everything, whatever the modes say.
 * - allow_other: others are let in, with default_permissions: the kernel
 *   checks uid=, gid=, file_mode=, dir_mode= like a local file system.
 * - As root, allow_other needs no `user_allow_other` in /etc/fuse.conf.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { mountShare, unmount } from '../helpers/mount.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);

if (process.getuid?.() !== 0) {
  t.fail('these tests mount as root and switch to nobody with runuser; run them as root');
  process.exit(1);
}

const samba = await startSamba();
t.teardown(() => samba.stop());

const top = `access-${process.pid}`;
await mkdir(path.join(samba.sharePath, top, 'sub'), { recursive: true });
await writeFile(path.join(samba.sharePath, top, 'file.txt'), 'top secret-ish\n');
await writeFile(path.join(samba.sharePath, top, 'sub', 'inner.txt'), 'inner\n');
t.teardown(() => rm(path.join(samba.sharePath, top), { recursive: true, force: true }));

const fuseConf = await readFile('/etc/fuse.conf', 'utf8').catch(() => '');
const userAllowOther = /^\s*user_allow_other\b/m.test(fuseConf);
t.comment(`/etc/fuse.conf user_allow_other: ${userAllowOther ? 'enabled' : 'not enabled'}`);

/** Run a shell command as nobody; resolves with its status and stderr. */
async function asNobody(cmd: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('runuser', ['-u', 'nobody', '--', 'sh', '-c', cmd], { timeout: 20000 });
    return { ok: true, stdout, stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** `cmd` as nobody fails with EACCES ("Permission denied"). */
async function denied(t: Test, cmd: string, what: string): Promise<void> {
  const r = await asNobody(cmd);
  t.notOk(r.ok, `${what}: fails`);
  t.match(r.stderr, /Permission denied/, `${what}: Permission denied (${r.stderr.trim()})`);
}

async function allowed(t: Test, cmd: string, what: string): Promise<string> {
  const r = await asNobody(cmd);
  t.ok(r.ok, `${what}: works ${r.stderr.trim()}`);
  return r.stdout;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

t.test('default: only the mounting user', async (t) => {
  const mnt = await mountShare(samba, 'test', ['file_mode=0777,dir_mode=0777']);
  t.teardown(() => unmount(mnt));
  const dir = path.join(mnt, top);
  t.equal(await readFile(path.join(dir, 'file.txt'), 'utf8'), 'top secret-ish\n', 'root reads');
  t.equal(((await stat(dir)).mode & 0o777), 0o777, 'modes would let anyone in');
  await denied(t, `ls ${q(mnt)}`, 'nobody: ls of the mount root');
  await denied(t, `stat ${q(dir)}`, 'nobody: stat');
  await denied(t, `cat ${q(path.join(dir, 'file.txt'))}`, 'nobody: read');
  await denied(t, `echo x > ${q(path.join(dir, 'new.txt'))}`, 'nobody: create');
  await t.rejects(stat(path.join(dir, 'new.txt')), { code: 'ENOENT' }, 'nothing was created');
});

t.test('allow_other, uid=0, gid=0, file_mode=0640, dir_mode=0750: nobody can neither list nor read', async (t) => {
  const mnt = await mountShare(samba, 'test', ['allow_other,uid=0,gid=0,file_mode=0640,dir_mode=0750']);
  t.teardown(() => unmount(mnt));
  const dir = path.join(mnt, top);
  const st = await stat(dir);
  t.match({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { uid: 0, gid: 0, mode: 0o750 }, 'directory attributes from uid/gid/dir_mode');
  const fst = await stat(path.join(dir, 'file.txt'));
  t.equal(fst.mode & 0o7777, 0o640, 'file mode from file_mode');
  t.equal(await readFile(path.join(dir, 'file.txt'), 'utf8'), 'top secret-ish\n', 'root still reads');
  await denied(t, `ls ${q(mnt)}`, 'nobody: ls of the mount root');
  await denied(t, `ls ${q(dir)}`, 'nobody: ls of a directory');
  await denied(t, `cat ${q(path.join(dir, 'file.txt'))}`, 'nobody: read');
  await denied(t, `cat ${q(path.join(dir, 'sub', 'inner.txt'))}`, 'nobody: read deeper');
});

t.test('allow_other, uid=0, gid=0, file_mode=0644, dir_mode=0755: nobody reads but cannot write', async (t) => {
  const mnt = await mountShare(samba, 'test', ['allow_other,uid=0,gid=0,file_mode=0644,dir_mode=0755']);
  t.teardown(() => unmount(mnt));
  const dir = path.join(mnt, top);
  const file = path.join(dir, 'file.txt');
  const listing = await allowed(t, `ls ${q(dir)}`, 'nobody: ls');
  t.same(listing.split('\n').filter((l) => l).sort(), ['file.txt', 'sub'], 'nobody sees the entries');
  t.equal(await allowed(t, `cat ${q(file)}`, 'nobody: read'), 'top secret-ish\n', 'nobody reads the content');
  await denied(t, `echo overwritten > ${q(file)}`, 'nobody: overwrite a file');
  await denied(t, `echo more >> ${q(file)}`, 'nobody: append');
  await denied(t, `echo x > ${q(path.join(dir, 'new.txt'))}`, 'nobody: create a file');
  await denied(t, `mkdir ${q(path.join(dir, 'newdir'))}`, 'nobody: mkdir');
  await denied(t, `rm -f ${q(path.join(dir, 'sub', 'inner.txt'))}`, 'nobody: unlink');
  await denied(t, `mv ${q(file)} ${q(path.join(dir, 'renamed.txt'))}`, 'nobody: rename');
  await denied(t, `truncate -s 0 ${q(file)}`, 'nobody: truncate');
  const ch = await asNobody(`chmod 0666 ${q(file)}`);
  t.notOk(ch.ok, 'nobody: chmod fails');
  t.match(ch.stderr, /Operation not permitted/, 'nobody: chmod of a file it does not own is EPERM, as locally');
  t.equal(await readFile(path.join(samba.sharePath, top, 'file.txt'), 'utf8'), 'top secret-ish\n', 'the file on the server is unchanged');
  await t.rejects(stat(path.join(samba.sharePath, top, 'new.txt')), { code: 'ENOENT' }, 'nothing created on the server');
  t.ok(await stat(path.join(samba.sharePath, top, 'sub', 'inner.txt')), 'nothing removed on the server');
  // Root (the owner) still writes.
  await writeFile(path.join(dir, 'by-root.txt'), 'root\n');
  t.equal(await readFile(path.join(samba.sharePath, top, 'by-root.txt'), 'utf8'), 'root\n', 'root writes');
  await rm(path.join(dir, 'by-root.txt'));
});

t.test('allow_other, uid=nobody, file_mode=0600, dir_mode=0700: the owner named by uid= gets in', async (t) => {
  const mnt = await mountShare(samba, 'test', ['allow_other,uid=nobody,gid=0,file_mode=0600,dir_mode=0700']);
  t.teardown(() => unmount(mnt));
  const dir = path.join(mnt, top);
  const st = await stat(dir);
  t.equal(st.uid, 65534, 'uid=nobody resolved to 65534');
  t.equal(await allowed(t, `cat ${q(path.join(dir, 'file.txt'))}`, 'nobody (owner): read'), 'top secret-ish\n');
  await allowed(t, `echo by-nobody > ${q(path.join(dir, 'nobody.txt'))}`, 'nobody (owner): create');
  t.equal(await readFile(path.join(samba.sharePath, top, 'nobody.txt'), 'utf8'), 'by-nobody\n', 'written to the server');
  await allowed(t, `rm ${q(path.join(dir, 'nobody.txt'))}`, 'nobody (owner): unlink');
});

t.test('allow_other as root works without user_allow_other in /etc/fuse.conf', async (t) => {
  const mnt = await mountShare(samba, 'test', ['allow_other']);
  t.teardown(() => unmount(mnt));
  t.comment(userAllowOther ? 'user_allow_other is set here, so this only shows the mount works' : 'user_allow_other is not set and the mount succeeded');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const line = info.split('\n').find((l) => l.split(' ')[4] === mnt) ?? '';
  t.match(line, /allow_other/, `kernel mount options include allow_other: ${line}`);
  t.match(line, /default_permissions/, 'and default_permissions');
  t.equal((await stat(mnt)).mode & 0o777, 0o750, 'allow_other without dir_mode=: 0750');
  await denied(t, `ls ${q(mnt)}`, 'nobody: ls with the allow_other default modes');
});

/**
 * File modes through the CLI mount (issue 7.6, 8.3). Run as root; the other
 * local user is `nobody`, driven with runuser(1).
 *
 * - modefromsid: chmod stores the mode in the file's security descriptor; it
 *   reads back, survives a remount, and a second mount sees it in getattr and
 *   in listings. What the server cannot keep (Samba: setuid/setgid/sticky) is
 *   EPERM, and the mode stays.
 * - without it: only the write bits of a file can change (READONLY). Under
 *   allow_other any other chmod is EPERM and the mode stays; on a mount only
 *   its user reaches it is accepted and the rest dropped, as mount.cifs does,
 *   so `rsync -a` and `cp -a` of files of any mode succeed.
 * - allow_other: file_mode/dir_mode default to 0750; a warning when the given
 *   modes let every local user read; with modefromsid, `chmod 600` really
 *   keeps other users out.
 * - `ls -l` of 1000 files with and without modefromsid (figures in comments).
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeMountPoint, mountShare, runCli, unmount } from '../helpers/mount.js';
import { localTempDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);

if (process.getuid?.() !== 0) {
  t.fail('these tests mount as root and switch to nobody with runuser; run them as root');
  process.exit(1);
}

const samba = await startSamba();
t.teardown(() => samba.stop());

const top = `modes-${process.pid}`;
const serverTop = path.join(samba.sharePath, top);
await mkdir(serverTop, { recursive: true });
t.teardown(() => rm(serverTop, { recursive: true, force: true }));

const perm = async (p: string) => (await stat(p)).mode & 0o7777;
const oct = (m: number) => '0' + m.toString(8);

/** chmod that resolves to the error code ('' for success). */
async function chmodCode(p: string, mode: number): Promise<string> {
  try {
    await chmod(p, mode);
    return '';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'error';
  }
}

async function asNobody(cmd: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    const { stderr } = await run('runuser', ['-u', 'nobody', '--', 'sh', '-c', cmd], { timeout: 20000 });
    return { ok: true, stderr };
  } catch (e) {
    return { ok: false, stderr: (e as { stderr?: string }).stderr ?? '' };
  }
}

async function mounted(t: Test, opts: string[]): Promise<string> {
  const mnt = await mountShare(samba, 'test', opts);
  t.teardown(() => unmount(mnt));
  return mnt;
}

t.test('modefromsid: chmod 755 then 644 reads back 644, after a remount and on a second mount', async (t) => {
  const a = await mountShare(samba, 'test', ['modefromsid']);
  t.teardown(() => unmount(a));
  const f = path.join(a, top, 'f.txt');
  await writeFile(f, 'data\n');
  t.equal(await chmodCode(f, 0o755), '', 'chmod 755');
  t.equal(oct(await perm(f)), '0755');
  t.equal(await chmodCode(f, 0o644), '', 'chmod 644');
  t.equal(oct(await perm(f)), '0644', 'reads back 644 (not 755, not file_mode)');
  const d = path.join(a, top, 'dir');
  await mkdir(d);
  t.equal(await chmodCode(d, 0o700), '', 'chmod 700 on a directory');
  t.equal(oct(await perm(d)), '0700');
  const b = await mounted(t, ['modefromsid']);
  t.equal(oct(await perm(path.join(b, top, 'f.txt'))), '0644', 'a second mount sees 644');
  t.equal(oct(await perm(path.join(b, top, 'dir'))), '0700', 'and the directory 0700');
  const ls = await sh(`ls -l ${q(path.join(b, top))}`);
  t.match(ls.stdout, /^-rw-r--r-- .* f\.txt$/m, 'ls -l on the second mount lists -rw-r--r--');
  t.match(ls.stdout, /^drwx------ .* dir$/m, 'and drwx------');
  await unmount(a);
  const again = await mounted(t, ['modefromsid']);
  t.equal(oct(await perm(path.join(again, top, 'f.txt'))), '0644', 'survives a remount');
  // Samba keeps the rwx bits (mapped onto the file's POSIX mode) but no S-1-5-88-3 ACE.
  t.equal(await chmodCode(path.join(again, top, 'f.txt'), 0o4755), 'EPERM', 'chmod 4755: the server cannot keep setuid: EPERM');
  t.equal(oct(await perm(path.join(again, top, 'f.txt'))), '0644', 'and the mode stays');
  t.equal((await stat(path.join(serverTop, 'f.txt'))).mode & 0o700, 0o600, 'on the server the owner bits are rw-');
});

t.test('modefromsid: new files and directories get the mode they were created with', async (t) => {
  const mnt = await mounted(t, ['modefromsid']);
  const d = path.join(mnt, top);
  const r = await sh(`umask 077 && echo secret > new.key && mkdir private && umask 022 && echo open > open.txt && mkdir pub`, { cwd: d });
  t.equal(r.code, 0, r.stderr);
  t.equal(oct(await perm(path.join(d, 'new.key'))), '0600', 'umask 077: a 0600 file');
  t.equal(oct(await perm(path.join(d, 'private'))), '0700', 'and a 0700 directory');
  t.equal(oct(await perm(path.join(d, 'open.txt'))), '0644', 'umask 022: 0644');
  t.equal(oct(await perm(path.join(d, 'pub'))), '0755', 'and 0755');
  // (The group bits of st_mode there are the mask of the POSIX ACL Samba writes, not the group's rights.)
  t.equal((await stat(path.join(serverTop, 'new.key'))).mode & 0o007, 0, 'on the server too: nothing for others');
});

t.test('allow_other without modefromsid: chmod 600 is EPERM and the mode stays; write bits toggle READONLY', async (t) => {
  const mnt = await mounted(t, ['allow_other,uid=0,gid=0,file_mode=0750,dir_mode=0750']);
  const f = path.join(mnt, top, 'plain.txt');
  await writeFile(f, 'plain\n');
  t.equal(oct(await perm(f)), '0750');
  t.equal(await chmodCode(f, 0o600), 'EPERM', 'chmod 600: EPERM');
  t.equal(oct(await perm(f)), '0750', 'mode stays 0750');
  const r = await sh(`chmod 644 ${q(f)}`);
  t.not(r.code, 0, 'chmod(1) fails');
  t.match(r.stderr, /Operation not permitted/, r.stderr.trim());
  t.equal(await chmodCode(f, 0o550), '', 'chmod a-w (file_mode without write bits)');
  t.equal(oct(await perm(f)), '0550');
  t.equal(await chmodCode(f, 0o750), '', 'chmod back to file_mode');
  t.equal(oct(await perm(f)), '0750');
  t.equal(await chmodCode(path.join(mnt, top), 0o700), 'EPERM', 'a directory: only dir_mode');
  t.equal(await chmodCode(path.join(mnt, top), 0o750), '', 'dir_mode itself is fine');
});

t.test('a mount only its user reaches, without modefromsid: chmod as mount.cifs; rsync -a and cp -a of 0644 files succeed', async (t) => {
  const mnt = await mounted(t, ['file_mode=0755,dir_mode=0755']);
  const f = path.join(mnt, top, 'single.txt');
  await writeFile(f, 'single\n');
  t.equal(await chmodCode(f, 0o600), '', 'chmod 600: accepted');
  t.equal(oct(await perm(f)), '0755', 'the mode shown stays file_mode');
  t.equal(await chmodCode(f, 0o444), '', 'chmod 444: accepted');
  t.equal(oct(await perm(f)), '0555', 'no write bit: READONLY, shown without write bits');
  await t.rejects(writeFile(f, 'x'), { code: 'EACCES' }, 'READONLY: writes refused');
  t.equal(await chmodCode(f, 0o644), '', 'chmod 644: a write bit clears READONLY');
  t.equal(oct(await perm(f)), '0755');
  t.equal(await chmodCode(path.join(mnt, top), 0o700), '', 'a directory: accepted');
  t.equal(oct(await perm(path.join(mnt, top))), '0755', 'and shows dir_mode');

  const src = await localTempDir(t, 'smbfuse-modes-');
  for (let i = 0; i < 5; i++) {
    await writeFile(path.join(src, `m${i}.txt`), `mode ${i}\n`);
    await chmod(path.join(src, `m${i}.txt`), 0o644);
  }
  await writeFile(path.join(src, 'private.key'), 'k\n');
  await chmod(path.join(src, 'private.key'), 0o600);
  const viaRsync = path.join(mnt, top, 'rsync-modes');
  const r = await sh(`rsync -a ${q(src + '/')} ${q(viaRsync + '/')}`);
  t.equal(r.code, 0, `rsync -a: exit 0 ${r.stderr}`);
  const viaCp = path.join(mnt, top, 'cp-modes');
  const c = await sh(`cp -a ${q(src)} ${q(viaCp)}`);
  t.equal(c.code, 0, `cp -a: exit 0 ${c.stderr}`);
  for (const name of ['m0.txt', 'm4.txt', 'private.key']) {
    const want = await readFile(path.join(src, name), 'utf8');
    t.equal(await readFile(path.join(serverTop, 'rsync-modes', name), 'utf8'), want, `rsync put ${name} on the server`);
    t.equal(await readFile(path.join(serverTop, 'cp-modes', name), 'utf8'), want, `cp put ${name} on the server`);
  }
});

t.test('allow_other: 0750 by default, a warning when every local user may read', async (t) => {
  await writeFile(path.join(serverTop, 'shared.txt'), 'shared\n');
  const quiet = await makeMountPoint();
  const base = `port=${samba.port},username=${samba.user},password=${samba.pass},allow_other`;
  const r1 = await runCli([`//${samba.host}/test`, quiet, '-o', base]);
  t.equal(r1.code, 0, `mounted ${r1.stderr}`);
  t.teardown(() => unmount(quiet));
  t.equal(r1.stderr, '', 'no warning for the defaults');
  t.equal(oct(await perm(path.join(quiet, top, 'shared.txt'))), '0750', 'file 0750');
  t.equal(oct(await perm(path.join(quiet, top))), '0750', 'directory 0750');
  const denied = await asNobody(`cat ${q(path.join(quiet, top, 'shared.txt'))}`);
  t.notOk(denied.ok, 'nobody cannot read');
  t.match(denied.stderr, /Permission denied/);

  const open = await makeMountPoint();
  const r2 = await runCli([`//${samba.host}/test`, open, '-o', `${base},file_mode=0644,dir_mode=0755`]);
  t.equal(r2.code, 0, 'mounted');
  t.teardown(() => unmount(open));
  t.equal(r2.stderr, 'smbfuse: warning: allow_other with file_mode=0644,dir_mode=0755 lets every local user read every file\n', 'one warning line');
  t.ok((await asNobody(`cat ${q(path.join(open, top, 'shared.txt'))}`)).ok, 'as it says: nobody reads');
});

t.test('allow_other + modefromsid: chmod 600 secret.key keeps other local users out', async (t) => {
  const mnt = await mounted(t, ['allow_other,modefromsid,uid=0,gid=0,file_mode=0644,dir_mode=0755']);
  const key = path.join(mnt, top, 'secret.key');
  await writeFile(key, 'k3y\n');
  await chmod(key, 0o644);
  t.ok((await asNobody(`cat ${q(key)}`)).ok, '0644: nobody reads');
  t.equal(await chmodCode(key, 0o600), '', 'chmod 600');
  t.equal(oct(await perm(key)), '0600');
  const r = await asNobody(`cat ${q(key)}`);
  t.notOk(r.ok, '0600: nobody cannot read');
  t.match(r.stderr, /Permission denied/);
  t.equal(await readFile(key, 'utf8'), 'k3y\n', 'the owner still reads');
});

t.test('ls -l of 1000 files with and without modefromsid', async (t) => {
  const dir = path.join(serverTop, 'many');
  await mkdir(dir);
  for (let i = 0; i < 1000; i++) await writeFile(path.join(dir, `f${String(i).padStart(4, '0')}`), 'x');
  const times: Record<string, number> = {};
  for (const opt of ['modefromsid', 'cache=strict']) {
    const mnt = await mounted(t, [opt]);
    const r = await sh(`ls -l ${q(path.join(mnt, top, 'many'))} | wc -l`);
    t.equal(r.code, 0);
    t.equal(Number(r.stdout.trim()), 1001, `${opt}: 1000 entries and the total line`);
    times[opt] = r.ms;
  }
  t.comment(`ls -l of 1000 files: ${times['cache=strict']} ms without modefromsid, ${times['modefromsid']} ms with (one descriptor query per entry, 16 in flight)`);
});

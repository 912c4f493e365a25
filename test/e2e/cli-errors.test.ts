/**
 * Bad input at mount time: each case prints one clear line, exits non-zero
 * within 15 seconds, and leaves nothing mounted.
 */
import t, { type Test } from 'tap';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isMounted, makeMountPoint, mountShare, runCli, unmount } from '../helpers/mount.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const mnt = await makeMountPoint();
t.teardown(() => rm(mnt, { recursive: true, force: true }));
const base = (extra: string) => `port=${samba.port},username=${samba.user},password=${samba.pass}${extra}`;

async function expectFailure(t: Test, args: string[], pattern: RegExp, dir = mnt): Promise<void> {
  const r = await runCli(args);
  t.not(r.code, 0, 'non-zero exit');
  t.ok(r.ms < 15000, `failed within 15 s (${r.ms} ms)`);
  const lines = r.stderr.trim().split('\n').filter((l) => l.length > 0);
  t.equal(lines.length, 1, `one line of error: ${JSON.stringify(r.stderr)}`);
  t.match(lines[0] ?? '', pattern, 'the line says what went wrong');
  t.notMatch(r.stderr, new RegExp(samba.pass), 'the password is not echoed');
  t.equal(await isMounted(dir), false, 'nothing mounted');
}

t.test('wrong password', (t) => expectFailure(t, [samba.url, mnt, '-o', `port=${samba.port},username=${samba.user},password=not-it`], /login|logon|password|guest/i));
t.test('unknown user', (t) => expectFailure(t, [samba.url, mnt, '-o', `port=${samba.port},username=nosuchuser,password=x`], /login|logon|guest/i));
t.test('unreachable port', (t) => expectFailure(t, [samba.url, mnt, '-o', `port=1,username=a,password=b`], /connect|refused/i));
t.test('missing share', (t) => expectFailure(t, [`//127.0.0.1/no-such-share`, mnt, '-o', base('')], /share|BAD_NETWORK_NAME/i));
t.test('missing mount point', (t) => expectFailure(t, [samba.url, '/nonexistent/mnt', '-o', base('')], /mount ?point|no such/i));
t.test('mount point that is a file', async (t) => {
  const f = path.join(mnt, '..', `smbfuse-file-${process.pid}`);
  await writeFile(f, 'x');
  t.teardown(() => rm(f, { force: true }));
  await expectFailure(t, [samba.url, f, '-o', base('')], /directory/i, f);
});
t.test('unknown option', (t) => expectFailure(t, [samba.url, mnt, '-o', `frobnicate=1,${base('')}`], /frobnicate/));
// Right after password= an unknown item may be the rest of the password: not echoed.
t.test('unknown option after password=', (t) => expectFailure(t, [samba.url, mnt, '-o', base(',frobnicate=1')], /unknown option after password=/));
t.test('malformed option value', (t) => expectFailure(t, [samba.url, mnt, '-o', base(',rsize=lots')], /rsize/));
t.test('busy mount point', async (t) => {
  const busy = await mountShare(samba, 'test');
  t.teardown(() => unmount(busy));
  const r = await runCli([samba.url, busy, '-o', base('')]);
  t.not(r.code, 0, 'second mount on the same point is refused');
  t.match(r.stderr, /mount/i);
  t.equal(await isMounted(busy), true, 'the first mount is untouched');
  await mkdir(busy, { recursive: true }).catch(() => {});
});
t.test('SMB 2.x against a share that requires encryption says why', (t) =>
  expectFailure(t, [samba.urlFor('encrypted'), mnt, '-o', base(',vers=2.1')], /access denied.*encryption.*vers=3\.0/i));

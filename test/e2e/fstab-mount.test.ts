/**
 * smbfuse mounted the way Linux mounts other filesystems: `mount -t
 * fuse.smbfuse` and an fstab line (`mount -T FILE MOUNTPOINT`, so the real
 * /etc/fstab is never read or touched), both through util-linux mount and
 * Debian's /sbin/mount.fuse, with a credentials file and the fstab/systemd
 * options smbfuse must accept and ignore.
 *
 * mount(8) clears PATH before it runs a helper, and mount.fuse runs
 * `smbfuse` through /bin/sh, so the program is found only in the shell's
 * default path (/usr/local/sbin, /usr/local/bin, /usr/sbin, ...). The test
 * puts a launcher for this build there: in a private mount namespace, a
 * directory holding it is bind-mounted over /usr/local/sbin; where no mount
 * namespace can be made (a chroot), the launcher is created in
 * /usr/local/sbin for the test's duration, never replacing a file there.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { cliPath, daemonsFor, isMounted, makeMountPoint, runCli, unmount } from '../helpers/mount.js';
import { freshShareDir, localTempDir, q, sh, type ShResult } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const SYSTEM_BIN = '/usr/local/sbin';
const launcherText = `#!/bin/sh\nexec ${q(process.execPath)} ${q(cliPath)} "$@"\n`;

/** Whether this process may make a private mount namespace (not in a chroot). */
const canUnshare = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { timeout: 10_000 }).status === 0;

/**
 * Run `script` with bash where mount(8) finds the `smbfuse` launcher. The
 * script's mount of `mnt` is lazily unmounted on its way out, so a failed
 * assertion leaves nothing mounted.
 */
async function withLauncher(t: Test, mnt: string, script: string): Promise<ShResult> {
  const body = `trap 'umount -l ${q(mnt)} 2>/dev/null || true' EXIT\n${script}`;
  if (canUnshare) {
    const bin = await localTempDir(t, 'smbfuse-bin-');
    await writeFile(path.join(bin, 'smbfuse'), launcherText, { mode: 0o755 });
    const inner = `mount --bind ${q(bin)} ${SYSTEM_BIN}\n${body}`;
    return sh(`unshare --mount --propagation private bash -c ${q(inner)}`, { timeoutMs: 60_000 });
  }
  const launcher = path.join(SYSTEM_BIN, 'smbfuse');
  // 'wx': fails if the file exists, so an installed smbfuse is never replaced.
  await writeFile(launcher, launcherText, { mode: 0o755, flag: 'wx' });
  try {
    return await sh(body, { timeoutMs: 60_000 });
  } finally {
    await rm(launcher, { force: true });
  }
}

/** A credentials file (mode 0600) for the test user, with `password` (default: the right one). */
async function credentialsFile(t: Test, password = samba.pass): Promise<string> {
  const dir = await localTempDir(t, 'smbfuse-cred-');
  const file = path.join(dir, 'cred');
  await writeFile(file, `username=${samba.user}\npassword=${password}\n`);
  await chmod(file, 0o600);
  return file;
}

/** A mount point removed in teardown, after any daemon still serving it was stopped. */
async function mountPoint(t: Test): Promise<string> {
  const mnt = await makeMountPoint();
  t.teardown(async () => {
    for (const pid of await daemonsFor(mnt)) process.kill(pid, 'SIGTERM');
    await unmount(mnt);
  });
  return mnt;
}

/** Wait (bounded) until no smbfuse daemon serves `mnt`; true if none is left. */
async function daemonGone(mnt: string): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await daemonsFor(mnt)).length === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The mountinfo line of `mnt` as the script prints it: "TYPE SOURCE OPTIONS". */
const showMount = (mnt: string) => `awk -v m=${q(mnt)} '$5 == m { for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $6 }' /proc/self/mountinfo`;

t.test('mount -t fuse.smbfuse with a credentials file and fstab options', async (t) => {
  const dir = 'fstab-mount-t';
  const serverDir = await freshShareDir(t, samba.sharePath, dir);
  await writeFile(path.join(serverDir, 'from-server.txt'), 'written on the server\n');
  const cred = await credentialsFile(t);
  const mnt = await mountPoint(t);
  const unc = `//${samba.host}/test/${dir}`;
  const opts = `credentials=${cred},port=${samba.port},_netdev,nofail,noauto,x-systemd.automount,nosuid,nodev`;
  const r = await withLauncher(t, mnt, [
    'set -e',
    `mount -t fuse.smbfuse ${q(unc)} ${q(mnt)} -o ${q(opts)}`,
    `echo "MOUNT $(${showMount(mnt)})"`,
    `cat ${q(mnt)}/from-server.txt`,
    `echo 'written through the mount' > ${q(mnt)}/from-mount.txt`,
    `umount ${q(mnt)}`,
    `echo "AFTER [$(${showMount(mnt)})]"`,
  ].join('\n'));
  t.equal(r.code, 0, `the script ran: ${r.stderr}`);
  const mountLine = /^MOUNT (\S+) (\S+) (\S+)$/m.exec(r.stdout);
  t.ok(mountLine, `mounted: ${r.stdout}`);
  t.equal(mountLine?.[1], 'fuse.smbfuse', 'file system type');
  t.equal(mountLine?.[2], unc, 'source as given');
  const flags = (mountLine?.[3] ?? '').split(',');
  t.ok(flags.includes('nosuid') && flags.includes('nodev'), `nosuid and nodev reach the kernel: ${mountLine?.[3]}`);
  t.match(r.stdout, /^written on the server$/m, 'a file written on the server reads back');
  t.match(r.stdout, /^AFTER \[\]$/m, 'umount left nothing mounted');
  t.equal(await readFile(path.join(serverDir, 'from-mount.txt'), 'utf8').catch(() => ''), 'written through the mount\n', 'what was written reached the server by unmount');
  t.ok(await daemonGone(mnt), 'the daemon exited after umount');
  t.notOk(r.stderr.includes(samba.pass), 'no password on stderr');
});

t.test('an fstab line: mount -T FILE MOUNTPOINT', async (t) => {
  const dir = 'fstab-line';
  const serverDir = await freshShareDir(t, samba.sharePath, dir);
  await writeFile(path.join(serverDir, 'hello.txt'), 'hello from fstab\n');
  const cred = await credentialsFile(t);
  const mnt = await mountPoint(t);
  const fstabDir = await localTempDir(t, 'smbfuse-fstab-');
  const fstab = path.join(fstabDir, 'fstab');
  const unc = `//${samba.host}/test/${dir}`;
  const opts = `credentials=${cred},port=${samba.port},_netdev,nofail,noauto,x-systemd.automount,x-systemd.idle-timeout=60,comment=e2e,noexec,ro`;
  await writeFile(fstab, `# smbfuse e2e\n${unc} ${mnt} fuse.smbfuse ${opts} 0 0\n`);
  const r = await withLauncher(t, mnt, [
    'set -e',
    `mount -T ${q(fstab)} ${q(mnt)}`,
    `echo "MOUNT $(${showMount(mnt)})"`,
    `cat ${q(mnt)}/hello.txt`,
    `if touch ${q(mnt)}/new 2>/dev/null; then echo WROTE; else echo READONLY; fi`,
    `umount ${q(mnt)}`,
  ].join('\n'));
  t.equal(r.code, 0, `the script ran: ${r.stderr}`);
  const mountLine = /^MOUNT (\S+) (\S+) (\S+)$/m.exec(r.stdout);
  t.equal(mountLine?.[1], 'fuse.smbfuse', `mounted from the fstab line: ${r.stdout}`);
  const flags = (mountLine?.[3] ?? '').split(',');
  t.ok(flags.includes('noexec'), `noexec reaches the kernel: ${mountLine?.[3]}`);
  t.ok(flags.includes('ro'), `ro: ${mountLine?.[3]}`);
  t.match(r.stdout, /^hello from fstab$/m, 'the file reads back');
  t.match(r.stdout, /^READONLY$/m, 'ro holds');
  t.ok(await daemonGone(mnt), 'the daemon exited after umount');
});

t.test('mount -t fuse.smbfuse with a wrong password: one line from smbfuse, nothing mounted', async (t) => {
  const cred = await credentialsFile(t, 'Wrong-Secret-42');
  const mnt = await mountPoint(t);
  const r = await withLauncher(t, mnt, [
    `mount -t fuse.smbfuse //${samba.host}/test ${q(mnt)} -o ${q(`credentials=${cred},port=${samba.port},_netdev,nofail`)}`,
    'echo "STATUS $?"',
    `echo "AFTER [$(${showMount(mnt)})]"`,
  ].join('\n'));
  t.match(r.stdout, /^STATUS [1-9]\d*$/m, 'mount failed');
  t.match(r.stderr, /^smbfuse: \/\/127\.0\.0\.1\/test: login failed for user /m, `smbfuse's line: ${r.stderr}`);
  t.notOk(r.stderr.includes('Wrong-Secret-42'), 'the password is not echoed');
  t.match(r.stdout, /^AFTER \[\]$/m, 'nothing mounted');
  t.notOk(await isMounted(mnt));
});

t.test('--help and --version', async (t) => {
  const help = await runCli(['--help'], {}, 15_000);
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: smbfuse /);
  t.match(help.stdout, /^ {2}credentials=FILE, cred=/m);
  const version = await runCli(['--version'], {}, 15_000);
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.equal(version.stdout, `smbfuse ${pkg.version}\n`, 'the version of package.json');
  t.equal(version.code, 0);
});

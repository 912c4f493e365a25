/**
 * A machine without what FUSE needs: the CLI says in one line what to
 * install, before any network traffic, and exits non-zero without a stack
 * trace. libfuse is hidden by bind-mounting an empty file over it in a
 * private mount namespace (unshare -m); fusermount by a PATH without it.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { cliPath, isMounted, makeMountPoint, runCli } from '../helpers/mount.js';

/** The port of nothing: the CLI must fail before it would try to connect. */
const NO_SERVER = 'port=1,username=u,password=p';

t.test('fusermount missing: one line naming the package', async (t) => {
  const mnt = await makeMountPoint();
  t.teardown(() => rmdir(mnt));
  const r = await runCli(['//127.0.0.1/share', mnt, '-o', NO_SERVER], { PATH: '/nonexistent' });
  t.not(r.code, 0, 'non-zero exit');
  t.equal(r.stderr.trim(), 'smbfuse: fusermount is not installed (Debian/Ubuntu: apt-get install fuse)');
  t.notOk(await isMounted(mnt));
});

t.test('libfuse unusable: one line naming the package, no stack trace', async (t) => {
  const lib = realpathSync(execFileSync('sh', ['-c', "ldconfig -p | awk '/libfuse.so.2 /{print $NF; exit}'"], { encoding: 'utf8' }).trim());
  const mnt = await makeMountPoint();
  t.teardown(() => rmdir(mnt));
  const script = `mount --bind /dev/null '${lib}' && exec '${process.execPath}' '${cliPath}' //127.0.0.1/share '${mnt}' -o ${NO_SERVER}`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 30000 });
  t.not(r.status, 0, 'non-zero exit');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], /^smbfuse: libfuse 2 cannot be loaded \(.*libfuse\.so\.2.*\); reinstall it \(Debian\/Ubuntu: apt-get install --reinstall libfuse2\)$/);
  t.notOk(/\n\s+at /.test(r.stderr), 'no stack trace');
});

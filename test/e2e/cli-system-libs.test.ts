/**
 * A machine without what FUSE needs: the CLI says in one line what to
 * install, before any network traffic, and exits non-zero without a stack
 * trace. libfuse is replaced by an empty file that the dynamic loader finds
 * first (LD_LIBRARY_PATH); fusermount is hidden by a PATH without it. The
 * loader's "not installed" message is checked in test/unit/src/fuse-load.test.ts.
 */
import t from 'tap';
import { rmdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isMounted, makeMountPoint, runCli } from '../helpers/mount.js';
import { localTempDir } from '../helpers/rw.js';

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
  const libDir = await localTempDir(t, 'smbfuse-nolibfuse-');
  await writeFile(path.join(libDir, 'libfuse.so.2'), '');
  const mnt = await makeMountPoint();
  t.teardown(() => rmdir(mnt));
  const r = await runCli(['//127.0.0.1/share', mnt, '-o', NO_SERVER], { LD_LIBRARY_PATH: libDir });
  t.not(r.code, 0, 'non-zero exit');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], /^smbfuse: libfuse 2 cannot be loaded \(.*libfuse\.so\.2.*\); reinstall it \(Debian\/Ubuntu: apt-get install --reinstall libfuse2\)$/);
  t.notOk(/\n\s+at /.test(r.stderr), 'no stack trace');
  t.notOk(await isMounted(mnt));
});

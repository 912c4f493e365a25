/**
 * mount.ts: the libfuse option string, mountinfo parsing, and a real FUSE
 * mount of an in-memory tree (needs /dev/fuse and fusermount; skipped loudly
 * otherwise). Shell tools run asynchronously: a synchronous child would block
 * the event loop that serves the FUSE requests.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { SmbFs } from '../../../src/fs.js';
import { FakeTree } from '../../helpers/fake-tree.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { checkMountPoint, extraFuseOptions, fuseOptionString, isMountPoint, mountFuse, mountPoints, mountType } from '../../../src/mount.js';

const run = promisify(execFile);

t.test('option string', async (t) => {
  t.equal(fuseOptionString('', ['ro', 'big_writes']), '-oro,big_writes');
  t.equal(fuseOptionString('-omax_read=1048576,allow_other', ['ro', 'allow_other']), '-omax_read=1048576,allow_other,ro');
  t.equal(fuseOptionString('', []), '');
  t.throws(() => fuseOptionString('', ['x'.repeat(1100)]));
  const extra = extraFuseOptions({ unc: '//h/s,x', allowOther: true, actimeoMs: 1500, readOnly: true });
  t.ok(extra.includes('ro') && extra.includes('big_writes') && extra.includes('subtype=smbfuse'));
  t.ok(extra.includes('fsname=//h/s\\,x'), 'comma escaped');
  t.ok(extra.includes('attr_timeout=1.5'));
  t.ok(extra.includes('default_permissions'));
  t.notOk(extraFuseOptions({ unc: '//h/s', allowOther: false, actimeoMs: 0 }).includes('default_permissions'));
  const rw = extraFuseOptions({ unc: '//h/s', allowOther: false, actimeoMs: 0, readOnly: false, cache: 'none' });
  t.notOk(rw.includes('ro'), 'read-write mount');
  t.ok(rw.includes('direct_io') && !rw.includes('auto_cache'), 'cache=none: no kernel page cache');
  t.notOk(rw.includes('auto_unmount'), 'auto_unmount only when asked');
  t.ok(extraFuseOptions({ unc: '//h/s', allowOther: false, actimeoMs: 0, autoUnmount: true }).includes('auto_unmount'));
  t.ok(rw.includes('sync_read'), 'reads one at a time unless the binding orders short reads');
  t.notOk(extraFuseOptions({ unc: '//h/s', allowOther: false, actimeoMs: 0, ordersShortReads: true }).includes('sync_read'),
    'reads in flight together with the patched binding');
});

t.test('mountinfo', async (t) => {
  const text = '22 1 0:20 / / rw - ext4 /dev/sda1 rw\n'
    + '40 22 0:44 / /mnt/with\\040space rw,nosuid - fuse.smbfuse //h/s ro\n';
  t.same(mountPoints(text), ['/', '/mnt/with space']);
  t.ok(isMountPoint('/mnt/with space', () => text));
  t.notOk(isMountPoint('/mnt', () => text));
  t.equal(mountType('/mnt/with space', () => text), 'fuse.smbfuse');
  t.equal(mountType('/', () => text), 'ext4');
  t.equal(mountType('/mnt', () => text), null);
  const optional = '41 22 0:45 / /m rw shared:7 master:1 - fuse fuse-null rw\n42 41 0:46 / /m rw - fuse.smbfuse //h/s rw\n';
  t.equal(mountType('/m', () => optional), 'fuse.smbfuse', 'optional fields skipped; the topmost mount counts');
  t.match(checkMountPoint('/definitely/not/here'), /does not exist/);
  t.equal(checkMountPoint(tmpdir()), null);
});

function haveFuse(): string | null {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/fuse is not usable';
  }
  return null;
}

t.test('a real mount of an in-memory tree', { skip: haveFuse() ?? false }, async (t) => {
  const data = Buffer.from('hello through FUSE\n');
  const tree = new FakeTree();
  tree.add('', null);
  tree.add('d', null);
  tree.add('d\\hello.txt', data);
  tree.add('a\uf022b', Buffer.alloc(0));
  tree.fs = { blockSize: 4096, totalBlocks: 100, freeBlocks: 50, availBlocks: 40 };
  const cache = new PageCache({ maxBytes: 8 << 20 });
  const fs = new SmbFs(tree, { uid: 0, gid: 0, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, readOnly: true },
    (key, size, ops) => new NetfsInode({ key, size, ops, cache, writeOps: ops }));
  const mnt = mkdtempSync(join(tmpdir(), 'smbfuse-mount-'));
  let gone = false;
  const m = await mountFuse(makeFuseOps(fs, { timeoutMs: 5000 }),
    { mountpoint: mnt, unc: '//fake/share', allowOther: false, debug: false, actimeoMs: 1000, opTimeoutMs: 10000, readOnly: true },
    () => { gone = true; });
  t.teardown(async () => {
    await m.unmount();
    // fuse-native keeps a libuv handle referenced once libfuse's loop ended
    // (main.ts exits explicitly for the same reason): end this test process.
    setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
    try { rmdirSync(mnt); } catch { /* still busy */ }
  });
  t.ok(isMountPoint(mnt), 'mounted');
  const line = (await run('grep', [mnt, '/proc/self/mountinfo'])).stdout;
  t.match(line, /fuse\.smbfuse \/\/fake\/share ro/, 'fsname, subtype and ro reached libfuse');
  t.same((await run('ls', ['-a', mnt])).stdout.split('\n').filter(Boolean).sort(), ['.', '..', 'a:b', 'd']);
  t.equal((await run('cat', [join(mnt, 'd/hello.txt')])).stdout, data.toString());
  t.match((await run('stat', ['-c', '%a %s', join(mnt, 'd/hello.txt')])).stdout, /^644 19/);
  const w = await run('sh', ['-c', `(echo x > ${join(mnt, 'd/new')}) 2>&1; echo $?`]);
  t.match(w.stdout, /Read-only file system/);
  t.match((await run('df', ['-B4096', mnt])).stdout, /100\s+50\s+40/);
  await run('fusermount', ['-u', mnt]);
  for (let i = 0; i < 30 && !gone; i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(gone, 'external unmount noticed');
});

/**
 * kernel-readahead.ts: which window a mount asks for, the device found in
 * mountinfo, and the sysfs write (over fake files: raised, never lowered,
 * and no throw when sysfs refuses).
 */
import t from 'tap';
import { KERNEL_READAHEAD_MAX, kernelReadaheadFor, raiseKernelReadahead, type ReadaheadFiles } from '../../../src/kernel-readahead.js';
import { mountDevice } from '../../../src/mount.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '40 22 0:40 / /mnt/a\\040b rw,nosuid,nodev,relatime shared:20 - fuse.smbfuse //srv/share rw,user_id=0,group_id=0',
  '41 22 0:41 / /mnt/c rw - fuse.smbfuse //srv/other rw',
  '42 41 0:44 / /mnt/c rw - fuse.smbfuse //srv/over rw',
].join('\n');

t.test('the window follows readahead=, up to 4 MiB, never below the kernel default', async (t) => {
  t.equal(kernelReadaheadFor({ readahead: 8 << 20, cache: 'strict' }), KERNEL_READAHEAD_MAX, 'default readahead: 4 MiB');
  t.equal(kernelReadaheadFor({ readahead: 1 << 20, cache: 'loose' }), 1 << 20, 'readahead=1M: 1 MiB');
  t.equal(kernelReadaheadFor({ readahead: 128 << 10, cache: 'strict' }), null, 'readahead=128K: the kernel default stays');
  t.equal(kernelReadaheadFor({ readahead: 0, cache: 'strict' }), null, 'readahead=0: the kernel default stays');
  t.equal(kernelReadaheadFor({ readahead: 8 << 20, cache: 'none' }), null, 'cache=none (direct_io): nothing to raise');
});

t.test('mountDevice: the topmost mount on the path, escapes decoded', async (t) => {
  t.equal(mountDevice('/mnt/a b', () => MOUNTINFO), '0:40');
  t.equal(mountDevice('/mnt/c', () => MOUNTINFO), '0:44', 'the mount on top');
  t.equal(mountDevice('/mnt/none', () => MOUNTINFO), null);
});

function fakeFiles(start: string, opts: { failWrite?: string } = {}): ReadaheadFiles & { files: Map<string, string> } {
  const files = new Map([['/sys/class/bdi/0:40/read_ahead_kb', start]]);
  return {
    files,
    mountinfo: () => MOUNTINFO,
    read: (f) => {
      const v = files.get(f);
      if (v === undefined) throw Object.assign(new Error(`no ${f}`), { code: 'ENOENT' });
      return v;
    },
    write: (f, text) => {
      if (opts.failWrite) throw Object.assign(new Error(opts.failWrite), { code: opts.failWrite });
      files.set(f, text);
    },
  };
}

t.test('raiseKernelReadahead writes read_ahead_kb of the mount only upwards', async (t) => {
  const f = fakeFiles('128\n');
  t.match(raiseKernelReadahead('/mnt/a b', 4 << 20, f), /128 KiB -> 4096 KiB/);
  t.equal(f.files.get('/sys/class/bdi/0:40/read_ahead_kb'), '4096\n', 'raised');

  const high = fakeFiles('8192\n');
  t.match(raiseKernelReadahead('/mnt/a b', 4 << 20, high), /8192 KiB already/);
  t.equal(high.files.get('/sys/class/bdi/0:40/read_ahead_kb'), '8192\n', 'a bigger window set by the admin stays');

  const denied = fakeFiles('128\n', { failWrite: 'EACCES' });
  t.match(raiseKernelReadahead('/mnt/a b', 4 << 20, denied), /left as it is \(EACCES\)/, 'not root: no throw');
  t.equal(denied.files.get('/sys/class/bdi/0:40/read_ahead_kb'), '128\n');

  t.match(raiseKernelReadahead('/mnt/none', 4 << 20, fakeFiles('128\n')), /not found in mountinfo/);
  t.match(raiseKernelReadahead('/mnt/c', 4 << 20, fakeFiles('128\n')), /left as it is \(ENOENT\)/, 'no sysfs entry: no throw');
});

t.test('afterInit: true once a statfs of the mount point is answered, false when it fails', async (t) => {
  const { afterInit } = await import('../../../src/kernel-readahead.js');
  t.equal(await afterInit(process.cwd()), true, 'an answered statfs');
  t.equal(await afterInit('/nonexistent/smbfuse-mount'), false, 'a failed statfs');
});

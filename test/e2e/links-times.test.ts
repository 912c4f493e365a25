/**
 * Link counts, inode numbers and times through the CLI mount: `ln` gives
 * both names the server's NumberOfLinks and one inode number (the server's
 * file id, mounted with use_ino) as stat, find -samefile and tar expect;
 * `tar x` restores mtimes (its atime is UTIME_OMIT); `touch -m` and
 * `touch -a` change only their own time; times keep SMB's 100 ns. (The
 * pax format keeps sub-second mtimes in the archive; GNU's default does not.)
 */
import t from 'tap';
import { mkdir, open, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { freshShareDir, localTempDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-links-times';
const serverDir = await freshShareDir(t, samba.sharePath, dirName, { create: false });
const mnt = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mnt));
const top = path.join(mnt, dirName);
await mkdir(top);

/** `stat -c FORMAT` of each path, one line each. */
async function statC(format: string, ...paths: string[]): Promise<string[]> {
  const r = await sh(`stat -c ${q(format)} ${paths.map(q).join(' ')}`);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n');
}

/** What `get` returns once it equals `want`, or after 3 s (bounded) whatever it returns then. */
async function settled<T>(get: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const v = await get();
    if (JSON.stringify(v) === JSON.stringify(want) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('ln a b: two links on both names, one inode number', async (t) => {
  const a = path.join(top, 'ln-a');
  const b = path.join(top, 'ln-b');
  await writeFile(a, 'linked');
  t.same(await statC('%h', a), ['1'], 'one link, and the kernel holds that for actimeo');
  // libfuse2 makes the new name a kernel inode of its own: the binding tells
  // the kernel the old name's attributes are stale before answering the LINK.
  const r = await sh(`ln ${q(a)} ${q(b)} && stat -c %h ${q(a)} ${q(b)}`);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['2', '2'], 'right after ln, stat -c %h says 2 for both names');
  const [ia, ib] = await statC('%i', a, b);
  t.equal(ia, ib, 'same inode number');
  t.not(ia, '0', 'a real inode number');
  t.equal((await sh(`ls -l ${q(top)} >/dev/null`)).code, 0);
  t.same(await statC('%h', a, b), ['2', '2'], 'still 2 after a listing (entries carry no link count)');
  const found = await sh(`find ${q(top)} -samefile ${q(a)} | sort`);
  t.same(found.stdout.trim().split('\n'), [a, b], 'find -samefile finds both names');
  const tv = await sh(`cd ${q(top)} && tar cf - ln-a ln-b | tar tvf -`);
  t.match(tv.stdout, /ln-b link to ln-a/, 'tar stores the second name as a hard link');
  const du = await sh(`du -s --block-size=1 --apparent-size ${q(a)} ${q(b)} | awk '{s+=$1} END {print s}'`);
  t.equal(du.stdout.trim(), '6', 'du counts the shared file once');
  t.equal((await sh(`rm ${q(b)}`)).code, 0);
  t.same(await settled(() => statC('%h', a), ['1']), ['1'], 'back to 1 after rm of the other name, within actimeo');
});

t.test('ln of a file made here and still open: both names show one inode number at once', async (t) => {
  // Its CREATE waits for the close (a directory made here), and until the
  // server names it the kernel was given a number of its own (sqlite needs
  // it kept while open); a second name must not show another.
  const a = path.join(top, 'open-a');
  const b = path.join(top, 'open-b');
  const fh = await open(a, 'w');
  try {
    await fh.write('open');
    const r = await sh(`ln ${q(a)} ${q(b)} && stat -c '%i %h' ${q(a)} ${q(b)}`);
    t.equal(r.code, 0, r.stderr);
    const [sa, sb] = r.stdout.trim().split('\n');
    t.equal(sa, sb, 'stat: the same inode number and link count for both names');
    t.match(sa ?? '', / 2$/, 'two links');
    t.equal(String((await fh.stat({ bigint: true })).ino), sa?.split(' ')[0], 'fstat of the open descriptor agrees');
  } finally {
    await fh.close();
  }
  t.same(await statC('%i', a, b).then((v) => v[0] === v[1]), true, 'still one number after the close');
});

t.test('inode numbers are the server file ids and differ between files', async (t) => {
  const x = path.join(top, 'ino-x');
  const y = path.join(top, 'ino-y');
  await writeFile(x, 'x');
  await writeFile(y, 'y');
  const [ix, iy] = await statC('%i', x, y);
  t.not(ix, iy, 'two files, two numbers');
  const ls = await sh(`ls -i ${q(top)}`);
  t.match(ls.stdout, new RegExp(`\\b${ix} ino-x\\b`), 'readdir gives the same number as stat');
});

t.test('tar x restores mtimes', async (t) => {
  const src = await localTempDir(t, 'smbfuse-tar-src-');
  await sh(`mkdir -p ${q(src)}/tree/sub && printf one > ${q(src)}/tree/one && printf two > ${q(src)}/tree/sub/two`);
  const utc = { env: { TZ: 'UTC' } };
  await sh(`touch -m -d '2001-02-03 04:05:06.5' ${q(src)}/tree/one && touch -m -d '1999-12-31 23:59:59' ${q(src)}/tree/sub/two ${q(src)}/tree/sub`, utc);
  // Modes are not what this test is about: the archive holds the mount's file_mode and dir_mode
  // (0755), so tar's chmod changes nothing.
  await sh(`chmod -R 0755 ${q(src)}/tree`);
  const x = await sh(`tar --format=posix -cf - -C ${q(src)} tree | tar xf - -C ${q(top)}`);
  t.equal(x.code, 0, x.stderr);
  const got = await statC('%.9Y', ...['tree/one', 'tree/sub/two', 'tree/sub'].map((p) => path.join(top, p)));
  const want = [Date.UTC(2001, 1, 3, 4, 5, 6) / 1000 + '.500000000', Date.UTC(1999, 11, 31, 23, 59, 59) / 1000 + '.000000000'];
  t.same(got, [want[0], want[1], want[1]], 'every mtime as in the archive, sub-second part too');
  const server = await statC('%Y', path.join(serverDir, 'tree/one'));
  t.equal(server[0], String(Date.UTC(2001, 1, 3, 4, 5, 6) / 1000), 'and on the server');
});

t.test('touch -m alone changes only the mtime', async (t) => {
  const f = path.join(top, 'touch-m');
  await writeFile(f, 'm');
  await sh(`touch -d '2010-01-01 00:00:00' ${q(f)}`);
  const [atime] = await statC('%X', f);
  t.equal((await sh(`touch -m -d '2012-06-01 12:00:00' ${q(f)}`)).code, 0);
  const [x, y] = (await statC('%X %y', f))[0]!.split(' ');
  t.equal(x, atime, 'atime unchanged');
  t.equal(y, '2012-06-01', 'mtime set');
});

t.test('touch -a alone changes only the atime', async (t) => {
  const f = path.join(top, 'touch-a');
  await writeFile(f, 'a');
  await sh(`touch -d '2010-01-01 00:00:00' ${q(f)}`);
  const [mtime] = await statC('%Y', f);
  t.equal((await sh(`touch -a -d '2013-07-01 12:00:00' ${q(f)}`)).code, 0);
  const [y, x] = (await statC('%Y %x', f))[0]!.split(' ');
  t.equal(y, mtime, 'mtime unchanged');
  t.equal(x, '2013-07-01', 'atime set');
});

t.test('sub-second times round-trip to 100 ns', async (t) => {
  const f = path.join(top, 'subsecond');
  await writeFile(f, 's');
  t.equal((await sh(`TZ=UTC touch -d '2020-01-01 00:00:00.123456789' ${q(f)}`)).code, 0);
  const env = { TZ: 'UTC' };
  const r = await sh(`stat -c '%x|%y' ${q(f)}`, { env });
  t.equal(r.stdout.trim(), '2020-01-01 00:00:00.123456700 +0000|2020-01-01 00:00:00.123456700 +0000', 'atime and mtime to 100 ns');
  const s = await sh(`stat -c '%y' ${q(path.join(serverDir, 'subsecond'))}`, { env });
  t.equal(s.stdout.trim(), '2020-01-01 00:00:00.123456700 +0000', 'as stored on the server');
  const before = await sh(`TZ=UTC touch -d '1969-12-31 23:59:58.5' ${q(f)} && stat -c '%y' ${q(f)}`, { env });
  t.equal(before.stdout.trim(), '1969-12-31 23:59:58.500000000 +0000', 'a time before 1970');
});

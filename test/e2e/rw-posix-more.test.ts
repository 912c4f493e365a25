/**
 * More POSIX behaviour through the CLI mount: O_APPEND from two descriptors
 * interleaved (every write lands at the end, in order), and hard links — link
 * count 2 on both names, same content, a write through one name read through
 * the other, one inode on the server. The hard-link part runs on a mount with
 * actimeo=0: through libfuse's high-level API the two names are two kernel
 * inodes, so with attribute caching a change through one name reaches the
 * other's cached size only after actimeo.
 */
import t from 'tap';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-rw-posix-more-Λάμδα-ü';
const serverDir = await freshShareDir(t, samba.sharePath, dirName, { create: false });
const mnt = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mnt));
const top = path.join(mnt, dirName);
await mkdir(top);


t.test('O_APPEND from two descriptors, interleaved', async (t) => {
  const f = path.join(top, 'append.txt');
  await writeFile(f, 'start\n');
  const h1 = await open(f, 'a');
  const h2 = await open(f, 'a');
  let want = 'start\n';
  for (let i = 0; i < 50; i++) {
    const h = i % 2 === 0 ? h1 : h2;
    const s = `${i % 2 === 0 ? 'one' : 'two'} ${i} ${'x'.repeat(i * 37)}\n`;
    await h.write(s);
    want += s;
  }
  t.equal((await h1.stat()).size, Buffer.byteLength(want), 'size while open');
  await h1.close();
  await h2.close();
  t.equal(await readFile(f, 'utf8'), want, 'every write landed at the end, in order');
  t.equal(await readFile(path.join(serverDir, 'append.txt'), 'utf8'), want, 'server side too');
});

t.test('hard link: link count 2, same content', async (t) => {
  const fresh = await mountShare(samba, 'test', ['cache=strict', 'actimeo=0']);
  t.teardown(() => unmount(fresh));
  const a = path.join(fresh, dirName, 'hard-a.txt');
  const b = path.join(fresh, dirName, 'hard-b.txt');
  await writeFile(a, 'shared bytes');
  await link(a, b);
  t.equal((await stat(b)).nlink, 2, 'the new name has 2 links');
  t.equal((await stat(a)).nlink, 2, 'the old name has 2 links');
  t.equal(await readFile(b, 'utf8'), 'shared bytes', 'same content');
  await writeFile(b, 'changed through b');
  t.equal(await readFile(a, 'utf8'), 'changed through b', 'a write through one name shows through the other');
  t.equal((await stat(path.join(serverDir, 'hard-a.txt'))).ino, (await stat(path.join(serverDir, 'hard-b.txt'))).ino, 'one inode on the server');
  await unlink(a);
  t.equal(await readFile(b, 'utf8'), 'changed through b', 'the other name survives an unlink');
  t.equal((await stat(b)).nlink, 1, 'back to 1 link');
});


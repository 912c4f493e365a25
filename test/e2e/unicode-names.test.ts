/**
 * Unicode normalization through a real CLI mount (issue 12, point 6):
 *  - an NFD name made on the server (in the share directory) is listed as
 *    the server holds it and opened by that name, under the default NFC
 *    (before any listing too: the lookup tries the spelling as written);
 *  - a name created through the mount in NFC is stored in NFC by default and
 *    in NFD with unicode=nfd; either way `ls` lists it and its path (as
 *    typed, and as listed) opens it.
 * Samba on Linux stores names as given, so the share directory shows what
 * was sent.
 */
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { freshShareDir, sh, q } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'unicode-names';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);

const NFC = 'caf\u00e9 \u00c5ngstr\u00f6m';
const NFD = NFC.normalize('NFD');
t.not(NFC, NFD, 'the test names differ in form');

/** Names in the share directory's subdirectory `sub`, as stored on the server. */
const onServer = async (sub: string) => (await readdir(path.join(serverDir, sub))).sort();

t.test('an NFD name made on the server is listed and opened (default nfc)', async (t) => {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.join(serverDir, 'server-made'));
  await writeFile(path.join(serverDir, 'server-made', `${NFD}.txt`), 'from the server');
  const mnt = await mountShare(samba, 'test');
  t.teardown(() => unmount(mnt));
  const dir = path.join(mnt, dirName, 'server-made');
  // Before any listing: the lookup finds the NFD spelling on its second try.
  t.equal(await readFile(path.join(dir, `${NFD}.txt`), 'utf8'), 'from the server', 'opened by its NFD path before any listing');
  const ls = await sh(`ls -1 ${q(dir)}`, { timeoutMs: 10000 });
  t.equal(ls.code, 0);
  t.same(ls.stdout.trim().split('\n'), [`${NFD}.txt`], 'ls shows the name as the server holds it (NFD)');
  t.equal((await sh(`cat ${q(path.join(dir, `${NFD}.txt`))}`, { timeoutMs: 10000 })).stdout, 'from the server', 'cat by path');
  await writeFile(path.join(dir, `${NFD}.txt`), 'changed through the mount');
  t.equal(await readFile(path.join(serverDir, 'server-made', `${NFD}.txt`), 'utf8'), 'changed through the mount', 'written to the stored file');
  t.same(await onServer('server-made'), [`${NFD}.txt`], 'no second (NFC) file appeared');
});

for (const form of ['nfc', 'nfd'] as const) {
  t.test(`a name created through the mount is stored in ${form} and found again (unicode=${form})`, async (t) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(serverDir, form));
    const mnt = await mountShare(samba, 'test', form === 'nfd' ? ['unicode=nfd'] : []);
    t.teardown(() => unmount(mnt));
    const dir = path.join(mnt, dirName, form);
    const stored = form === 'nfc' ? NFC : NFD;
    // Created with the NFC spelling (what Linux input methods produce), a file inside a directory.
    await sh(`mkdir ${q(path.join(dir, NFC))} && echo hello > ${q(path.join(dir, NFC, `${NFC}.txt`))}`, { timeoutMs: 10000 });
    t.same(await onServer(form), [stored], `the directory is stored in ${form}`);
    t.same(await onServer(path.join(form, stored)), [`${stored}.txt`], `the file is stored in ${form}`);
    const ls = await sh(`ls -1 ${q(dir)} ${q(path.join(dir, NFC))}`, { timeoutMs: 10000 });
    t.equal(ls.code, 0, 'ls by the typed path works');
    t.match(ls.stdout, `${stored}.txt`, 'ls lists the file (as stored)');
    t.equal(await readFile(path.join(dir, NFC, `${NFC}.txt`), 'utf8'), 'hello\n', 'opened by the path it was created with');
    t.equal(await readFile(path.join(dir, stored, `${stored}.txt`), 'utf8'), 'hello\n', 'opened by the listed path');
    const listed = (await readdir(dir))[0]!;
    t.equal(listed, stored, 'readdir gives the stored spelling');
    await writeFile(path.join(dir, NFC, `${NFC}.txt`), 'again');
    t.same(await onServer(path.join(form, stored)), [`${stored}.txt`], 'rewriting by the typed path made no second file');
    await sh(`mv ${q(path.join(dir, NFC, `${NFC}.txt`))} ${q(path.join(dir, NFC, `${NFC}-2.txt`))}`, { timeoutMs: 10000 });
    t.same(await onServer(path.join(form, stored)), [`${stored}-2.txt`], `renamed to a ${form} name`);
    await sh(`rm -r ${q(path.join(dir, NFC))}`, { timeoutMs: 10000 });
    t.same(await onServer(form), [], 'removed by the typed path');
  });
}

/**
 * An unlink or rename of a file whose handle this mount still holds after
 * its last close (closetimeo) sends that handle's CLOSE first in its own
 * compound: one round trip, as issue 9 asks of unlink and rename, where
 * settling the handle first cost a CLOSE round trip before it; and the stat
 * that `rm` or `mv` make first is answered from the listing, which the
 * open's reply (no link count) no longer drops. Counted frame
 * by frame by a proxy between a CLI mount and the real Samba. closetimeo and
 * actimeo are long so that nothing is let go or expires between the steps.
 */
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { countedMount, framesOf } from '../helpers/counted-mount.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'parked-compound';
const base = await freshShareDir(t, samba.sharePath, dirName);
const { dir, counter } = await countedMount(t, samba, dirName, ['actimeo=30', 'closetimeo=30']);

/** Server-side files NAME=CONTENT in their own directory `sub`, listed through the mount; the mount's path of it. */
async function listed(sub: string, files: Record<string, string>): Promise<string> {
  await sh(`mkdir ${q(path.join(base, sub))}`);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(base, sub, name), content);
  const d = path.join(dir, sub);
  await sh(`ls -l ${q(d)} >/dev/null`);
  return d;
}

t.test('rm of a file just read: its held handle is closed in the unlink compound', async (t) => {
  const d = await listed('rm', { r: 'read me' });
  t.equal(await readFile(path.join(d, 'r'), 'utf8'), 'read me', 'read (its handle is held after the close)');
  // The open's reply has no link count; the listing had none either, so its entry stays.
  t.same(await framesOf(counter, `stat ${q(d + '/r')} >/dev/null`), [], 'its stat after the read: no request');
  t.same(await framesOf(counter, `rm ${q(d + '/r')}`), [`CLOSE+CREATE(${dirName}\\rm\\r)+CLOSE`], 'one frame');
  t.same(await readdir(path.join(base, 'rm')), [], 'gone on the server, no hidden name left');
});

t.test('mv of a file just read to a new name: one frame', async (t) => {
  const d = await listed('mv', { m: 'move me' });
  t.equal(await readFile(path.join(d, 'm'), 'utf8'), 'move me');
  t.same(await framesOf(counter, `mv ${q(d + '/m')} ${q(d + '/n')}`), [`CLOSE+CREATE(${dirName}\\mv\\m)+SET_INFO+QUERY_INFO+CLOSE`], 'one frame');
  t.same(await readdir(path.join(base, 'mv')), ['n'], 'renamed on the server');
  t.equal(await readFile(path.join(d, 'n'), 'utf8'), 'move me', 'and read back under the new name');
});

t.test('mv over a file, both just read: both held handles close in the rename compound', async (t) => {
  const d = await listed('over', { a: 'new', b: 'old' });
  await sh(`cat ${q(d + '/a')} ${q(d + '/b')} >/dev/null`);
  t.same(await framesOf(counter, `mv ${q(d + '/a')} ${q(d + '/b')}`), [`CLOSE+CLOSE+CREATE(${dirName}\\over\\a)+SET_INFO+QUERY_INFO+CLOSE`], 'one frame');
  t.same(await readdir(path.join(base, 'over')), ['b'], 'one name left on the server, no hidden one');
  t.equal(await readFile(path.join(base, 'over', 'b'), 'utf8'), 'new', 'holding the renamed file');
});

t.test('a file still open here is not taken: rm hides it until its last close', async (t) => {
  const d = await listed('open', { o: 'open' });
  // The shell holds o open on descriptor 3 across the rm, then reads it.
  const r = await sh(`exec 3< ${q(d + '/o')}; rm ${q(d + '/o')}; cat <&3; exec 3<&-`);
  t.equal(r.stdout, 'open', 'still readable through the descriptor after the rm');
  t.notOk((await readdir(d)).includes('o'), 'the name is gone here');
  await sh('sleep 0.2');
  t.same(await readdir(path.join(base, 'open')), [], 'and on the server once closed, no hidden name left');
});

/**
 * Metadata in as few round trips as the protocol allows (issue 9, point 2),
 * counted frame by frame by a proxy between a CLI mount and the real Samba:
 *  - `ls -l` of N entries: one CREATE+QUERY_DIRECTORY+QUERY_DIRECTORY
 *    compound and a CLOSE when they fit one reply; over many replies, one
 *    query per reply plus the ones that find the end; never a request per
 *    entry. A stat of a just-listed name, and `find | xargs stat`, cost none;
 *  - unlink, rename, mkdir and rmdir are one compound frame each, and the
 *    names they make or remove need no round trip afterwards;
 *  - `rm -rf` of N files: one frame per file and a few more;
 *  - names with mapped characters, and changes made by another client,
 *    within actimeo.
 */
import t from 'tap';
import { mkdir, readdir, rename as renameLocal, rm, stat as statLocal, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { countedMount as countedMountOf, framesOf } from '../helpers/counted-mount.js';
import { shrinkOutputBuffer } from '../helpers/proxy-listing.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'meta-roundtrips';
const base = await freshShareDir(t, samba.sharePath, dirName);
const N = 300;

/** A server-side directory of `n` one-byte files f0…f(n-1). */
async function filledDir(name: string, n: number): Promise<void> {
  await mkdir(path.join(base, name));
  for (let i = 0; i < n; i++) await writeFile(path.join(base, name, `f${i}`), 'x');
}

/** A mount through a frame-counting proxy; `shrink` cuts every QUERY_DIRECTORY's OutputBufferLength. */
function countedMount(opts: string[], shrink?: number) {
  return countedMountOf(t, samba, dirName, opts, shrink === undefined ? undefined : shrinkOutputBuffer(shrink));
}

/** Frames that name an entry of `sub` (a request about one entry, not the directory). */
const perEntry = (frames: string[], sub: string) => frames.filter((f) => f.includes(`${dirName}\\${sub}\\`));

const { dir, counter } = await countedMount(['actimeo=30']);

t.test('ls -l of N entries: one compound and a CLOSE, nothing per entry; stat of a listed name costs nothing', async (t) => {
  await filledDir('ls', N);
  await sh(`stat ${q(dir)} >/dev/null`); // the directory itself looked up
  const frames = await framesOf(counter, `ls -l ${q(dir + '/ls')} >/dev/null`);
  t.same(
    frames.filter((f) => f.includes('QUERY_DIRECTORY') || f === 'CLOSE'),
    [`CREATE(${dirName}\\ls)+QUERY_DIRECTORY+QUERY_DIRECTORY`, 'CLOSE'],
    `one compound opens and lists, a CLOSE ends it (all frames: ${JSON.stringify(frames)})`,
  );
  t.equal(perEntry(frames, 'ls').length, 0, 'no request for any entry');
  t.ok(frames.length <= 4, `${frames.length} frames in all`);
  t.same(await framesOf(counter, `stat ${q(dir + '/ls/f7')} ${q(dir + '/ls/f299')} >/dev/null`), [], 'stat of listed names: no request');
  t.same(await framesOf(counter, `! stat ${q(dir + '/ls/absent')} 2>/dev/null`), [], 'a name the listing does not hold: ENOENT with no request');
});

t.test('find | xargs stat over N files: the listing, then nothing per file', async (t) => {
  await filledDir('find', N);
  const frames = await framesOf(counter, `find ${q(dir + '/find')} -type f | xargs stat >/dev/null`);
  t.equal(perEntry(frames, 'find').length, 0, `no request for any file (frames: ${JSON.stringify(frames)})`);
  t.equal(counter.commands('QUERY_DIRECTORY'), 2, 'one listing');
  t.ok(frames.length <= 5, `${frames.length} frames for ${N} files`);
});

t.test('a listing over many replies: one QUERY_DIRECTORY per reply plus those that find the end', async (t) => {
  const small = await countedMount(['actimeo=30'], 112 * 50 + 56); // 50 entries of 112 bytes ('f123', '.', '..') a reply
  await filledDir('many', N);
  await sh(`stat ${q(small.dir)} >/dev/null`);
  const frames = await framesOf(small.counter, `ls -l ${q(small.dir + '/many')} >/dev/null`);
  const replies = Math.ceil((N + 2) / 50);
  // Two queries in flight: the last reply with entries leaves one more asked for besides the one that says STATUS_NO_MORE_FILES.
  t.equal(small.counter.commands('QUERY_DIRECTORY'), replies + 2, `${replies} replies with entries, 2 finding the end`);
  t.equal(perEntry(frames, 'many').length, 0, 'no request for any entry');
  t.equal((await readdir(small.dir + '/many')).length, N, 'every name listed once');
});

t.test('unlink, rename, mkdir, rmdir: one compound frame each, and no round trip to look at the result', async (t) => {
  await filledDir('ns', 20);
  const d = dir + '/ns';
  await sh(`ls -l ${q(d)} >/dev/null`);
  t.same(await framesOf(counter, `rm ${q(d + '/f1')}`), [`CREATE(${dirName}\\ns\\f1)+CLOSE`], 'unlink: CREATE(delete on close)+CLOSE');
  t.same(await framesOf(counter, `mv ${q(d + '/f2')} ${q(d + '/g2')}`), [`CREATE(${dirName}\\ns\\f2)+SET_INFO+QUERY_INFO+CLOSE`], 'rename: CREATE+SET_INFO+QUERY_INFO+CLOSE');
  t.same(await framesOf(counter, `stat ${q(d + '/g2')} >/dev/null; ! stat ${q(d + '/f2')} 2>/dev/null`), [], 'the new name from the rename\'s own query, the old one gone, no request');
  t.same(await framesOf(counter, `mkdir ${q(d + '/sub')}`), [`CREATE(${dirName}\\ns\\sub)+QUERY_INFO+CLOSE`], 'mkdir: CREATE(directory)+QUERY_INFO+CLOSE');
  t.same(await framesOf(counter, `stat ${q(d + '/sub')} >/dev/null; ls ${q(d + '/sub')}`), [], 'the new directory: stat and listing with no request');
  t.same(await framesOf(counter, `rmdir ${q(d + '/sub')}`), [`CREATE(${dirName}\\ns\\sub)+SET_INFO+CLOSE`], 'rmdir: CREATE+SET_INFO(delete)+CLOSE');
  t.same(await framesOf(counter, `mv ${q(d + '/f3')} ${q(d + '/g2')}`), [`CREATE(${dirName}\\ns\\f3)+SET_INFO+QUERY_INFO+CLOSE`], 'rename over an existing file: one frame');
  // Our changes moved the directory's own times (kept in the cache; a stat of it asks again only past actimeo); its listing is kept in step.
  const again = await framesOf(counter, `ls ${q(d)} >/dev/null`);
  t.same(again.filter((f) => f !== `CREATE(${dirName}\\ns)+QUERY_INFO+CLOSE`), [], `the listing was kept in step: no QUERY_DIRECTORY (${JSON.stringify(again)})`);
  const listed = (await readdir(d)).sort();
  const server = (await readdir(path.join(base, 'ns'))).sort();
  t.same(listed, server, 'and it matches the server');
  t.notOk(listed.includes('f1') || listed.includes('f2') || listed.includes('f3') || listed.includes('sub'));
  t.ok(listed.includes('g2'));
  t.equal((await statLocal(path.join(base, 'ns', 'g2'))).size, 1, 'the server holds the renamed file');
});

t.test('rm -rf of N files: one frame per file and a few more', async (t) => {
  await filledDir('rmrf', N);
  const frames = await framesOf(counter, `rm -rf ${q(dir + '/rmrf')}`);
  const unlinks = frames.filter((f) => /^CREATE\([^)]*\\rmrf\\f\d+\)\+CLOSE$/.test(f));
  t.equal(unlinks.length, N, 'one CREATE(delete on close)+CLOSE per file');
  t.ok(frames.length <= N + 5, `${frames.length} frames for ${N} files`);
  await t.rejects(statLocal(path.join(base, 'rmrf')), { code: 'ENOENT' }, 'gone on the server');
});

t.test('mapped names: listed, looked up, renamed and made without per-entry requests, stored mapped', async (t) => {
  const d = path.join(base, 'mapped');
  await mkdir(d);
  await writeFile(path.join(d, 'x\uf022y'), 'abc'); // what a mount stores for 'x:y'
  const m = dir + '/mapped';
  t.same((await readdir(m)).sort(), ['x:y'], 'listed unmapped');
  t.same(await framesOf(counter, `stat ${q(m + '/x:y')} >/dev/null`), [], 'looked up from the listing');
  t.same(await framesOf(counter, `mv ${q(m + '/x:y')} ${q(m + '/z?w')}`), [`CREATE(${dirName}\\mapped\\x\uf022y)+SET_INFO+QUERY_INFO+CLOSE`], 'renamed in one frame');
  t.same(await framesOf(counter, `stat ${q(m + '/z?w')} >/dev/null`), [], 'the new name known');
  t.same(await framesOf(counter, `mkdir ${q(m + '/d*')}`), [`CREATE(${dirName}\\mapped\\d\uf021)+QUERY_INFO+CLOSE`], 'mkdir in one frame');
  t.same((await readdir(d)).sort(), ['d\uf021', 'z\uf025w'], 'the server holds the mapped forms');
});

t.test("another client's changes show within actimeo", async (t) => {
  const short = await countedMount(['actimeo=1']);
  await filledDir('other', 3);
  const m = short.dir + '/other';
  t.same((await readdir(m)).sort(), ['f0', 'f1', 'f2']);
  await statLocal(m + '/f1'); // cached
  await rm(path.join(base, 'other', 'f1'));
  await renameLocal(path.join(base, 'other', 'f2'), path.join(base, 'other', 'g2'));
  await new Promise((r) => setTimeout(r, 1500));
  t.same((await readdir(m)).sort(), ['f0', 'g2'], 'the listing after actimeo');
  await t.rejects(statLocal(m + '/f1'), { code: 'ENOENT' }, 'the deleted name is gone');
  await t.rejects(statLocal(m + '/f2'), { code: 'ENOENT' }, 'the renamed name is gone');
  t.equal((await statLocal(m + '/g2')).size, 1, 'the new name is there');
});

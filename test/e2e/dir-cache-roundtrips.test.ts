/**
 * What dbench does between its file operations costs no round trip
 * (issue 9, dbench row), counted frame by frame by a proxy between a CLI
 * mount and the real Samba:
 *  - after this mount creates or removes a name in a directory, the
 *    directory's own stat (glibc's opendir fstats it, and every
 *    FIND_FIRST of dbench opens it) comes from the cache, its times moved
 *    to the change;
 *  - a rename right after a write sends the rename compound alone (no
 *    lookup of the source whose attributes the write dropped);
 *  - a cached listing still serves while a file in it is open here (or its
 *    handle still held, closetimeo) with its attributes dropped by a write
 *    made here, and shows that file under its own inode number; its stat
 *    then comes from the open file (a W lease: nobody else changed it).
 *  - lookups that keep finding names in a directory never listed here
 *    (sha256sum -c over a tree) are answered by one peek at it after the
 *    first few; a name made on the server after the peek is still found.
 *  - lookups that keep missing in a directory never listed here (a create
 *    loop into it) stop asking the server after the first few: one listing,
 *    kept as the directory's, answers the rest (every miss costs Samba a
 *    scan of the directory for a name differing only in case).
 * actimeo is long so that nothing expires between the steps on a loaded machine.
 */
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { countedMount, framesOf } from '../helpers/counted-mount.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';
import { LIST_AFTER_MISSES } from '../../src/attr-cache.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'dir-cache-roundtrips';
const base = await freshShareDir(t, samba.sharePath, dirName);
const { dir, counter } = await countedMount(t, samba, dirName, ['actimeo=30']);

/**
 * The frames `cmd` sends, less bare CLOSEs: a handle an earlier step left
 * open after its close (closetimeo, 1 s) is closed when its time is up, which
 * can fall in any window on a slow machine. No assertion here is about them.
 */
const requestsOf = async (cmd: string) => (await framesOf(counter, cmd)).filter((f) => f !== 'CLOSE');

/** A server-side directory `name` holding files a, b and c. */
async function serverDir(name: string): Promise<string> {
  await sh(`mkdir ${q(path.join(base, name))}`);
  for (const f of ['a', 'b', 'c']) await writeFile(path.join(base, name, f), 'x');
  return path.join(dir, name);
}

/** Seconds of the mtime `stat` shows for `p`. */
async function mtimeOf(p: string): Promise<number> {
  const r = await sh(`stat -c %Y ${q(p)}`);
  if (r.code !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

t.test('a create or unlink here leaves the directory stat and listing to the cache, its mtime moved', async (t) => {
  const d = await serverDir('names');
  const before = await mtimeOf(d);
  await sh(`touch -m -d @${before - 100} ${q(d)}`); // an old mtime, so the move shows
  await sh(`ls -l ${q(d)} >/dev/null`); // listed (and stat'ed) after the touch, which dropped both
  t.equal(await mtimeOf(d), before - 100);
  const made = await requestsOf(`echo hi > ${q(d + '/new')}`);
  t.equal(counter.commands('QUERY_DIRECTORY'), 0, `the create needed no listing (${JSON.stringify(made)})`);
  // `new`'s handle is still held (closetimeo): its own attributes are not the point here, so no `ls -l`.
  t.same(await requestsOf(`stat ${q(d)} >/dev/null; ls ${q(d)} >/dev/null`), [], 'stat, opendir and listing of the directory: no request');
  t.ok((await mtimeOf(d)) >= before - 1, 'its mtime moved to the create');
  const removed = await requestsOf(`rm ${q(d + '/b')}`);
  t.same(removed, [`CREATE(${dirName}\\names\\b)+CLOSE`], 'unlink: one frame');
  t.same(await requestsOf(`stat ${q(d)} >/dev/null; ls ${q(d)} >/dev/null`), [], 'after the unlink too');
  t.same((await readdir(d)).sort(), ['a', 'c', 'new'], 'the listing holds what this mount did');
  t.same((await readdir(path.join(base, 'names'))).sort(), ['a', 'c', 'new'], 'and so does the server');
});

t.test('a listing serves while a file in it is still held here after a write', async (t) => {
  const d = await serverDir('open');
  await sh(`ls -l ${q(d)} >/dev/null`);
  // The write drops a's cached attributes; its handle stays open after the close (closetimeo).
  const wrote = await requestsOf(`echo more > ${q(d + '/a')}`);
  t.ok(wrote.includes('WRITE'), `the write reached the server (${JSON.stringify(wrote)})`);
  const listed = await requestsOf(`ls -i ${q(d)} > ${q(path.join(base, 'ls-i.txt'))}`);
  t.equal(counter.commands('QUERY_DIRECTORY'), 0, `no QUERY_DIRECTORY (${JSON.stringify(listed)})`);
  const inos = Object.fromEntries(
    (await readFile(path.join(base, 'ls-i.txt'), 'utf8')).trim().split('\n').map((l) => l.trim().split(/\s+/).reverse()),
  );
  t.same(Object.keys(inos).sort(), ['a', 'b', 'c']);
  const seen = await requestsOf(`stat -c %s:%i ${q(d + '/a')} > ${q(path.join(base, 'stat.txt'))}`);
  t.same(seen, [], 'its stat: from the open file (written here under a lease), no request');
  t.equal((await readFile(path.join(base, 'stat.txt'), 'utf8')).trim(), `5:${inos.a}`, 'the written size; the inode number the listing showed');
  t.equal(await readFile(path.join(base, 'open', 'a'), 'utf8'), 'more\n', 'the server holds what was written');
});

t.test('a rename right after a write looks nothing up: the rename compound answers', async (t) => {
  const d = await serverDir('mv');
  await sh(`ls -l ${q(d)} >/dev/null`);
  await sh(`echo more > ${q(d + '/a')}`); // drops a's cached attributes
  const frames = await requestsOf(`mv ${q(d + '/a')} ${q(d + '/z')}`);
  t.same(frames.filter((f) => f.endsWith('+QUERY_INFO+CLOSE') && !f.includes('SET_INFO')), [], `no lookup of either name (${JSON.stringify(frames)})`);
  // a's handle, still held after the write (closetimeo), is closed first in the same compound if its time is not up yet.
  const rename = `CREATE(${dirName}\\mv\\a)+SET_INFO+QUERY_INFO+CLOSE`;
  t.equal(frames.filter((f) => f === rename || f === `CLOSE+${rename}`).length, 1, 'one rename compound');
  t.same(await requestsOf(`stat ${q(d + '/z')} >/dev/null; ! stat ${q(d + '/a')} 2>/dev/null`), [], 'both names known after it');
  t.equal(await readFile(path.join(base, 'mv', 'z'), 'utf8'), 'more\n', 'the server holds the renamed file');
});

t.test('lookups finding names in a directory never listed: one peek answers the rest, and hides nothing', async (t) => {
  await sh(`mkdir ${q(path.join(base, 'peek'))}`);
  const names = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, '0')}`);
  for (const n of names) await writeFile(path.join(base, 'peek', n), n);
  const d = path.join(dir, 'peek');
  const frames = await requestsOf(`cd ${q(d)} && stat -c %s ${names.join(' ')} >/dev/null`);
  const lookups = frames.filter((f) => /^CREATE\(.*peek\\f\d\d\)\+QUERY_INFO\+CLOSE$/.test(f));
  const peeks = frames.filter((f) => f.startsWith(`CREATE(${dirName}\\peek)+QUERY_DIRECTORY`));
  t.equal(lookups.length, 4, `four lookups of the twelve files (${JSON.stringify(frames)})`);
  t.equal(peeks.length, 1, 'then one peek at the directory');
  await writeFile(path.join(base, 'peek', 'later'), 'made on the server');
  const found = await requestsOf(`stat -c %s ${q(d + '/later')} > ${q(path.join(base, 'later-size.txt'))}`);
  t.equal((await readFile(path.join(base, 'later-size.txt'), 'utf8')).trim(), '18', 'a name made on the server after the peek is found');
  t.same(found, [`CREATE(${dirName}\\peek\\later)+QUERY_INFO+CLOSE`], 'by a lookup: a peek rules no name out');
  const listed = await requestsOf(`ls ${q(d)} > ${q(path.join(base, 'peek-ls.txt'))}`);
  t.equal(counter.commands('QUERY_DIRECTORY') > 0, true, `readdir lists the directory itself (${JSON.stringify(listed)})`);
  t.same((await readFile(path.join(base, 'peek-ls.txt'), 'utf8')).trim().split('\n'), [...names, 'later'], 'and shows every name');
});

t.test('lookups missing in a directory never listed: one listing answers the rest', async (t) => {
  const d = await serverDir('miss');
  const names = Array.from({ length: 20 }, (_, i) => `n${String(i).padStart(2, '0')}`);
  const frames = await requestsOf(`cd ${q(d)} && for n in ${names.join(' ')}; do echo "$n" > "$n"; done`);
  const lookups = frames.filter((f) => /^CREATE\(.*miss\\n\d\d\)\+QUERY_INFO\+CLOSE$/.test(f));
  const listings = frames.filter((f) => f.startsWith(`CREATE(${dirName}\\miss)+QUERY_DIRECTORY`));
  t.equal(lookups.length, LIST_AFTER_MISSES, `${LIST_AFTER_MISSES} lookups of the twenty new names (${JSON.stringify(frames)})`);
  t.equal(listings.length, 1, 'then one listing of the directory');
  // A shell redirection: the CREATE at the first close (a duplicate), the WRITE at the last (shown in small-files).
  t.equal(frames.filter((f) => /^CREATE\(.*miss\\n\d\d\)$/.test(f)).length, 20, 'and one CREATE per file');
  for (const n of names) t.equal(await readFile(path.join(base, 'miss', n), 'utf8'), `${n}\n`, `the server has ${n}`);
  t.same(await requestsOf(`stat ${q(d + '/a')} >/dev/null; ! stat ${q(d + '/absent')} 2>/dev/null`), [], 'a name it showed and one it lacks: no request');
  t.same((await readdir(d)).sort(), ['a', 'b', 'c', ...names], 'the directory shows every name');
});

/**
 * Round trips of everyday tree work (issue 9: tar x, git, create loops,
 * rm -rf), counted frame by frame by a proxy between a CLI mount and the
 * real Samba:
 *  - tar x: each small file is one CREATE+WRITE+SET_INFO+CLOSE frame (the
 *    times tar sets on the open file ride with its deferred CREATE), and the
 *    server keeps the archive's times; a write after such a utimens moves
 *    mtime again;
 *  - utimens by path and link query the attributes in their own compound:
 *    the stat that follows needs no round trip;
 *  - lookups past actimeo in a directory whose listing lapsed (a create
 *    loop, rm -rf) cost a few frames and one listing, not one frame per
 *    name, and still see what another client made meanwhile.
 */
import t from 'tap';
import { mkdir, readdir, stat as statLocal, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { countedMount as countedMountOf, framesOf } from '../helpers/counted-mount.js';
import { freshShareDir, localTempDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';
import { LIST_AFTER_MISSES } from '../../src/attr-cache.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'tree-roundtrips';
const base = await freshShareDir(t, samba.sharePath, dirName);

/** A mount through a frame-counting proxy. */
const countedMount = (opts: string[]) => countedMountOf(t, samba, dirName, opts);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slow = await countedMount(['actimeo=30']);
const fast = await countedMount(['actimeo=1']);

t.test('tar x: one CREATE+WRITE+SET_INFO+CLOSE frame per small file, the archive times kept', async (t) => {
  const src = await localTempDir(t, 'tree-rt-tar-');
  const N = 40;
  const when = new Date('2001-02-03T04:05:06Z');
  await mkdir(path.join(src, 'x'));
  for (let i = 0; i < N; i++) {
    await writeFile(path.join(src, 'x', `f${i}`), `file ${i}\n`.repeat(i + 1));
    await utimes(path.join(src, 'x', `f${i}`), when, when);
  }
  await sh(`tar cf ${q(src + '/t.tar')} -C ${q(src)} x`);
  await mkdir(path.join(base, 'tar'));
  await sh(`ls ${q(slow.dir + '/tar')}`); // listed: the new names need no lookup
  const frames = await framesOf(slow.counter, `tar xf ${q(src + '/t.tar')} --no-same-owner --no-same-permissions -C ${q(slow.dir + '/tar')}`);
  const perFile = frames.filter((f) => /\\tar\\x\\f\d+\)/.test(f));
  t.equal(perFile.length, N, `one frame per file (${JSON.stringify(frames.slice(0, 8))}…)`);
  t.ok(perFile.every((f) => /^CREATE\([^)]*\)\+WRITE\+SET_INFO\+CLOSE$/.test(f)), 'each CREATE+WRITE+SET_INFO+CLOSE');
  t.ok(frames.length <= N + 6, `${frames.length} frames for ${N} files`);
  for (const i of [0, 17, N - 1]) {
    const st = await statLocal(path.join(base, 'tar', 'x', `f${i}`));
    t.equal(st.mtime.getTime(), when.getTime(), `f${i}: the server holds the archive's mtime`);
    t.equal(st.size, `file ${i}\n`.length * (i + 1), `f${i}: and its bytes`);
  }
  t.same(await framesOf(slow.counter, `stat ${q(slow.dir + '/tar/x/f3')} >/dev/null`), [], 'a stat after: from the attributes at close');
});

t.test('a write after utimens of a new file moves mtime again', async (t) => {
  await mkdir(path.join(base, 'later'));
  const f = slow.dir + '/later/f';
  const when = new Date('2002-03-04T05:06:07Z');
  // One process: create, write, futimes, write again, close.
  const js = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(f)},'w');fs.writeSync(fd,'ab');` +
    `fs.futimesSync(fd,new Date(${when.getTime()}),new Date(${when.getTime()}));fs.writeSync(fd,'cd');fs.closeSync(fd);`;
  const before = Date.now();
  const r = await sh(`node -e ${q(js)}`);
  t.equal(r.code, 0, r.stderr);
  const st = await statLocal(path.join(base, 'later', 'f'));
  t.equal(st.size, 4, 'both writes on the server');
  t.ok(st.mtime.getTime() >= before - 2000, `mtime is the last write's (${st.mtime.toISOString()}), not the one set before it`);
});

t.test('utimens by path and ln: one frame each, the stat after needs none', async (t) => {
  await mkdir(path.join(base, 'meta'));
  await writeFile(path.join(base, 'meta', 'a'), 'abc');
  const d = slow.dir + '/meta';
  await sh(`ls -l ${q(d)} >/dev/null`);
  t.same(await framesOf(slow.counter, `touch -h -d 2003-01-01T00:00:00Z ${q(d + '/a')}`), [`CREATE(${dirName}\\meta\\a)+SET_INFO+QUERY_INFO+CLOSE`], 'utimens: CREATE+SET_INFO+QUERY_INFO+CLOSE');
  const st = await sh(`stat -c %Y ${q(d + '/a')}`);
  t.equal(Number(st.stdout.trim()), Date.parse('2003-01-01T00:00:00Z') / 1000, 'the new mtime shows');
  t.same(await framesOf(slow.counter, `stat ${q(d + '/a')} >/dev/null`), [], 'from the compound\'s own query');
  t.same(await framesOf(slow.counter, `ln ${q(d + '/a')} ${q(d + '/b')}`), [`CREATE(${dirName}\\meta\\a)+SET_INFO+QUERY_INFO+CLOSE`], 'link: CREATE+SET_INFO+QUERY_INFO+CLOSE');
  t.same(await framesOf(slow.counter, `stat ${q(d + '/b')} >/dev/null`), [], 'the new name: no request');
  t.equal((await sh(`stat -c %h ${q(d + '/b')}`)).stdout.trim(), '2', 'the new name shows 2 links');
  // touch opens the file and sets the times through that handle: the attributes come with the SET_INFO.
  const touched = await framesOf(slow.counter, `touch -d 2004-01-01T00:00:00Z ${q(d + '/a')}`);
  t.same(touched.filter((f) => !/^CLOSE$/.test(f)), [`CREATE(${dirName}\\meta\\a)`, 'SET_INFO+QUERY_INFO'], `touch through a handle: open, then SET_INFO+QUERY_INFO (${JSON.stringify(touched)})`);
  t.same(await framesOf(slow.counter, `stat ${q(d + '/a')} >/dev/null`), [], 'the stat after touch: no request');
  t.equal((await sh(`stat -c %Y ${q(d + '/a')}`)).stdout.trim(), String(Date.parse('2004-01-01T00:00:00Z') / 1000), 'touch set mtime');
});

t.test('a create loop past actimeo: one listing, not a lookup per name; names made elsewhere still show', async (t) => {
  await mkdir(path.join(base, 'loop'));
  const d = fast.dir + '/loop';
  await sh(`ls ${q(d)}`);
  await sh(`for i in $(seq 1 100); do echo x > ${q(d)}/a$i; done`);
  await sleep(1300); // the listing lapses
  await writeFile(path.join(base, 'loop', 'other'), 'made by another client');
  const t0 = Date.now();
  const frames = await framesOf(fast.counter, `for i in $(seq 1 100); do echo x > ${q(d)}/b$i; done; cat ${q(d + '/other')} >/dev/null`);
  const lapses = Math.floor((Date.now() - t0) / 1000); // actimeo=1: how often a listing made during the loop lapsed
  const lookups = frames.filter((f) => /^CREATE\([^)]*\\loop\\b\d+\)\+QUERY_INFO\+CLOSE$/.test(f));
  // The lapsed listing (101 names) is due again after 4 misses. Should the
  // directory's own stat be asked first and show the change made above, the
  // lapsed listing is forgotten with it; the directory is then listed after
  // LIST_AFTER_MISSES misses, as one never listed here. A loop slower than
  // actimeo outlives that listing too: each lapse costs at most
  // ceil(201 / 32) = 7 misses before the next. Either way, not one lookup per name.
  const bound = LIST_AFTER_MISSES + 7 * lapses;
  t.ok(lookups.length <= Math.min(bound, 50), `${lookups.length} lookups of new names, at most ${bound} in ${lapses} lapses (frames: ${JSON.stringify(frames.slice(0, 10))}…)`);
  t.ok(fast.counter.commands('QUERY_DIRECTORY') >= 1, 'the directory listed again');
  t.equal((await readdir(path.join(base, 'loop'))).length, 201, 'every file on the server');
  t.equal((await readdir(d)).length, 201, 'and listed through the mount');
});

t.test('stat of N listed names past actimeo: a few lookups, then one listing answers the rest; rm -rf one frame per file', async (t) => {
  const N = 300;
  await mkdir(path.join(base, 'many'));
  for (let i = 0; i < N; i++) await writeFile(path.join(base, 'many', `f${i}`), 'x');
  const d = fast.dir + '/many';
  await sh(`ls ${q(d)} >/dev/null`);
  await sleep(1300); // the listing lapses
  const frames = await framesOf(fast.counter, `cd ${q(d)} && stat $(seq -f 'f%g' 0 ${N - 1}) >/dev/null`);
  const lookups = frames.filter((f) => /^CREATE\([^)]*\\many\\f\d+\)\+QUERY_INFO\+CLOSE$/.test(f));
  t.ok(lookups.length > 0 && lookups.length <= Math.ceil(N / 32) + 2, `${lookups.length} lookups for ${N} names (frames: ${JSON.stringify(frames.slice(0, 14))}…)`);
  t.ok(fast.counter.commands('QUERY_DIRECTORY') >= 1, 'one listing answered the rest');
  const rm = await framesOf(fast.counter, `rm -rf ${q(d)}`);
  const unlinks = rm.filter((f) => /^CREATE\([^)]*\\many\\f\d+\)\+CLOSE$/.test(f));
  t.equal(unlinks.length, N, 'rm -rf: one CREATE(delete on close)+CLOSE per file');
  t.ok(rm.length <= N + 20, `${rm.length} frames for ${N} files`);
  await t.rejects(statLocal(path.join(base, 'many')), { code: 'ENOENT' }, 'gone on the server');
});

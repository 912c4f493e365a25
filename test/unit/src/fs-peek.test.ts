/**
 * Lookups in a directory never listed here (issue 9, tree rows): once
 * PEEK_AFTER_FOUND of them found names within actimeo, one listing (a peek)
 * answers the next ones; names it did not show are still asked of the
 * server, so a name made elsewhere afterwards is found; a directory with
 * more names than a peek lists, or one that cannot be listed, is not peeked
 * at again. Lookups that keep finding nothing there make one listing that is
 * kept (LIST_AFTER_MISSES): the next absent names need no round trip until
 * it expires. Over the in-memory tree.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { LIST_AFTER_MISSES, PEEK_AFTER_FOUND } from '../../../src/attr-cache.js';
import { SmbFs, type InodeFactory } from '../../../src/fs.js';
import { FakeTree } from '../../helpers/fake-tree.js';

function makeFs(tree: FakeTree) {
  const cache = new PageCache({ maxBytes: 4 * 1024 * 1024, folioSize: 65536 });
  const factory: InodeFactory = (key, size, ops) => new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops });
  let now = 0;
  const fs = new SmbFs(tree, { uid: 1, gid: 1, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, readOnly: true, now: () => now }, factory);
  return { fs, advance: (ms: number) => (now += ms) };
}

function treeWith(dir: string, files: number): FakeTree {
  const tree = new FakeTree();
  tree.add('', null);
  tree.add(dir, null);
  for (let i = 0; i < files; i++) tree.add(`${dir}\\f${i}`, Buffer.from(`file ${i}`));
  return tree;
}

t.test('after lookups that found names, one peek answers the rest of the directory', async (t) => {
  const tree = treeWith('d', 12);
  const { fs } = makeFs(tree);
  for (let i = 0; i < 12; i++) t.equal((await fs.getattr(`/d/f${i}`)).size, `file ${i}`.length, `f${i}`);
  t.equal(tree.calls['list'], 1, 'one listing');
  t.equal(tree.calls['stat'], PEEK_AFTER_FOUND, `${PEEK_AFTER_FOUND} lookups, then none`);
  tree.add('d\\later', Buffer.from('made elsewhere'));
  t.equal((await fs.getattr('/d/later')).size, 14, 'a name made on the server after the peek is found');
  t.equal(tree.calls['stat'], PEEK_AFTER_FOUND + 1, 'by asking the server: the peek is no listing');
  t.same((await fs.readdir('/d')).names.filter((n) => n !== '.' && n !== '..').sort(), [...Array.from({ length: 12 }, (_, i) => `f${i}`), 'later'].sort(), 'readdir lists the directory itself');
  t.equal(tree.calls['list'], 2, 'with a listing of its own');
});

t.test('lookups that find nothing do not count towards a peek', async (t) => {
  const tree = treeWith('d', 3);
  const { fs } = makeFs(tree);
  for (let i = 0; i < LIST_AFTER_MISSES - 1; i++) await t.rejects(fs.getattr(`/d/missing${i}`));
  for (let i = 0; i < 3; i++) await fs.getattr(`/d/f${i}`);
  t.equal(tree.calls['list'] ?? 0, 0, 'no listing');
});

t.test('after lookups that found nothing, one listing answers the next absent names until it expires', async (t) => {
  const tree = treeWith('d', 3);
  const { fs, advance } = makeFs(tree);
  for (let i = 0; i < LIST_AFTER_MISSES; i++) await t.rejects(fs.getattr(`/d/missing${i}`));
  t.equal(tree.calls['list'] ?? 0, 0, 'no listing yet');
  t.equal(tree.calls['stat'], LIST_AFTER_MISSES, 'each of those asked the server');
  for (let i = LIST_AFTER_MISSES; i < 40; i++) await t.rejects(fs.getattr(`/d/missing${i}`), `missing${i}`, { diagnostic: false });
  t.equal(tree.calls['list'], 1, 'then one listing');
  t.equal(tree.calls['stat'], LIST_AFTER_MISSES, 'and no more lookups');
  t.equal((await fs.getattr('/d/f1')).size, 6, 'a name it showed is found without asking');
  t.equal(tree.calls['stat'], LIST_AFTER_MISSES);
  tree.add('d\\later', Buffer.from('made elsewhere'));
  await t.rejects(fs.getattr('/d/later'), 'a name made on the server within actimeo of the listing is not seen yet');
  advance(1000);
  t.equal((await fs.getattr('/d/later')).size, 14, 'once the listing expired it is found');
});

t.test('a directory with more names than a capped listing holds is listed for misses once', async (t) => {
  const tree = treeWith('big', 4200);
  const { fs, advance } = makeFs(tree);
  for (let i = 0; i < 20; i++) await t.rejects(fs.getattr(`/big/missing${i}`));
  t.equal(tree.calls['list'], 1, 'one listing, incomplete');
  advance(2000);
  for (let i = 20; i < 40; i++) await t.rejects(fs.getattr(`/big/missing${i}`));
  t.equal(tree.calls['list'], 1, 'no second one');
  t.equal(tree.calls['stat'], 40, 'every lookup asks the server');
});

t.test('a directory with more names than a peek lists is not peeked at again', async (t) => {
  const tree = treeWith('big', 4200);
  const { fs, advance } = makeFs(tree);
  for (let i = 0; i < 4200; i += 50) await fs.getattr(`/big/f${i}`);
  t.equal(tree.calls['list'], 1, 'one peek');
  advance(2000);
  const stats = tree.calls['stat']!;
  for (let i = 1; i < 4200; i += 50) await fs.getattr(`/big/f${i}`);
  t.equal(tree.calls['list'], 1, 'no second one');
  t.equal(tree.calls['stat']! - stats, 84, 'every later lookup asks the server');
});

t.test('a directory that cannot be listed is peeked at once, then never', async (t) => {
  const tree = treeWith('d', 20);
  tree.failList = new Error('listing refused');
  const { fs } = makeFs(tree);
  for (let i = 0; i < 20; i++) t.equal((await fs.getattr(`/d/f${i}`)).size, `file ${i}`.length, `f${i} found all the same`, { diagnostic: false });
  t.equal(tree.calls['list'], 1, 'one failed peek');
  t.equal(tree.calls['stat'], 20, 'every file looked up');
});

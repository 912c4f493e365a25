/**
 * Small-file lifecycle through the FUSE handlers against the in-memory
 * SmbTree (calls counted): a deferred CREATE sent with its data and CLOSE as
 * one compound at flush; getattr of a file not yet created answered locally;
 * a failed deferred CREATE returned by flush and its bytes logged; the
 * parked handle of closetimeo serving a re-open and closed by settle().
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { SmbFs } from '../../../src/fs.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { FakeTree } from '../../helpers/fake-tree.js';

const O_RDWR = 2;
const tick = () => new Promise((r) => setTimeout(r, 10));

function setup(closetimeoMs = 0) {
  const tree = new FakeTree();
  tree.add('', null);
  tree.add('d', null);
  tree.add('old.txt', Buffer.from('old data\n'));
  const cache = new PageCache({ maxBytes: 16 * 1024 * 1024, folioSize: 65536 });
  const lines: string[] = [];
  const fs = new SmbFs(
    tree,
    { uid: 1, gid: 2, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, wsize: 1 << 20, closetimeoMs, log: (l) => lines.push(l) },
    (key, size, ops) => new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops }),
  );
  const ops = makeFuseOps(fs, { timeoutMs: 5000 }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) => new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  /** Calls the tree has seen, reset by each read. */
  const calls = () => {
    const c = Object.fromEntries(Object.entries(tree.calls).filter(([, n]) => n !== 0));
    for (const k of Object.keys(tree.calls)) delete tree.calls[k];
    return c;
  };
  return { tree, fs, call, calls, lines };
}

t.test('create, write, close of a name known absent: one CREATE+WRITE+CLOSE; stats need nothing', async (t) => {
  const { tree, call, calls } = setup();
  await call('readdir', '/d'); // its MxAc: files may be made in /d
  t.equal((await call('getattr', '/d/new.txt'))[0], -2, 'the lookup: ENOENT');
  calls();
  const [e, fh] = (await call('create', '/d/new.txt', 0o644)) as [number, number];
  t.equal(e, 0);
  t.equal((await call('write', '/d/new.txt', fh, Buffer.from('hello'), 5, 0))[0], 5);
  const [ge, st] = (await call('getattr', '/d/new.txt')) as [number, { size: number }];
  t.same([ge, st.size], [0, 5], 'getattr before the CREATE: from local state');
  t.same(calls(), {}, 'nothing sent yet');
  t.equal((await call('flush', '/d/new.txt', fh))[0], 0);
  await call('release', '/d/new.txt', fh);
  t.same(calls(), { createWriteClose: 1 }, 'one compound');
  t.equal(tree.find('d\\new.txt').data!.toString(), 'hello', 'on the server');
  const [, st2] = (await call('getattr', '/d/new.txt')) as [number, { size: number }];
  t.equal(st2.size, 5, 'getattr after it');
  t.same(calls(), {}, 'from the attributes the CLOSE brought back');
});

t.test('a deferred CREATE that fails: flush returns the error, release logs the bytes', async (t) => {
  const { tree, call, calls, lines } = setup();
  await call('readdir', '/d');
  await call('getattr', '/d/lost.txt');
  const [, fh] = (await call('create', '/d/lost.txt', 0o644)) as [number, number];
  await call('write', '/d/lost.txt', fh, Buffer.alloc(1000, 1), 1000, 0);
  tree.files.delete('d'); // the directory goes away on the server
  const [fe] = (await call('flush', '/d/lost.txt', fh)) as [number];
  t.equal(fe, -2, 'flush: ENOENT (the parent is gone)');
  await call('release', '/d/lost.txt', fh);
  await new Promise((r) => setTimeout(r, 20));
  t.match(lines.join('\n'), /\/d\/lost\.txt: 1000 bytes written through the mount did not reach the server: the file could not be created/, 'logged');
  t.ok((calls()['createWriteClose'] ?? 0) >= 1, 'the compound was tried');
});

t.test('closetimeo: a re-open reuses the parked handle; unlink closes it in its own compound', async (t) => {
  const { tree, call, calls } = setup(30_000);
  const [, a] = (await call('open', '/old.txt', O_RDWR)) as [number, number];
  await call('flush', '/old.txt', a);
  await call('release', '/old.txt', a);
  await tick(); // release answers at once; the handle is parked just after
  t.same(calls(), { create: 1 }, 'the first open: one CREATE; its close: none (parked)');
  t.equal(tree.handles.size, 1, 'the handle is still open on the server');
  const [, b] = (await call('open', '/old.txt', 0)) as [number, number];
  t.same(calls(), {}, 'the re-open: nothing sent');
  await call('release', '/old.txt', b);
  await tick();
  t.equal((await call('unlink', '/old.txt'))[0], 0, 'unlink');
  t.same(calls(), { unlinkPath: 1, closeInCompound: 1 }, 'the parked handle closed in the unlink\'s compound, no CLOSE of its own');
  t.equal(tree.handles.size, 0, 'no handle left');
  t.notOk(tree.files.has('old.txt'), 'the file is gone (no silly rename left behind)');
  t.same([...tree.files.keys()].filter((k) => k.includes('smbfuse')), [], 'no hidden name');
});

t.test('closetimeo: a rename carries the parked handles of both names; one that fails first still closes them', async (t) => {
  const { tree, call, calls } = setup(30_000);
  tree.add('b.txt', Buffer.from('b'));
  for (const p of ['/old.txt', '/b.txt']) {
    const [, fh] = (await call('open', p, 0)) as [number, number];
    await call('release', p, fh);
  }
  await tick();
  t.equal(tree.handles.size, 2, 'both handles parked');
  calls();
  t.equal((await call('rename', '/old.txt', '/b.txt'))[0], 0, 'rename over b.txt');
  const c = calls();
  t.same([c['renamePath'], c['closeInCompound'], c['close']], [1, 2, undefined], 'both parked handles closed in the rename\'s compound, no CLOSE of their own');
  t.equal(tree.handles.size, 0, 'no handle left');
  t.equal(tree.find('b.txt').data!.toString(), 'old data\n', 'b.txt is the renamed file');
  const [, fh] = (await call('open', '/b.txt', 0)) as [number, number];
  await call('release', '/b.txt', fh);
  await tick();
  calls();
  // A name the server cannot store: refused before any request is sent.
  t.equal((await call('rename', '/b.txt', '/bad\uFFFD'))[0], -84, 'EILSEQ');
  await tick();
  const after = calls();
  t.same([after['close'], after['renamePath']], [1, undefined], 'nothing renamed; the handle taken for it is closed on its own');
  t.equal(tree.handles.size, 0, 'no handle left');
  t.equal(tree.find('b.txt').data!.toString(), 'old data\n', 'b.txt untouched');
});

t.test('a file created here keeps the inode number it was created with while it is open, after its CREATE too', async (t) => {
  const { tree, fs, call, calls } = setup();
  await call('readdir', '/d');
  t.equal((await call('getattr', '/d/db'))[0], -2, 'the lookup: ENOENT');
  const [e, fh] = (await call('create', '/d/db', 0o644)) as [number, number];
  t.equal(e, 0);
  const ino = ((await call('fgetattr', '/d/db', fh)) as [number, { ino: bigint }])[1].ino;
  t.equal((await call('write', '/d/db', fh, Buffer.from('page'), 4, 0))[0], 4);
  t.equal((await call('fsync', '/d/db', false, fh))[0], 0, 'fsync sends the CREATE');
  t.ok(calls().create, 'the server has the file now');
  const id = tree.find('d\\db').stat.fileIndex;
  t.not(ino, id, 'the number given at create was not the server id');
  fs.attrs.invalidate('/d/db', true); // as once actimeo has passed: the server's attributes come back
  t.equal(((await call('getattr', '/d/db')) as [number, { ino: bigint }])[1].ino, ino, 'stat by path: the same number');
  t.equal(((await call('fgetattr', '/d/db', fh)) as [number, { ino: bigint }])[1].ino, ino, 'fstat: the same number');
  const [, names, stats] = (await call('readdir', '/d')) as [number, string[], { ino: bigint }[]];
  t.equal(stats[names.indexOf('db')]?.ino, ino, 'its listing entry: the same number');
  t.equal((await call('flush', '/d/db', fh))[0], 0);
  await call('release', '/d/db', fh);
  await tick();
  fs.attrs.invalidate('/d/db', true);
  t.equal(((await call('getattr', '/d/db')) as [number, { ino: bigint }])[1].ino, id, 'after the last close: the server id');
});

t.test('a file created here and linked while open: both names show the server id from the link on', async (t) => {
  const { tree, call } = setup();
  await call('readdir', '/d');
  await call('getattr', '/d/a');
  const [, fh] = (await call('create', '/d/a', 0o644)) as [number, number];
  await call('write', '/d/a', fh, Buffer.from('x'), 1, 0);
  const shown = ((await call('fgetattr', '/d/a', fh)) as [number, { ino: bigint }])[1].ino;
  t.equal((await call('link', '/d/a', '/d/b'))[0], 0, 'link');
  const id = tree.find('d\\a').stat.fileIndex;
  t.not(shown, id, 'the number first shown was not the server id');
  const inoOf = async (p: string) => ((await call('getattr', p)) as [number, { ino: bigint }])[1].ino;
  t.same([await inoOf('/d/a'), await inoOf('/d/b')], [id, id], 'stat of either name: the server id');
  t.equal(((await call('fgetattr', '/d/a', fh)) as [number, { ino: bigint }])[1].ino, id, 'fstat of the open descriptor too');
  await call('release', '/d/a', fh);
});

t.test('a share this session may not create files in: the CREATE goes at create, and its refusal fails the create', async (t) => {
  const { tree, call, calls } = setup();
  tree.shareAccess = 0x1f00a9; // Samba's read-only share: no FILE_ADD_FILE
  t.equal((await call('getattr', '/d/new.txt'))[0], -2, 'known absent');
  calls();
  const [e, fh] = (await call('create', '/d/new.txt', 0o644)) as [number, number];
  t.equal(e, 0, 'this fake server takes it anyway');
  t.ok(calls().create, 'but the CREATE went at create, not at the close');
  await call('release', '/d/new.txt', fh);
});

t.test('a directory whose listing says files may not be made in it: the CREATE goes at create; another directory still waits', async (t) => {
  const { tree, call, calls } = setup();
  tree.add('locked', null);
  tree.dirAccess.set('locked', 0x1200a9); // read and list, no FILE_ADD_FILE
  await call('readdir', '/locked');
  await call('readdir', '/d');
  calls();
  const [e, fh] = (await call('create', '/locked/new.txt', 0o644)) as [number, number];
  t.equal(e, 0, 'this fake server takes it anyway');
  t.ok(calls().create, 'the CREATE went at create');
  await call('release', '/locked/new.txt', fh);
  calls();
  const [e2, fh2] = (await call('create', '/d/other.txt', 0o644)) as [number, number];
  t.equal(e2, 0);
  t.same(calls(), {}, 'in /d it still waits for the close');
  await call('flush', '/d/other.txt', fh2);
  await call('release', '/d/other.txt', fh2);
});

t.test('a directory not known to take new files: the first create there goes at open, and once it made a file the next ones wait', async (t) => {
  const { call, calls } = setup();
  t.equal((await call('getattr', '/d/one.txt'))[0], -2, 'known absent, in a directory never listed here');
  calls();
  const [e1, f1] = (await call('create', '/d/one.txt', 0o644)) as [number, number];
  t.equal(e1, 0);
  t.ok(calls().create, 'the first CREATE went at create');
  await call('release', '/d/one.txt', f1);
  t.equal((await call('getattr', '/d/two.txt'))[0], -2);
  calls();
  const [e2, f2] = (await call('create', '/d/two.txt', 0o644)) as [number, number];
  t.equal(e2, 0);
  t.equal((await call('write', '/d/two.txt', f2, Buffer.from('two'), 3, 0))[0], 3);
  t.same(calls(), {}, 'the second waits for its close');
  await call('flush', '/d/two.txt', f2);
  await call('release', '/d/two.txt', f2);
  t.same(calls(), { createWriteClose: 1 }, 'one compound');
});

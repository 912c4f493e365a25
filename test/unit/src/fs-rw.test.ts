/**
 * The read-write filesystem through its FUSE handlers, against the in-memory
 * SmbTree, with real netfs inodes (netfs's own write path when it has one,
 * write-through otherwise).
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { SmbFs, type InodeFactory } from '../../../src/fs.js';
import type { FsInode } from '../../../src/fs-inode.js';
import { O_APPEND, O_CREAT, O_EXCL, O_TRUNC } from '../../../src/fs-files.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { toFuseErrno } from '../../../src/errno.js';
import { decodeMfSymlink, encodeMfSymlink } from '../../../src/mfsymlink.js';
import type { CacheMode } from '../../../src/config.js';
import { FakeTree } from '../../helpers/fake-tree.js';
import { SmbStatusError, SmbTransportError } from '../../../transport/errors.js';
import { NtStatus } from '../../../transport/ntstatus.js';

const O_RDWR = 2;
const O_WRONLY = 1;

function setup(over: { cache?: CacheMode; factory?: InodeFactory; leaseState?: number; modeFromSid?: boolean; allowOther?: boolean; unicode?: 'nfc' | 'nfd'; log?: (l: string) => void } = {}) {
  const tree = new FakeTree();
  if (over.leaseState !== undefined) tree.leaseState = over.leaseState;
  tree.add('', null);
  tree.add('docs', null);
  tree.add('docs\\a.txt', Buffer.from('alpha\n'));
  tree.add('hello.txt', Buffer.from('hello world\n'));
  const cache = new PageCache({ maxBytes: 16 * 1024 * 1024, folioSize: 65536 });
  const factory: InodeFactory = over.factory ?? ((key, size, ops) => {
    const inode = new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops });
    return inode;
  });
  let now = 1_000_000;
  const fs = new SmbFs(tree, {
    uid: 1, gid: 2, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, wsize: 1 << 20,
    cache: over.cache ?? 'strict', now: () => now, ...(over.modeFromSid ? { modeFromSid: true } : {}), ...(over.allowOther ? { allowOther: true } : {}),
    ...(over.unicode ? { unicode: over.unicode } : {}), ...(over.log ? { log: over.log } : {}),
  }, factory);
  const ops = makeFuseOps(fs, { timeoutMs: 5000 }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  const openFh = async (path: string, flags: number) => {
    const [err, fh] = await call('open', path, flags) as [number, number];
    if (err !== 0) throw new Error(`open ${path}: ${err}`);
    return fh;
  };
  const write = async (path: string, fh: number, data: string | Buffer, pos: number) => {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
    return (await call('write', path, fh, b, b.length, pos))[0] as number;
  };
  const read = async (path: string, fh: number, len: number, pos: number) => {
    const b = Buffer.alloc(len);
    const [n] = await call('read', path, fh, b, len, pos) as [number];
    if (n < 0) throw new Error(`read: ${n}`);
    return b.subarray(0, n);
  };
  const close = async (path: string, fh: number) => {
    const [e] = await call('flush', path, fh) as [number];
    await call('release', path, fh);
    return e;
  };
  const stat = async (path: string) => (await call('getattr', path)) as [number, { mode: number; size: number; mtime: Date; nlink: number }?];
  return { tree, fs, ops, call, openFh, write, read, close, stat, advance: (ms: number) => (now += ms) };
}

for (const cache of ['strict', 'loose', 'none'] as const) {
  t.test(`create, write, read back, size before close (cache=${cache})`, async (t) => {
    const { tree, fs, call, write, read, close, stat } = setup({ cache });
    t.same(await stat('/new.txt'), [-2], 'absent (cached negatively)');
    const [err, fh] = await call('create', '/new.txt', 0o644) as [number, number];
    t.equal(err, 0);
    t.equal((await stat('/new.txt'))[1]!.size, 0, 'negative entry gone after create');
    const [, list] = await call('readdir', '/') as [number, string[]];
    t.ok(list.includes('new.txt'), 'parent listing invalidated');
    t.equal(await write('/new.txt', fh, 'hello ', 0), 6);
    t.equal(await write('/new.txt', fh, 'there', 6), 5);
    t.equal((await stat('/new.txt'))[1]!.size, 11, 'size visible before close');
    t.equal((await read('/new.txt', fh, 100, 0)).toString(), 'hello there');
    t.equal(await write('/new.txt', fh, 'X', 20), 1, 'write past EOF');
    t.same([...(await read('/new.txt', fh, 100, 0))].slice(11, 20), Array(9).fill(0), 'hole reads as zeros');
    t.equal(await close('/new.txt', fh), 0);
    t.equal(tree.find('new.txt').data!.length, 21);
    t.equal(tree.text('new.txt').slice(0, 11), 'hello there');
    t.equal((await stat('/new.txt'))[1]!.size, 21, 'server size after close');
    // release answers at once and the CLOSE goes on in the background; the
    // kernel's next request comes as a later event, as this turn does.
    await new Promise((r) => setImmediate(r));
    await fs.files.settle('/new.txt');
    t.equal(tree.handles.size, 0);
  });
}

t.test('O_EXCL, O_TRUNC, O_WRONLY', async (t) => {
  const { tree, fs, openFh, write, close, read } = setup();
  t.equal(await fs.create('/hello.txt', O_CREAT | O_EXCL | O_RDWR).catch(toFuseErrno), -17, 'EEXIST');
  const fh = await fs.create('/excl.txt', O_CREAT | O_EXCL | O_RDWR);
  await close('/excl.txt', fh);
  const tr = await openFh('/hello.txt', O_WRONLY | O_TRUNC);
  t.equal(tree.find('hello.txt').data!.length, 0, 'truncated in the open');
  await write('/hello.txt', tr, 'new', 0);
  await close('/hello.txt', tr);
  t.equal(tree.text('hello.txt'), 'new');
  const r = await openFh('/hello.txt', 0);
  t.equal((await read('/hello.txt', r, 100, 0)).toString(), 'new', 'no stale pages after the change');
  t.equal(await write('/hello.txt', r, 'x', 0), -9, 'EBADF writing a read-only descriptor');
  await close('/hello.txt', r);
});

t.test('O_APPEND from several descriptors never overwrites', async (t) => {
  const { tree, openFh, write, close } = setup();
  const a = await openFh('/hello.txt', O_WRONLY | O_APPEND);
  const b = await openFh('/hello.txt', O_WRONLY | O_APPEND);
  const writes: Array<Promise<number>> = [];
  for (let i = 0; i < 20; i++) writes.push(write('/hello.txt', i % 2 ? a : b, `<${i}>`, 0));
  await Promise.all(writes);
  await close('/hello.txt', a);
  await close('/hello.txt', b);
  const text = tree.text('hello.txt');
  t.ok(text.startsWith('hello world\n'), 'original kept');
  for (let i = 0; i < 20; i++) t.ok(text.includes(`<${i}>`), `append ${i} present`);
  t.equal(text.length, 12 + 20 * 3 + 10 * 1);
});

t.test('truncate and ftruncate, up and down', async (t) => {
  const { tree, call, openFh, write, read, close, stat } = setup();
  t.same(await call('truncate', '/hello.txt', 5), [0]);
  t.equal(tree.text('hello.txt'), 'hello');
  t.equal((await stat('/hello.txt'))[1]!.size, 5);
  const fh = await openFh('/hello.txt', O_RDWR);
  t.same(await call('ftruncate', '/hello.txt', fh, 8), [0]);
  t.same([...(await read('/hello.txt', fh, 100, 0))], [...Buffer.from('hello'), 0, 0, 0]);
  await write('/hello.txt', fh, 'abcdef', 0);
  t.same(await call('ftruncate', '/hello.txt', fh, 2), [0]);
  t.equal((await read('/hello.txt', fh, 100, 0)).toString(), 'ab');
  t.equal((await stat('/hello.txt'))[1]!.size, 2);
  await close('/hello.txt', fh);
  t.equal(tree.text('hello.txt'), 'ab');
});

t.test('unlink of an open file: name gone at once, descriptor works, deleted on last close', async (t) => {
  const { tree, call, openFh, write, read, close, stat } = setup();
  const fh = await openFh('/docs/a.txt', O_RDWR);
  t.same(await call('unlink', '/docs/a.txt'), [0]);
  t.same(await stat('/docs/a.txt'), [-2], 'name gone');
  const [, names] = await call('readdir', '/docs') as [number, string[]];
  t.notOk(names.includes('a.txt'));
  const hidden = [...tree.files.keys()].find((p) => p.startsWith('docs\\.smbfuse-deleted-'));
  t.ok(hidden, 'silly-renamed to a hidden name');
  await write('/docs/a.txt', fh, 'ALPHA', 0);
  t.equal((await read('/docs/a.txt', fh, 100, 0)).toString(), 'ALPHA\n', 'still reads and writes');
  await close('/docs/a.txt', fh);
  t.notOk(tree.files.has(hidden!), 'deleted on last close');
  t.same([...tree.files.keys()].filter((p) => p.startsWith('docs\\')), []);
  t.same(await call('unlink', '/docs/nope'), [-2]);
  t.same(await call('unlink', '/hello.txt'), [0], 'closed file: one unlink');
  t.notOk(tree.files.has('hello.txt'));
});

t.test('our own silly rename: never listed, found only while open, fgetattr by descriptor, no links left', async (t) => {
  const { tree, call, openFh, close, stat } = setup();
  const fh = await openFh('/docs/a.txt', O_RDWR);
  t.same(await call('unlink', '/docs/a.txt'), [0]);
  const hidden = [...tree.files.keys()].find((p) => p.startsWith('docs\\.smbfuse-deleted-'))!;
  const fusePath = '/' + hidden.replace('\\', '/');
  const [, names] = await call('readdir', '/docs') as [number, string[]];
  t.same(names, ['.', '..'], 'the hidden name is not listed');
  t.equal((await stat(fusePath))[1]!.nlink, 0, 'found while open (as libfuse needs for fstat), with no links');
  const [err, st] = await call('fgetattr', '', fh) as [number, { size: number; nlink: number }];
  t.equal(err, 0, 'fgetattr without a path (libfuse passes none after an unlink)');
  t.same([st.size, st.nlink], [6, 0], 'its size, and no links left');
  t.same(await call('create', fusePath, 0o644), [-22], 'such a name cannot be created');
  t.same(await call('mkdir', '/docs/.smbfuse-deleted-00000000000000ff', 0o755), [-22]);
  await close('', fh);
  t.notOk(tree.files.has(hidden), 'deleted on the last close');
  t.same(await stat(fusePath), [-2], 'and not found any more');
});

t.test("libfuse hides an open file: renamed on the server, not listed, found while open, deleted at close", async (t) => {
  const { tree, call, openFh, read, close, stat } = setup();
  const fh = await openFh('/docs/a.txt', O_RDWR);
  const hidden = '/docs/.fuse_hidden0000000200000001';
  t.same(await stat(hidden), [-2], 'a free hidden name is not found (libfuse checks before renaming)');
  t.same(await call('rename', '/docs/a.txt', hidden), [0], 'libfuse renames the open file away');
  t.ok(tree.files.has('docs\\.fuse_hidden0000000200000001'), 'on the server too');
  const [, names] = await call('readdir', '/docs') as [number, string[]];
  t.same(names, ['.', '..'], 'not listed');
  const [err, st] = await stat(hidden);
  t.equal(err, 0, 'found while open (libfuse serves fstat by this path)');
  t.same([st!.size, st!.nlink], [6, 0]);
  t.equal((await read(hidden, fh, 100, 0)).toString(), 'alpha\n');
  await close(hidden, fh);
  t.notOk(tree.files.has('docs\\.fuse_hidden0000000200000001'), 'deleted at the last close');
  t.same(await call('unlink', hidden), [-2], "libfuse's own unlink after release finds nothing left");
  t.same(await call('rename', '/hello.txt', '/docs/.fuse_hidden0000000300000001'), [-22], 'a closed file cannot take such a name');
});

t.test('a hidden file left by a dead daemon is deleted by the next listing', async (t) => {
  const { tree, call } = setup();
  tree.add('docs\\.smbfuse-deleted-0123456789abcdef', Buffer.from('left'));
  tree.add('docs\\.smbfuse-deleted-lookalike', Buffer.from('mine'));
  const [, names] = await call('readdir', '/docs') as [number, string[]];
  t.same(names.sort(), ['.', '..', '.smbfuse-deleted-lookalike', 'a.txt']);
  t.notOk(tree.files.has('docs\\.smbfuse-deleted-0123456789abcdef'), 'deleted on the server');
  t.ok(tree.files.has('docs\\.smbfuse-deleted-lookalike'), 'a user file that only looks alike stays');
});

t.test('link counts: entries carry none, the count last reported for the file id is used', async (t) => {
  const { call, stat, advance } = setup();
  t.same(await call('link', '/hello.txt', '/docs/hard'), [0]);
  t.equal((await stat('/hello.txt'))[1]!.nlink, 2);
  advance(5000); // the attribute cache has expired; the listing is all we have
  const [, names, stats] = await call('readdir', '/') as [number, string[], { nlink: number; ino: bigint }[]];
  t.equal(stats[names.indexOf('hello.txt')]!.nlink, 2, 'listing: 2, as last reported');
  t.equal((await stat('/hello.txt'))[1]!.nlink, 2, 'getattr from the listing: 2');
  const [, hardSt] = await call('getattr', '/docs/hard') as [number, { ino: bigint }];
  t.equal(hardSt.ino, (stats[names.indexOf('hello.txt')] as { ino: bigint }).ino, 'one inode number for both names');
  t.same(await call('unlink', '/docs/hard'), [0]);
  t.equal((await stat('/hello.txt'))[1]!.nlink, 1, 'the other name forgets its count on unlink');
});

t.test('rename: plain, over a file, over an open file, directories, across directories', async (t) => {
  const { tree, call, openFh, write, read, close, stat } = setup();
  t.same(await call('rename', '/hello.txt', '/docs/h.txt'), [0], 'across directories');
  t.same(await stat('/hello.txt'), [-2]);
  t.equal((await stat('/docs/h.txt'))[1]!.size, 12);
  t.same(await call('rename', '/docs/h.txt', '/docs/a.txt'), [0], 'over an existing file');
  t.equal(tree.text('docs\\a.txt'), 'hello world\n');
  tree.add('old.txt', Buffer.from('old'));
  const held = await openFh('/docs/a.txt', 0);
  t.same(await call('rename', '/old.txt', '/docs/a.txt'), [0], 'over a file open here');
  t.equal((await read('/docs/a.txt', held, 100, 0)).toString(), 'hello world\n', 'open descriptor keeps the old data');
  await close('/docs/a.txt', held);
  t.equal(tree.text('docs\\a.txt'), 'old');
  t.same([...tree.files.keys()].filter((p) => p.includes('smbfuse-deleted')), [], 'replaced file deleted on close');

  const fh = await openFh('/docs/a.txt', O_RDWR);
  t.same(await call('rename', '/docs', '/moved'), [0], 'directory rename with an open file below');
  t.same(await stat('/docs/a.txt'), [-2]);
  await write('/moved/a.txt', fh, 'NEW', 0);
  t.equal((await stat('/moved/a.txt'))[1]!.size, 3, 'open file followed the rename');
  await close('/moved/a.txt', fh);
  t.equal(tree.text('moved\\a.txt'), 'NEW');

  tree.add('empty', null);
  t.same(await call('rename', '/moved', '/empty'), [0], 'over an empty directory');
  t.equal(tree.text('empty\\a.txt'), 'NEW');
  tree.add('full', null);
  tree.add('full\\x', Buffer.from('x'));
  t.same(await call('rename', '/empty', '/full'), [-39], 'ENOTEMPTY over a non-empty directory');
  t.same(await call('rename', '/empty', '/full/x'), [-20], 'ENOTDIR dir over file');
  t.same(await call('rename', '/full/x', '/empty'), [-21], 'EISDIR file over dir');
});

t.test('mkdir, rmdir, ENOTEMPTY, ENAMETOOLONG, special characters', async (t) => {
  const { tree, call, stat } = setup();
  t.same(await stat('/d'), [-2]);
  t.same(await call('mkdir', '/d', 0o755), [0]);
  t.equal((await stat('/d'))[1]!.mode, 0o040755);
  t.same(await call('mkdir', '/d', 0o755), [-17]);
  const [e, fh] = await call('create', '/d/f', 0o644) as [number, number];
  t.equal(e, 0);
  await call('release', '/d/f', fh);
  t.same(await call('rmdir', '/d'), [-39], 'ENOTEMPTY');
  t.same(await call('unlink', '/d/f'), [0]);
  t.same(await call('rmdir', '/d'), [0]);
  t.same(await stat('/d'), [-2]);
  t.same(await call('mkdir', '/' + 'x'.repeat(256), 0o755), [-36]);
  t.same(await call('mkdir', '/' + 'x'.repeat(255), 0o755), [0]);
  const [e2, f2] = await call('create', '/a:b?c*"<>|', 0o644) as [number, number];
  t.equal(e2, 0);
  await call('release', '/a:b?c*"<>|', f2);
  t.ok(tree.files.has('a\uf022b\uf025c\uf021\uf020\uf023\uf024\uf027'), 'stored with the private-use mapping');
  const [, names] = await call('readdir', '/') as [number, string[]];
  t.ok(names.includes('a:b?c*"<>|'), 'round-trips');
});

t.test('new names: too long or not UTF-8 refused at create, before any round trip; a name long in bytes is created at open', async (t) => {
  const { tree, call, stat } = setup();
  const before = Object.values(tree.calls).reduce((a, b) => a + b, 0);
  t.same(await call('create', '/' + 'x'.repeat(256), 0o644), [-36], 'create of 256 units: ENAMETOOLONG');
  t.same(await call('create', '/caf\uFFFD', 0o644), [-84], 'create of a name the binding got bad bytes in: EILSEQ');
  t.same(await call('mkdir', '/r\uFFFDp', 0o755), [-84], 'mkdir too');
  t.same(await call('rename', '/hello.txt', '/h\uFFFD'), [-84], 'and a rename to one');
  t.equal(Object.values(tree.calls).reduce((a, b) => a + b, 0), before, 'nothing sent for any of them');
  t.same(await stat('/' + 'é'.repeat(200)), [-2], 'a name of 200 units, 400 bytes: looked up');
  const creates = tree.calls['create'] ?? 0;
  const [e, fh] = (await call('create', '/' + 'é'.repeat(200), 0o644)) as [number, number];
  t.equal(e, 0, 'this server takes it');
  t.equal(tree.calls['create'], creates + 1, 'its CREATE went at open: a server that refused it would fail the open, not the close');
  await call('release', '/' + 'é'.repeat(200), fh);
});

t.test('unicode: names in the chosen form, NFD length checked, server spellings kept', async (t) => {
  const e = '\u00e9'; // é, 'e\u0301' in NFD
  const nfd = setup({ unicode: 'nfd' });
  t.same(await nfd.call('mkdir', '/' + e.repeat(128), 0o755), [-36], 'ENAMETOOLONG: 256 units once decomposed');
  t.same(await nfd.call('mkdir', '/' + e.repeat(127), 0o755), [0]);
  t.ok(nfd.tree.files.has('e\u0301'.repeat(127)), 'stored decomposed');
  const nfc = setup();
  t.same(await nfc.call('mkdir', '/' + e.repeat(128), 0o755), [0], 'fits in NFC');
  nfc.tree.add('caf' + 'e\u0301', Buffer.from('nfd'));
  t.equal((await nfc.stat('/caf' + 'e\u0301'))[0], 0, 'a stored NFD name is found by its spelling (second lookup)');
  const fh = await nfc.openFh('/caf' + 'e\u0301', O_RDWR);
  t.equal(fh > 0, true, 'and opened');
  t.same(await nfc.stat('/caf' + e), [-2], 'the NFC spelling is another name');
});

t.test('chmod under allow_other without modefromsid: write bits ↔ READONLY, anything else EPERM', async (t) => {
  const { tree, call, stat } = setup({ allowOther: true });
  t.same(await call('chmod', '/hello.txt', 0o444), [0], 'file_mode 0644 without write bits');
  t.equal(tree.find('hello.txt').stat.attributes & 1, 1, 'READONLY set');
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100444);
  t.same(await call('chmod', '/hello.txt', 0o644), [0], 'back to file_mode');
  t.equal(tree.find('hello.txt').stat.attributes & 1, 0, 'READONLY cleared');
  const n = tree.calls['setAttributesPath'];
  for (const m of [0o600, 0o755, 0o4644, 0o664, 0o000]) {
    t.same(await call('chmod', '/hello.txt', m), [-1], `chmod 0${m.toString(8)}: EPERM`);
  }
  t.equal(tree.calls['setAttributesPath'], n, 'nothing sent for a refused chmod');
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100644, 'mode unchanged');
  t.same(await call('chmod', '/docs', 0o755), [0], 'a directory: dir_mode');
  t.same(await call('chmod', '/docs', 0o700), [-1], 'a directory: anything else EPERM');
});

t.test('chmod on a mount only its user reaches, without modefromsid: as mount.cifs, write bits ↔ READONLY and the rest dropped; chown accepted; utimens; link', async (t) => {
  const { tree, call, stat } = setup();
  for (const [m, ro] of [[0o600, 0], [0o000, 1], [0o4755, 0], [0o555, 1], [0o664, 0], [0o400, 1]] as const) {
    t.same(await call('chmod', '/hello.txt', m), [0], `chmod 0${m.toString(8)}: accepted`);
    t.equal(tree.find('hello.txt').stat.attributes & 1, ro, ro ? 'no write bit: READONLY set' : 'a write bit: READONLY cleared');
    t.equal((await stat('/hello.txt'))[1]!.mode, ro ? 0o100444 : 0o100644, 'stat shows file_mode, without its write bits when READONLY');
  }
  const n = tree.calls['setAttributesPath'];
  t.same(await call('chmod', '/hello.txt', 0o440), [0], 'another mode without write bits, READONLY already set');
  t.equal(tree.calls['setAttributesPath'], n, 'sends nothing');
  t.same(await call('chmod', '/docs', 0o700), [0], 'a directory: accepted');
  t.equal((await stat('/docs'))[1]!.mode, 0o040755, 'and shows dir_mode still');
  t.same(await call('chown', '/hello.txt', 4242, 4242), [0], 'chown accepted (ignored)');
  t.same(await call('chown', '/nope', 0, 0), [-2]);
  const when = Date.UTC(2020, 0, 2);
  t.same(await call('utimens', '/hello.txt', new Date(when), new Date(when)), [0]);
  t.equal((await stat('/hello.txt'))[1]!.mtime.getTime(), when);
  t.same(await call('utimens', '/hello.txt', null, new Date(when + 7000)), [0], 'atime omitted');
  t.equal(tree.find('hello.txt').stat.lastAccessTime.getTime(), when, 'atime left as it was');
  t.equal(tree.find('hello.txt').stat.lastWriteTime.getTime(), when + 7000, 'mtime set');
  t.same(await call('utimens', '/hello.txt', new Date(when + 9000), null), [0], 'mtime omitted');
  t.equal(tree.find('hello.txt').stat.lastWriteTime.getTime(), when + 7000, 'mtime left as it was');
  t.equal(tree.find('hello.txt').stat.lastAccessTime.getTime(), when + 9000, 'atime set');
  t.same(await call('link', '/hello.txt', '/docs/hard'), [0]);
  t.equal((await stat('/docs/hard'))[1]!.nlink, 2);
  t.same(await call('chmod', '/hello.txt', 0o444), [0]);
  t.same(await call('unlink', '/hello.txt'), [0], 'a READONLY file can still be removed');
});

t.test('modefromsid: modes from the descriptor, chmod stores them, EPERM for what the server drops', async (t) => {
  const { tree, call, stat } = setup({ modeFromSid: true });
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100644, 'no DACL: file_mode');
  tree.find('docs\\a.txt').mode = 0o600;
  tree.find('docs').mode = 0o711;
  const [, names, stats] = await call('readdir', '/docs') as [number, string[], Array<{ mode: number }>];
  t.equal(stats[names.indexOf('a.txt')]!.mode, 0o100600, 'readdir shows the mode from the descriptor');
  const before = { ...tree.calls };
  t.equal((await stat('/docs/a.txt'))[1]!.mode, 0o100600, 'getattr after the listing');
  t.equal((await stat('/docs'))[1]!.mode, 0o040711, 'the directory too');
  t.same(tree.calls, before, 'both from the cache the listing filled');
  t.same(await call('chmod', '/hello.txt', 0o755), [0]);
  t.same(await call('chmod', '/hello.txt', 0o640), [0]);
  t.equal(tree.find('hello.txt').mode, 0o640, 'stored');
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100640, 'and reported');
  t.same(await call('chmod', '/hello.txt', 0o444), [0]);
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100444);
  tree.add('ro.txt', Buffer.from('x'), { attributes: 0x21 });
  t.equal((await stat('/ro.txt'))[1]!.mode, 0o100444, 'READONLY hides the write bits');
  t.same(await call('chmod', '/ro.txt', 0o644), [0], 'a write bit on a READONLY file');
  t.equal(tree.find('ro.txt').stat.attributes & 1, 0, 'clears READONLY');
  t.equal((await stat('/ro.txt'))[1]!.mode, 0o100644);
  tree.keptModeBits = 0o777;
  t.same(await call('chmod', '/hello.txt', 0o4755), [-1], 'setuid the server drops: EPERM');
  t.equal((await stat('/hello.txt'))[1]!.mode, 0o100755, 'shows what the server kept');
  const [e, fh] = await call('create', '/new.key', 0o600) as [number, number];
  t.equal(e, 0);
  await call('release', '/new.key', fh);
  t.equal(tree.find('new.key').mode, 0o600, 'a new file gets its create mode');
  t.same(await call('mkdir', '/private', 0o700), [0]);
  t.equal((await stat('/private'))[1]!.mode, 0o040700, 'a new directory too');
  const sets = tree.calls['setMode'];
  const [e2, fh2] = await call('create', '/hello.txt', 0o600) as [number, number];
  t.equal(e2, 0);
  await call('release', '/hello.txt', fh2);
  t.equal(tree.calls['setMode'], sets, 'an existing file opened by create keeps its mode');
});

t.test('mfsymlinks: format, symlink/readlink, getattr as a link', async (t) => {
  const body = encodeMfSymlink('../some/target');
  t.equal(body.length, 1067);
  t.equal(body.toString('latin1', 0, 10), 'XSym\n0014\n');
  t.match(body.toString('latin1', 10, 43), /^[0-9a-f]{32}\n$/);
  t.equal(body.toString('latin1', 43, 58), '../some/target\n');
  t.equal(body[1066], 0x20, 'space padding');
  t.equal(decodeMfSymlink(body), '../some/target');
  const bad = Buffer.from(body);
  bad[45] = 0x41;
  t.equal(decodeMfSymlink(bad), null, 'MD5 mismatch: not a link');
  t.equal(decodeMfSymlink(body.subarray(1)), null);
  t.equal(decodeMfSymlink(encodeMfSymlink('ünï/ç')), 'ünï/ç');
  t.throws(() => encodeMfSymlink('x'.repeat(1025)));

  const { tree, call, stat } = setup();
  t.same(await call('symlink', 'docs/a.txt', '/ln'), [0]);
  t.equal(tree.find('ln').data!.length, 1067);
  const [, st] = await stat('/ln');
  t.equal(st!.mode & 0o170000, 0o120000, 'S_IFLNK');
  t.equal(st!.size, 10);
  t.same(await call('readlink', '/ln'), [0, 'docs/a.txt']);
  t.same(await call('readlink', '/hello.txt'), [-22]);
  tree.add('plain1067', Buffer.alloc(1067, 0x41));
  t.equal((await stat('/plain1067'))[1]!.mode & 0o170000, 0o100000, 'a 1067-byte ordinary file stays regular');
  t.same(await call('symlink', 'x', '/ln'), [-17]);
});

t.test('xattrs: user.* ↔ EAs, other namespaces ENOTSUP', async (t) => {
  const { tree, call } = setup();
  t.same(await call('listxattr', '/hello.txt'), [0, []]);
  t.same(await call('getxattr', '/hello.txt', 'user.k', 0), [-61]);
  t.same(await call('setxattr', '/hello.txt', 'user.k', Buffer.from('v1'), 0, 0), [0]);
  t.same(tree.find('hello.txt').eas.get('k'), Buffer.from('v1'), 'stored without the prefix');
  t.same(await call('getxattr', '/hello.txt', 'user.k', 0), [0, Buffer.from('v1')]);
  t.same(await call('listxattr', '/hello.txt'), [0, ['user.k']]);
  t.same(await call('setxattr', '/hello.txt', 'user.k', Buffer.from('v2'), 0, 1 /* XATTR_CREATE */), [-17]);
  t.same(await call('setxattr', '/hello.txt', 'user.z', Buffer.from('v2'), 0, 2 /* XATTR_REPLACE */), [-61]);
  t.same(await call('removexattr', '/hello.txt', 'user.k'), [0]);
  t.same(await call('removexattr', '/hello.txt', 'user.k'), [-61]);
  t.same(await call('getxattr', '/hello.txt', 'security.selinux', 0), [-95]);
  t.same(await call('setxattr', '/hello.txt', 'trusted.x', Buffer.from('v'), 0, 0), [-95]);
});

/** A scripted inode: records calls, and its flush fails once with `sticky`. */
function stickyFactory(): { factory: InodeFactory; fail: (errno: number) => void } {
  let pending = 0;
  const factory: InodeFactory = (_key, size) => {
    let sz = size;
    let dirty = 0;
    const inode: FsInode = {
      get size() { return sz; },
      get dirtyBytes() { return dirty; },
      read: async () => 0,
      isCached: () => false,
      prime: () => false,
      readUnbuffered: async () => 0,
      write: async (pos: number, buf: Buffer) => { dirty += buf.length; sz = Math.max(sz, pos + buf.length); },
      writeUnbuffered: async () => {},
      flush: async () => {
        dirty = 0;
        if (pending) {
          const e = pending;
          pending = 0;
          throw Object.assign(new Error('write failed'), { code: 'NETFS_IO_ERROR', errno: e });
        }
      },
      setSize: (n: number) => { sz = n; },
      truncate: async (n: number) => { sz = n; },
      invalidate: () => {},
      discard: () => {},
    };
    return inode;
  };
  return { factory, fail: (e) => (pending = e) };
}

t.test('a failed writeback is returned once by flush/fsync', async (t) => {
  const { factory, fail } = stickyFactory();
  const { call, openFh, write } = setup({ factory });
  const fh = await openFh('/hello.txt', O_RDWR);
  t.equal(await write('/hello.txt', fh, 'data', 0), 4, 'buffered write succeeds');
  fail(-28);
  t.same(await call('flush', '/hello.txt', fh), [-28], 'ENOSPC at close');
  t.same(await call('flush', '/hello.txt', fh), [0], 'only once');
  fail(-5);
  t.same(await call('fsync', '/hello.txt', false, fh), [-5], 'fsync reports it too');
  t.same(await call('fsync', '/hello.txt', false, fh), [0]);
  t.same(await call('release', '/hello.txt', fh), [0]);
});

t.test('cache=strict: no R lease means no cached reads; a break flushes and drops pages', async (t) => {
  const { tree, fs, openFh, read, write, close } = setup({ leaseState: 0 });
  const fh = await openFh('/hello.txt', O_RDWR);
  await read('/hello.txt', fh, 100, 0);
  const reads = tree.calls['read'] ?? 0;
  await read('/hello.txt', fh, 100, 0);
  t.equal(tree.calls['read'], reads + 1, 'without R every read goes to the server');
  await write('/hello.txt', fh, 'HELLO', 0);
  t.equal(tree.text('hello.txt'), 'HELLO world\n', 'without W the write went through at once');
  await close('/hello.txt', fh);

  tree.leaseState = 7;
  const g = await openFh('/hello.txt', O_RDWR);
  await read('/hello.txt', g, 100, 0);
  const r2 = tree.calls['read'] ?? 0;
  await read('/hello.txt', g, 100, 0);
  t.equal(tree.calls['read'], r2, 'with R reads hit the cache');
  const h = fs.handles.getFile(g)!;
  await tree.breakLease(h.fileId!, 0);
  t.equal(h.leaseState, 0, 'lease state follows the break');
  tree.find('hello.txt').data = Buffer.from('changed elsewhere');
  t.equal((await read('/hello.txt', g, 100, 0)).toString(), 'changed elsewhere', 'pages dropped on losing R');
  await close('/hello.txt', g);
});

t.test('unmount writes back and closes everything', async (t) => {
  const { tree, fs, openFh, write } = setup();
  const fh = await openFh('/hello.txt', O_RDWR);
  await write('/hello.txt', fh, 'BYE', 0);
  await fs.closeAll();
  t.equal(tree.text('hello.txt').slice(0, 3), 'BYE');
  t.equal(tree.handles.size, 0);
  t.equal(fs.handles.size, 0);
});

t.test('statfs on a read-write mount is not ST_RDONLY', async (t) => {
  const { call } = setup();
  const [, s] = await call('statfs', '/') as [number, { flag: number }];
  t.equal(s.flag, 0);
  void O_APPEND;
});

t.test('creating files in a new directory needs no lookup round trips', async (t) => {
  const { tree, call } = setup();
  t.same(await call('mkdir', '/fresh', 0o755), [0]);
  const before = tree.calls.stat ?? 0;
  for (let i = 0; i < 20; i++) {
    t.same(await call('getattr', `/fresh/f${i}`), [-2], 'absent name answered from the listing');
    const [err, fh] = await call('create', `/fresh/f${i}`, 0o644) as [number, number];
    t.equal(err, 0);
    await call('release', `/fresh/f${i}`, fh);
  }
  t.equal(tree.calls.stat ?? 0, before, 'no stat round trip for absent names');
  const [, names] = await call('readdir', '/fresh') as [number, string[]];
  t.equal(names.length, 22, 'the listing shows every file created');
  t.same(await call('unlink', '/fresh/f0'), [0]);
  t.same(await call('getattr', '/fresh/f0'), [-2]);
  t.same(await call('rmdir', '/fresh'), [-39], 'ENOTEMPTY still comes from the server');
});

t.test('a buffered write with nothing to wait for is answered before the handler returns, the kernel\'s security.capability probe too', async (t) => {
  const { tree, ops, openFh, close } = setup({ cache: 'loose' });
  const fh = await openFh('/hello.txt', O_WRONLY);
  const calls = JSON.stringify(tree.calls);
  const answers: unknown[][] = [];
  const data = Buffer.alloc(200_000, 0x5a);
  ops.getxattr!('/hello.txt', 'security.capability', 0, (...r: unknown[]) => answers.push(r));
  ops.write!('/hello.txt', fh, data, data.length, 0, (...r: unknown[]) => answers.push(r));
  t.same(answers, [[-95], [200_000]], 'both answered synchronously');
  t.equal(JSON.stringify(tree.calls), calls, 'no server request for either');
  data.fill(0); // the caller's buffer is free once answered: the bytes were copied
  t.equal(await close('/hello.txt', fh), 0);
  t.ok(tree.find('hello.txt').data!.equals(Buffer.alloc(200_000, 0x5a)), 'the server has the bytes written');
});

t.test('a write that must wait (cache=none: written through) is answered later, with its bytes', async (t) => {
  const { tree, ops, openFh, close } = setup({ cache: 'none' });
  const fh = await openFh('/hello.txt', O_WRONLY);
  let answer: number | null = null;
  const done = new Promise<void>((resolve) => ops.write!('/hello.txt', fh, Buffer.from('HELLO'), 5, 0, (n: number) => { answer = n; resolve(); }));
  t.equal(answer, null, 'not answered synchronously');
  await done;
  t.equal(answer, 5);
  t.equal(await close('/hello.txt', fh), 0);
  t.equal(tree.find('hello.txt').data!.toString(), 'HELLO world\n');
});

t.test('a write the server refuses is logged with its cause; one lost to the connection is left to the retry', async (t) => {
  const lines: string[] = [];
  const { tree, fs, openFh, write, close } = setup({ log: (l) => lines.push(l) });
  const fh = await openFh('/hello.txt', O_RDWR);
  t.equal(await write('/hello.txt', fh, 'HELLO', 0), 5);
  tree.failWrite = new SmbStatusError(NtStatus.STATUS_DISK_FULL, undefined, 9, 1n);
  t.equal(await close('/hello.txt', fh), -28, 'close reports ENOSPC');
  await new Promise((r) => setImmediate(r));
  await fs.files.settle('/hello.txt');
  // The close's writeback, and the release's retry of the data still dirty.
  const failures = (from = 0) => lines.slice(from).filter((l) => l.includes('a write at'));
  t.ok(failures().length >= 1, `logged (${JSON.stringify(lines)})`);
  for (const l of failures()) t.match(l, /^\/hello\.txt: a write at 0 failed \(STATUS_DISK_FULL .*\)/, 'names the file, the offset and the status');

  const logged = lines.length;
  const fh2 = await openFh('/docs/a.txt', O_RDWR);
  t.equal(await write('/docs/a.txt', fh2, 'again', 0), 5);
  tree.failWrite = new SmbTransportError('connection lost');
  t.equal(await close('/docs/a.txt', fh2), -5, 'retries spent: EIO');
  await new Promise((r) => setImmediate(r));
  await fs.files.settle('/docs/a.txt');
  t.same(failures(logged), [], 'a retryable failure adds no line (the transport logs the reconnect)');
});

/**
 * FUSE handlers against an in-memory SmbTree, reading through real netfs
 * inodes and a real page cache.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { SmbStatusError } from '../../../transport/errors.js';
import { NtStatus } from '../../../transport/ntstatus.js';
import { SmbFs, type InodeFactory } from '../../../src/fs.js';

import { Interrupts } from '../../../src/fuse-interrupt.js';
import { INTERRUPT_GRACE_MS, makeFuseOps } from '../../../src/fuse-ops.js';
import { FakeTree, T0 } from '../../helpers/fake-tree.js';

function setup(over: { timeoutMs?: number; maxIdleInodes?: number; readOnly?: boolean } = {}) {
  const tree = new FakeTree();
  tree.add('', null);
  tree.add('docs', null);
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  tree.add('docs\\big.bin', big);
  tree.add('hello.txt', Buffer.from('hello world\n'));
  tree.add('ro.txt', Buffer.from('x'), { attributes: 0x21 });
  tree.add('odd\uf022name\uf025', Buffer.from('odd'));
  let now = 0;
  const cache = new PageCache({ maxBytes: 16 * 1024 * 1024, folioSize: 65536 });
  const made: string[] = [];
  const factory: InodeFactory = (key, size, ops) => {
    made.push(key);
    const inode = new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops });
    return inode;
  };
  const fs = new SmbFs(tree, {
    uid: 1234, gid: 5678, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, readOnly: over.readOnly ?? true,
    now: () => now, ...(over.maxIdleInodes ? { maxIdleInodes: over.maxIdleInodes } : {}),
  }, factory);
  const ops = makeFuseOps(fs, { timeoutMs: over.timeoutMs ?? 5000 }) as Record<string, (...a: unknown[]) => void>;
  /** Call handler `name` and resolve with its callback arguments. */
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  return { tree, fs, ops, call, made, cache, big, advance: (ms: number) => (now += ms) };
}

t.test('getattr: stat mapping and the attribute cache', async (t) => {
  const { tree, call, advance } = setup();
  const [err, st] = await call('getattr', '/hello.txt') as [number, Record<string, unknown>];
  t.equal(err, 0);
  t.match(st, { mode: 0o100644, uid: 1234, gid: 5678, size: 12, nlink: 1, blocks: 8, mtime: T0, atime: T0, ctime: T0 });
  const [, dir] = await call('getattr', '/') as [number, Record<string, unknown>];
  t.equal(dir.mode, 0o040755);
  const [, ro] = await call('getattr', '/ro.txt') as [number, Record<string, unknown>];
  t.equal(ro.mode, 0o100444, 'FILE_ATTRIBUTE_READONLY clears write bits');
  const n = tree.calls.stat;
  await call('getattr', '/hello.txt');
  t.equal(tree.calls.stat, n, 'served from cache');
  advance(1000);
  await call('getattr', '/hello.txt');
  t.equal(tree.calls.stat, n! + 1, 'expired after actimeo');
});

t.test('getattr: ENOENT, cached negatively', async (t) => {
  const { tree, call } = setup();
  t.same(await call('getattr', '/nope'), [-2]);
  const n = tree.calls.stat;
  t.same(await call('getattr', '/nope'), [-2]);
  t.equal(tree.calls.stat, n);
});

t.test('readdir: dots, mapped names, stats, fills the cache', async (t) => {
  const { tree, call } = setup();
  const [err, names, stats] = await call('readdir', '/') as [number, string[], Array<{ mode: number }>];
  t.equal(err, 0);
  t.same(names.slice(0, 2), ['.', '..']);
  t.same(new Set(names.slice(2)), new Set(['docs', 'hello.txt', 'ro.txt', 'odd:name?']));
  t.equal(stats.length, names.length, 'one stat per name (fuse-native needs equal lengths)');
  t.equal(stats[names.indexOf('docs')]!.mode, 0o040755);
  t.equal(tree.calls.close, tree.calls.open, 'directory handle closed');
  const n = tree.calls.stat;
  const [e2, st] = await call('getattr', '/odd:name?') as [number, { size: number }];
  t.equal(e2, 0);
  t.equal(st.size, 3);
  t.equal(tree.calls.stat, n, 'child stat came from the listing');
  const lists = tree.calls.list;
  await call('readdir', '/');
  t.equal(tree.calls.list, lists, 'listing cached');
  const [, sub] = await call('readdir', '/docs') as [number, string[]];
  t.same(sub, ['.', '..', 'big.bin']);
  t.same(await call('readdir', '/hello.txt'), [-20], 'ENOTDIR');
  t.same(await call('readdir', '/missing'), [-2]);
});

t.test('opendir/releasedir', async (t) => {
  const { call } = setup();
  const [err, fh] = await call('opendir', '/docs', 0) as [number, number];
  t.equal(err, 0);
  t.ok(fh > 0);
  t.same(await call('releasedir', '/docs', fh), [0]);
  t.same(await call('opendir', '/hello.txt', 0), [-20]);
});

t.test('open rejects writes; read through netfs; release closes', async (t) => {
  const { tree, call, big } = setup();
  t.same(await call('open', '/hello.txt', 1), [-30], 'O_WRONLY');
  t.same(await call('open', '/hello.txt', 2), [-30], 'O_RDWR');
  t.same(await call('open', '/hello.txt', 0o1000), [-30], 'O_TRUNC');
  t.same(await call('open', '/hello.txt', 0o100), [-30], 'O_CREAT');
  t.same(await call('open', '/docs', 0), [-21], 'EISDIR');
  t.same(await call('open', '/nope', 0), [-2]);
  const [err, fh] = await call('open', '/hello.txt', 0o100000 /* O_LARGEFILE */) as [number, number];
  t.equal(err, 0);
  const buf = Buffer.alloc(4096);
  const [n] = await call('read', '/hello.txt', fh, buf, 4096, 0) as [number];
  t.equal(n, 12);
  t.equal(buf.subarray(0, n).toString(), 'hello world\n');
  t.same(await call('read', '/hello.txt', fh, buf, 4096, 12), [0], 'EOF');
  const [n2] = await call('read', '/hello.txt', fh, buf, 5, 6) as [number];
  t.equal(buf.subarray(0, n2).toString(), 'world');
  t.same(await call('release', '/hello.txt', fh), [0]);
  t.equal(tree.handles.size, 0, 'server handle closed');
  t.same(await call('read', '/hello.txt', fh, buf, 10, 0), [-9], 'EBADF after release');

  const [, fb] = await call('open', '/docs/big.bin', 0) as [number, number];
  const out = Buffer.alloc(big.length);
  for (let pos = 0; pos < big.length; pos += 131072) {
    const [k] = await call('read', '/docs/big.bin', fb, out.subarray(pos), 131072, pos) as [number];
    t.equal(k, Math.min(131072, big.length - pos));
  }
  t.ok(out.equals(big), 'big file read back intact across rsize/folio boundaries');
  await call('release', '/docs/big.bin', fb);
});

t.test('inode sharing: unchanged file hits the page cache, changed file does not', async (t) => {
  const { tree, call, made } = setup();
  const buf = Buffer.alloc(100);
  const [, a] = await call('open', '/hello.txt', 0) as [number, number];
  const [, b] = await call('open', '/hello.txt', 0) as [number, number];
  await call('read', '/hello.txt', a, buf, 100, 0);
  const reads = tree.calls.read;
  await call('read', '/hello.txt', b, buf, 100, 0);
  t.equal(tree.calls.read, reads, 'second open shares the inode and its pages');
  await call('release', '/hello.txt', a);
  await call('release', '/hello.txt', b);
  const [, c] = await call('open', '/hello.txt', 0) as [number, number];
  const [n] = await call('read', '/hello.txt', c, buf, 100, 0) as [number];
  t.equal(tree.calls.read, reads, 're-open of an unchanged file still hits the cache');
  t.equal(buf.subarray(0, n).toString(), 'hello world\n');
  await call('release', '/hello.txt', c);
  t.equal(made.length, 1);

  tree.add('hello.txt', Buffer.from('changed!\n'), { lastWriteTime: new Date(T0.getTime() + 5000) });
  const [, d] = await call('open', '/hello.txt', 0) as [number, number];
  const [m] = await call('read', '/hello.txt', d, buf, 100, 0) as [number];
  t.equal(buf.subarray(0, m).toString(), 'changed!\n', 'new version read from the server');
  t.equal(made.length, 2);
  t.match(made[1], /^\/hello\.txt:7:\d+:9#\d+$/);
  await call('release', '/hello.txt', d);
});

t.test('read errors become negative errnos', async (t) => {
  const { tree, call } = setup();
  const [, fh] = await call('open', '/hello.txt', 0) as [number, number];
  tree.failRead = new SmbStatusError(NtStatus.STATUS_ACCESS_DENIED, undefined, 8, 1n);
  const [n] = await call('read', '/hello.txt', fh, Buffer.alloc(10), 10, 0) as [number];
  t.equal(n, -13);
  tree.failRead = null;
  const [k] = await call('read', '/hello.txt', fh, Buffer.alloc(10), 10, 0) as [number];
  t.equal(k, 10, 'failed folio not cached; next read retries');
});

t.test('read-only: every write path answers EROFS', async (t) => {
  const { call } = setup({ readOnly: true });
  t.same(await call('write', '/hello.txt', 1, Buffer.alloc(1), 1, 0), [-30]);
  t.same(await call('create', '/new', 0o644), [-30]);
  t.same(await call('unlink', '/hello.txt'), [-30]);
  t.same(await call('mkdir', '/d', 0o755), [-30]);
  t.same(await call('rmdir', '/docs'), [-30]);
  t.same(await call('rename', '/a', '/b'), [-30]);
  t.same(await call('truncate', '/hello.txt', 0), [-30]);
  t.same(await call('chmod', '/hello.txt', 0o600), [-30]);
  t.same(await call('chown', '/hello.txt', 1, 1), [-30]);
  t.same(await call('utimens', '/hello.txt', 0, 0), [-30]);
  t.same(await call('setxattr', '/hello.txt', 'user.x', Buffer.alloc(1), 0, 0), [-30]);
  t.same(await call('symlink', '/a', '/b'), [-30]);
  t.same(await call('link', '/a', '/b'), [-30]);
  t.same(await call('access', '/hello.txt', 2), [-30], 'W_OK');
  t.same(await call('access', '/hello.txt', 4), [0], 'R_OK');
  t.same(await call('access', '/docs', 1), [0], 'X_OK');
  t.same(await call('access', '/nope', 4), [-2]);
});

t.test('statfs', async (t) => {
  const { call } = setup();
  const [err, s] = await call('statfs', '/') as [number, Record<string, number>];
  t.equal(err, 0);
  t.match(s, { bsize: 4096, frsize: 4096, blocks: 1000, bfree: 400, bavail: 300, namemax: 255 });
  // A fresh mount: the sizes are kept for actimeo.
  const other = setup();
  other.tree.fs = { blockSize: 512, totalBlocks: 2 ** 34, freeBlocks: 2 ** 33, availBlocks: 2 ** 32 };
  const [, big] = await other.call('statfs', '/') as [number, Record<string, number>];
  t.ok(big.blocks! <= 0xffffffff, 'fits uint32');
  t.equal(big.bsize! * big.blocks!, 512 * 2 ** 34, 'same total bytes');
});

t.test('statfs: the sizes are asked for once per actimeo', async (t) => {
  const { tree, call, advance } = setup();
  await call('statfs', '/');
  tree.fs = { ...tree.fs, freeBlocks: 10 };
  const [, cached] = await call('statfs', '/') as [number, Record<string, number>];
  t.equal(tree.calls.statfs, 1, 'one server call within actimeo');
  t.equal(cached.bfree, 400, 'the sizes of that call');
  advance(1000);
  const [, fresh] = await call('statfs', '/') as [number, Record<string, number>];
  t.equal(tree.calls.statfs, 2, 'asked again after actimeo');
  t.equal(fresh.bfree, 10, 'with the new sizes');
});

t.test('a hung server: handlers answer ETIMEDOUT in time', async (t) => {
  const { tree, call } = setup({ timeoutMs: 50 });
  tree.hang = true;
  const t0 = Date.now();
  t.same(await call('getattr', '/hello.txt'), [-110]);
  t.ok(Date.now() - t0 < 1000);
});

t.test('an interrupted call still waiting after the grace period answers EINTR; the other thread waits on', async (t) => {
  const { tree, fs } = setup({ timeoutMs: 5000 });
  const interrupts = new Interrupts();
  const ops = makeFuseOps(fs, { timeoutMs: 5000, interrupts }) as Record<string, (...a: unknown[]) => void>;
  tree.hang = true;
  const threadA = {};
  const threadB = {};
  const answers: Array<[string, unknown[]]> = [];
  interrupts.dispatch(threadA, () => ops.getattr!('/hello.txt', (...r: unknown[]) => answers.push(['A', r])));
  interrupts.dispatch(threadB, () => ops.getattr!('/ro.txt', (...r: unknown[]) => answers.push(['B', r])));
  t.equal(interrupts.size, 2, 'both calls can be interrupted');
  t.notOk(interrupts.interrupt({}), 'a thread with no call waiting: nothing to do');
  const t1 = Date.now();
  t.ok(interrupts.interrupt(threadA), 'thread A had a call waiting');
  t.ok(interrupts.interrupt(threadA), 'libfuse repeats the interrupt: the same grace period');
  t.same(answers, [], 'not yet: a call about to be answered may still finish');
  await new Promise((r) => setTimeout(r, INTERRUPT_GRACE_MS + 100));
  t.same(answers, [['A', [-4]]], 'A answered EINTR, B still waits');
  t.ok(Date.now() - t1 < INTERRUPT_GRACE_MS + 1000, 'after the grace period, not the timeout');
  t.notOk(interrupts.interrupt(threadA), 'A is answered: a further interrupt does nothing');
  t.equal(interrupts.size, 1);
  const t0 = Date.now();
  ops.getattr!('/hello.txt', () => {}); // outside dispatch: not registered
  t.equal(interrupts.size, 1, 'a call outside dispatch is not interruptible');
  t.ok(Date.now() - t0 < 1000);
});

t.test('closeAll closes server handles', async (t) => {
  const { tree, call, fs } = setup();
  await call('open', '/hello.txt', 0);
  await call('open', '/ro.txt', 0);
  await call('opendir', '/docs', 0);
  t.equal(tree.handles.size, 2);
  await fs.closeAll();
  t.equal(tree.handles.size, 0);
  t.equal(fs.handles.size, 0);
});

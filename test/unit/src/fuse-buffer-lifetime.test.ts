/**
 * libfuse owns the buffer of a read or write call and frees it once the call
 * is answered; a timeout answers while the server has not. Here the server
 * (the in-memory tree) is held past the handler's timeout, the test then
 * plays libfuse reusing the memory (fills it with a sentinel) and lets the
 * server go on: neither the buffer nor the file's data on the server may
 * change, and the mount keeps working.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import type { CacheMode } from '../../../src/config.js';
import { SmbFs } from '../../../src/fs.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { FakeTree } from '../../helpers/fake-tree.js';

const TIMEOUT_MS = 50;
const SENTINEL = 0xee;
const O_RDWR = 2;

function setup(cache: CacheMode, cacheBytes = 16 * 1024 * 1024) {
  const tree = new FakeTree();
  tree.add('', null);
  const content = Buffer.alloc(200_000);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0x7f; // never the sentinel
  tree.add('f.bin', Buffer.from(content));
  const pages = new PageCache({ maxBytes: cacheBytes, folioSize: 65536 });
  const fs = new SmbFs(tree, {
    uid: 1, gid: 2, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, wsize: 1 << 20, cache, now: () => 0,
  }, (key, size, ops) => new NetfsInode({ key, size, ops, cache: pages, readaheadMax: 0, writeOps: ops }));
  const ops = makeFuseOps(fs, { timeoutMs: TIMEOUT_MS }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  /** Hold the server's READs and WRITEs until the returned function is called. */
  const holdServer = () => {
    let release!: () => void;
    tree.slowIo = new Promise<void>((r) => (release = r));
    return () => {
      tree.slowIo = null;
      release();
    };
  };
  return { tree, fs, call, content, holdServer };
}

/** Let held work run to its end (the fake server answers on microtasks once released). */
const settle = () => new Promise((r) => setTimeout(r, 30));

for (const cache of ['none', 'strict', 'loose'] as const) {
  t.test(`cache=${cache}: a read answered ETIMEDOUT never writes its buffer afterwards`, async (t) => {
    const { tree, call, content, holdServer } = setup(cache);
    const [e, fh] = (await call('open', '/f.bin', 0)) as [number, number];
    t.equal(e, 0);
    const release = holdServer();
    const buf = Buffer.alloc(70_000);
    const [n] = (await call('read', '/f.bin', fh, buf, buf.length, 65_000)) as [number];
    t.equal(n, -110, 'answered ETIMEDOUT');
    t.ok(tree.calls.read! >= 1, 'a READ was in flight at the answer');
    buf.fill(SENTINEL); // libfuse reuses the memory
    release();
    await settle();
    t.ok(buf.every((b) => b === SENTINEL), 'the late reply changed nothing in the freed buffer');
    const again = Buffer.alloc(70_000);
    const [m] = (await call('read', '/f.bin', fh, again, again.length, 65_000)) as [number];
    t.equal(m, 70_000, 'the next read works');
    t.ok(again.equals(content.subarray(65_000, 135_000)), 'with the right data');
    t.same(await call('release', '/f.bin', fh), [0]);
  });

  t.test(`cache=${cache}: a write answered ETIMEDOUT never sends bytes changed after the answer`, async (t) => {
    const { tree, call, content, holdServer } = setup(cache);
    const [e, fh] = (await call('open', '/f.bin', O_RDWR)) as [number, number];
    t.equal(e, 0);
    const release = holdServer();
    // Buffered modes: a read in flight keeps folio 0 locked, so the write must
    // wait for it; unbuffered: the server holds the WRITE itself.
    const reader = Buffer.alloc(4096);
    const pendingRead = cache === 'none' ? null : call('read', '/f.bin', fh, reader, reader.length, 0);
    const data = Buffer.alloc(5000, 0x41);
    const [n] = (await call('write', '/f.bin', fh, data, data.length, 1000)) as [number];
    t.equal(n, -110, 'answered ETIMEDOUT');
    data.fill(SENTINEL); // libfuse reuses the memory
    release();
    await pendingRead;
    await settle();
    t.same(await call('flush', '/f.bin', fh), [0], 'written back');
    const onServer = tree.find('f.bin').data!;
    t.notOk(onServer.includes(SENTINEL), 'no byte written after the answer reached the server');
    const range = onServer.subarray(1000, 6000);
    const old = content.subarray(1000, 6000);
    t.ok(range.equals(old) || range.equals(Buffer.alloc(5000, 0x41)), 'the range holds the old bytes or the written ones');
    t.ok(onServer.subarray(0, 1000).equals(content.subarray(0, 1000)), 'bytes around it unchanged');
    t.ok(onServer.subarray(6000).equals(content.subarray(6000)));
    t.same(await call('release', '/f.bin', fh), [0]);
  });
}

t.test('a write held in throttling (cache full of dirty data) copies nothing after its answer', async (t) => {
  const { tree, call, content, holdServer } = setup('strict', 4 * 65536);
  const [e, fh] = (await call('open', '/f.bin', O_RDWR)) as [number, number];
  t.equal(e, 0);
  const dirty = Buffer.alloc(3 * 65536, 0x44);
  t.same(await call('write', '/f.bin', fh, dirty, dirty.length, 0), [dirty.length], 'three folios dirty: over half the cache');
  const release = holdServer(); // the writeback that throttling starts is held
  const data = Buffer.alloc(5000, 0x41);
  const [n] = (await call('write', '/f.bin', fh, data, data.length, 1000)) as [number];
  t.equal(n, -110, 'answered ETIMEDOUT while throttled');
  data.fill(SENTINEL);
  release();
  await settle();
  t.same(await call('flush', '/f.bin', fh), [0], 'written back');
  const onServer = tree.find('f.bin').data!;
  t.notOk(onServer.includes(SENTINEL), 'no byte written after the answer reached the server');
  const range = onServer.subarray(1000, 6000);
  t.ok(range.equals(Buffer.alloc(5000, 0x41)) || range.equals(Buffer.alloc(5000, 0x44)), 'the range holds the bytes given or those before');
  t.ok(onServer.subarray(3 * 65536).equals(content.subarray(3 * 65536)), 'the rest unchanged');
  t.same(await call('release', '/f.bin', fh), [0]);
});

t.test('an append answered ETIMEDOUT behind a held append sends only what was given', async (t) => {
  const { tree, call, content, holdServer } = setup('none');
  const [e, fh] = (await call('open', '/f.bin', O_RDWR | 0o2000)) as [number, number];
  t.equal(e, 0);
  const release = holdServer();
  const first = Buffer.alloc(100, 0x42);
  const second = Buffer.alloc(100, 0x43);
  const [a, b] = await Promise.all([
    call('write', '/f.bin', fh, first, 100, 0),
    call('write', '/f.bin', fh, second, 100, 0),
  ]);
  t.same([a, b], [[-110], [-110]]);
  first.fill(SENTINEL);
  second.fill(SENTINEL);
  release();
  await settle();
  const onServer = tree.find('f.bin').data!;
  t.notOk(onServer.includes(SENTINEL), 'no sentinel on the server');
  t.ok(onServer.subarray(0, content.length).equals(content), 'old data intact');
  t.same(await call('release', '/f.bin', fh), [0]);
});

t.test('setxattr answered ETIMEDOUT sets the value it was given, not what the memory holds later', async (t) => {
  const { tree, call, holdServer } = setup('none');
  const release = holdServer(); // XATTR_CREATE looks the name up first: a wait
  const value = Buffer.from('value-1');
  const [r] = (await call('setxattr', '/f.bin', 'user.k', value, 0, 1)) as [number];
  t.equal(r, -110, 'answered ETIMEDOUT');
  value.fill(SENTINEL);
  release();
  await settle();
  const eas = tree.find('f.bin').eas;
  t.equal(eas.size, 1, 'the set went through late');
  t.equal([...eas.values()][0]!.toString(), 'value-1', 'with the value given at the call');
});

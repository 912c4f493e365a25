/**
 * Primed lookups (attr-epoch.ts, binding patch 18): what moves the
 * attribute epoch and what readdir hands the binding.
 *  - the attribute cache calls onChange when a live entry changes or goes
 *    early, not when a stat is refreshed with its own value or one expires;
 *  - readdir hands over each name's cached getattr answer and its time left,
 *    stamped with the epoch, once per epoch;
 *  - FUSE handlers that can change a file move the epoch when called and
 *    before they answer; read-only ones (an open for reading too) do not;
 *  - the packed layout the binding reads.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { AttrCache } from '../../../src/attr-cache.js';
import { AttrEpoch, type PrimingBinding } from '../../../src/attr-epoch.js';
import { sameSmbStat, SmbFs, type InodeFactory } from '../../../src/fs.js';
import { packPrimed, PRIMED_WORDS, statArray, type BindingStat } from '../../../src/fuse-binding.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { MFSYMLINK_SIZE } from '../../../src/mfsymlink.js';
import { FakeTree, T0 } from '../../helpers/fake-tree.js';
import type { SmbStat } from '../../../transport/types.js';

const fakeBinding = (): PrimingBinding & { words: Buffer[] } => {
  const words: Buffer[] = [];
  return { words, smbfuse_prime_epoch: (w) => void words.push(w), smbfuse_primed_answers: () => 7 };
};

const stat = (over: Partial<SmbStat> = {}): SmbStat => ({
  fileIndex: 5n, size: 10, allocationSize: 4096, attributes: 0x20, isDirectory: false,
  creationTime: T0, lastAccessTime: T0, lastWriteTime: T0, changeTime: T0, nlink: 1, ...over,
});

t.test('the epoch word is shared with the binding and moves by one', async (t) => {
  const e = new AttrEpoch();
  t.equal(e.shared, false);
  t.equal(e.answers(), 0, 'no binding: no answers');
  const b = fakeBinding();
  t.ok(e.share(b));
  t.equal(b.words[0], e.word, 'the binding got the word itself');
  const v = e.value;
  e.bump();
  t.equal(e.value, v + 1);
  t.equal(e.word.readInt32LE(0), v + 1, 'the shared memory holds the value');
  t.equal(e.answers(), 7);
  t.equal(new AttrEpoch().share(null), false, 'nothing to share with');
});

t.test('attribute cache: onChange for changes and early drops only', async (t) => {
  let now = 0;
  let changes = 0;
  const c = new AttrCache<SmbStat>({
    ttlMs: 1000, now: () => now, onChange: () => changes++, same: sameSmbStat, idOf: (s) => s.fileIndex,
    movedTimes: (s, ms) => ({ ...s, lastWriteTime: new Date(ms) }),
  });
  c.set('/a', stat());
  t.equal(changes, 0, 'a first entry changes no answer');
  c.set('/a', stat());
  t.equal(changes, 0, 'the same stat again');
  c.set('/a', stat({ size: 11 }));
  t.equal(changes, 1, 'a different stat over a live one');
  c.setNegative('/a');
  t.equal(changes, 2, 'a stat turned into ENOENT');
  c.setNegative('/a');
  t.equal(changes, 2, 'ENOENT again');
  c.set('/b', stat({ fileIndex: 6n }));
  c.invalidate('/b', true);
  t.equal(changes, 3, 'an invalidation');
  c.invalidate('/b', true);
  t.equal(changes, 3, 'nothing left to invalidate');
  c.set('/d', stat({ isDirectory: true, fileIndex: 7n }));
  c.childAdded('/d', 'x');
  t.equal(changes, 4, "a directory's times moved by a change of its names");
  c.set('/e', stat({ fileIndex: 8n }));
  c.invalidateFile(8n);
  t.equal(changes, 5, 'an invalidation by file id');
  c.set('/f', stat({ fileIndex: 9n }));
  now += 1000;
  t.equal(c.get('/f'), undefined, 'expired');
  c.set('/f', stat({ fileIndex: 9n, size: 99 }));
  t.equal(changes, 5, 'expiry, and a new stat after it, change no live answer');
  c.clear();
  t.equal(changes, 6, 'clear');
  c.clear();
  t.equal(changes, 6, 'clearing an empty cache');
  c.outsideChange();
  t.equal(changes, 7, 'a change outside the cache (an open file written here)');
  const small = new AttrCache<SmbStat>({ ttlMs: 1000, maxEntries: 2, now: () => now, onChange: () => changes++, same: sameSmbStat });
  small.set('/1', stat());
  small.set('/2', stat());
  small.set('/3', stat());
  t.equal(changes, 8, 'an eviction drops a live entry');
  const hit = small.get('/3');
  t.equal(hit?.kind === 'hit' && hit.expires, now + 1000, 'a hit carries its expiry');
});

t.test('sameSmbStat compares every field, times to 100 ns', async (t) => {
  t.ok(sameSmbStat(stat(), stat()));
  for (const over of [{ size: 11 }, { fileIndex: 6n }, { attributes: 1 }, { nlink: 2 }, { mode: 0o600 }, { allocationSize: 0 },
    { lastWriteTime: new Date(T0.getTime() + 1) }, { changeTime: new Date(0) }, { lastAccessTime: new Date(0) }, { creationTime: new Date(0) }]) {
    t.notOk(sameSmbStat(stat(), stat(over)), JSON.stringify(over, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
});

function setup() {
  const tree = new FakeTree();
  tree.add('', null);
  tree.add('d', null);
  tree.add('d\\a.txt', Buffer.from('alpha'));
  tree.add('d\\b.txt', Buffer.from('bravo!'));
  tree.add('d\\maybe-link', Buffer.alloc(MFSYMLINK_SIZE, 0x41)); // a link candidate not read yet
  tree.add('top.txt', Buffer.from('top'));
  tree.add('links', null);
  tree.add('links\\only', Buffer.alloc(MFSYMLINK_SIZE, 0x42));
  let now = 0;
  const cache = new PageCache({ maxBytes: 4 << 20, folioSize: 65536 });
  const factory: InodeFactory = (key, size, ops) => new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops });
  const fs = new SmbFs(tree, { uid: 1, gid: 2, fileMode: 0o644, dirMode: 0o755, actimeoMs: 30_000, rsize: 1 << 20, readOnly: false, now: () => now }, factory);
  const binding = fakeBinding();
  fs.attrEpoch.share(binding);
  const ops = makeFuseOps(fs, { timeoutMs: 5000 }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) => new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  return { tree, fs, ops, call, advance: (ms: number) => (now += ms) };
}

type Primed = { validMs: number[]; epoch: number } | undefined;

t.test('readdir hands over the cached getattr answers once per epoch', async (t) => {
  const { fs, call, advance } = setup();
  const [err, names, stats, primed] = (await call('readdir', '/d')) as [number, string[], BindingStat[], Primed];
  t.equal(err, 0);
  t.ok(primed, 'stats primed');
  t.equal(primed!.epoch, fs.attrEpoch.value, 'stamped with the epoch');
  t.equal(primed!.validMs.length, names.length);
  t.same(primed!.validMs.slice(0, 2), [0, 0], "'.' and '..' are not primed");
  const a = names.indexOf('a.txt');
  t.ok(primed!.validMs[a]! > 29_000 && primed!.validMs[a]! <= 30_000, `the entry's time left, less a margin (${primed!.validMs[a]})`);
  t.same(stats[a], fs.getattrCached('/d/a.txt'), "a.txt's stat is getattr's cached answer");
  t.equal(primed!.validMs[names.indexOf('maybe-link')], 0, 'a link candidate whose target is not known is left to JavaScript');
  const [, , , again] = (await call('readdir', '/d')) as [number, string[], BindingStat[], Primed];
  t.equal(again, undefined, 'the same listing under the same epoch: nothing handed over again');
  fs.attrEpoch.bump();
  const [, , , after] = (await call('readdir', '/d')) as [number, string[], BindingStat[], Primed];
  t.ok(after, 'after the epoch moved, handed over again');
  const [, , , none] = (await call('readdir', '/links')) as [number, string[], BindingStat[], Primed];
  t.equal(none, undefined, 'nothing any lookup could be answered with: nothing handed over');
  advance(30_000);
  const [, names2, , lapsed] = (await call('readdir', '/d')) as [number, string[], BindingStat[], Primed];
  t.ok(lapsed && lapsed.validMs[names2.indexOf('a.txt')]! > 0, 'relisted after expiry: primed afresh');
});

t.test('handlers that change a file move the epoch when called and before they answer', async (t) => {
  const { fs, ops, call } = setup();
  await call('readdir', '/d');
  // Looked up, not listed: its cached stat has a link count, which an open keeps
  // (a listed file's entry, without one, is dropped by the open: a change).
  await call('getattr', '/top.txt');
  /** Call handler `name`: how far the epoch moved by the time it returned (called) and by its answer. */
  const moved = (what: string, name: string, ...args: unknown[]) =>
    new Promise<{ what: string; called: number; moves: number }>((resolve) => {
      const before = fs.attrEpoch.value;
      let called = NaN;
      ops[name]!(...args, () => resolve({ what, called, moves: fs.attrEpoch.value - before }));
      called = fs.attrEpoch.value - before;
    });
  const readOnly = [
    await moved('getattr', 'getattr', '/d/a.txt'),
    await moved('readdir', 'readdir', '/d'),
    await moved('open O_RDONLY', 'open', '/top.txt', 0),
    await moved('statfs', 'statfs', '/'),
  ];
  for (const m of readOnly) t.equal(m.moves, 0, `${m.what}: the epoch stays`);
  const [, fh] = (await call('open', '/top.txt', 0)) as [number, number];
  t.equal((await moved('release (read-only)', 'release', '/top.txt', fh)).moves, 0, 'release of a read-only handle: the epoch stays');
  const changing = [
    await moved('open O_WRONLY', 'open', '/d/b.txt', 1),
    await moved('open O_RDONLY|O_TRUNC', 'open', '/d/b.txt', 0o1000),
    await moved('truncate', 'truncate', '/d/a.txt', 2),
    await moved('chmod', 'chmod', '/d/a.txt', 0o600),
    await moved('utimens', 'utimens', '/d/a.txt', new Date(0), new Date(0)),
    await moved('rename', 'rename', '/d/a.txt', '/d/c.txt'),
    await moved('mkdir', 'mkdir', '/d/sub', 0o755),
  ];
  for (const m of changing) t.ok(m.called >= 1 && m.moves >= 2, `${m.what}: the epoch moved when called and again by the answer (${m.called}, ${m.moves})`);
  const [, wfh] = (await call('open', '/d/b.txt', 1)) as [number, number];
  const w = await moved('write', 'write', '/d/b.txt', wfh, Buffer.from('xy'), 2, 0);
  t.ok(w.moves >= 2, 'write: the epoch moved');
  t.ok((await moved('release (written)', 'release', '/d/b.txt', wfh)).moves >= 2, 'release of a written handle: the epoch moved');
});

t.test('packPrimed: ms and the stat per name, zeros for names not primed', async (t) => {
  const st: BindingStat = { mode: 0o100600, uid: 3, gid: 4, size: 2 ** 33 + 5, nlink: 1, ino: 2n ** 63n + 9n, blksize: 4096, blocks: 2, atime: T0, mtime: T0, ctime: T0 };
  const buf = packPrimed([st, st, st], [0, 1500.7, 2 ** 40]);
  t.equal(buf.length, 3 * PRIMED_WORDS * 4);
  const w = new Uint32Array(buf.buffer, buf.byteOffset, 3 * PRIMED_WORDS);
  t.same([...w.subarray(0, PRIMED_WORDS)], new Array(PRIMED_WORDS).fill(0), 'not primed: all zeros');
  t.equal(w[PRIMED_WORDS], 1500, 'whole milliseconds');
  t.same([...w.subarray(PRIMED_WORDS + 2, 2 * PRIMED_WORDS)], [...statArray(st)], 'the stat in the layout getattr answers with');
  t.equal(w[2 * PRIMED_WORDS], 0xffffffff, 'held at most 2^32-1 ms');
});

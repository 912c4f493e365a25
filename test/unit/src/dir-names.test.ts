/**
 * Server-supplied names (issue 7, point 7) and the abandoned listing
 * (point 5) at the filesystem layer, over the in-memory tree:
 *  - names checked after the mapposix mapping is undone: '.'/'..' produced by
 *    the mapping, '/', NUL, unpaired surrogates and '' are dropped, each
 *    logged once per mount; the rest of the listing stays, lookups of the
 *    dropped names fail;
 *  - a readdir that outlives the handler's timeout answers ETIMEDOUT and the
 *    listing under it stops at its next step.
 */
import t from 'tap';
import { NetfsInode, PageCache } from '../../../netfs/index.js';
import { DroppedNameLog, linuxName } from '../../../src/dir-names.js';
import { ENOENT, ETIMEDOUT } from '../../../src/errno.js';
import { SmbFs, type InodeFactory } from '../../../src/fs.js';
import { makeFuseOps } from '../../../src/fuse-ops.js';
import { SmbCancelledError } from '../../../transport/errors.js';
import type { SmbDirEntry } from '../../../transport/types.js';
import { FakeTree } from '../../helpers/fake-tree.js';

t.test('linuxName: checked after unmapping', async (t) => {
  t.same(linuxName('plain'), { name: 'plain' });
  t.same(linuxName('odd\uf022name\uf025'), { name: 'odd:name?' }, 'mapped characters come back');
  t.same(linuxName('trail\uf029'), { name: 'trail.' });
  t.same(linuxName('..x'), { name: '..x' });
  t.same(linuxName('\ud83d\ude00'), { name: '\ud83d\ude00' }, 'a surrogate pair is fine');
  for (const [smb, why] of [
    ['.', /'\.'/],
    ['..', /'\.\.'/],
    ['\uf029', /'\.'/], // a mapped period alone unmaps to '.'
    ['.\uf029', /'\.\.'/],
    ['\uf029\uf029', /'\.\.'/],
    ['', /empty/],
    ['a/b', /'\/'/],
    ['/', /'\/'/],
    ['a\0b', /NUL/],
    ['x\ud800', /surrogate/],
    ['\udc00y', /surrogate/],
  ] as const) {
    const r = linuxName(smb);
    t.ok('reason' in r, `${JSON.stringify(smb)} dropped`);
    if ('reason' in r) t.match(r.reason, why);
  }
});

t.test('DroppedNameLog: once per directory and name, bounded, escaped', async (t) => {
  const lines: string[] = [];
  const log = new DroppedNameLog((l) => lines.push(l));
  log.note('/d', 'a\0b', 'holds NUL');
  log.note('/d', 'a\0b', 'holds NUL');
  log.note('/e', 'a\0b', 'holds NUL');
  t.equal(lines.length, 2, 'the same name in the same directory is logged once');
  t.match(lines[0], /^skipped a name in "\/d" that cannot be a Linux name \(holds NUL\): "a\\u0000b"$/);
  t.notOk(lines.join('').includes('\0'), 'no raw control characters');
  for (let i = 0; i < 2000; i++) log.note('/many', `n${i}/x`, "holds '/'");
  t.equal(lines.length, 1001, 'at most 1000 names remembered, then one closing line');
  t.match(lines.at(-1), /no longer logged/);
});

function makeFs(tree: FakeTree, log: string[], timeoutMs = 5000) {
  const cache = new PageCache({ maxBytes: 4 * 1024 * 1024, folioSize: 65536 });
  const factory: InodeFactory = (key, size, ops) => new NetfsInode({ key, size, ops, cache, readaheadMax: 0, writeOps: ops });
  let now = 0;
  const fs = new SmbFs(tree, {
    uid: 1, gid: 1, fileMode: 0o644, dirMode: 0o755, actimeoMs: 1000, rsize: 1 << 20, readOnly: true,
    now: () => now, log: (l) => log.push(l),
  }, factory);
  const ops = makeFuseOps(fs, { timeoutMs }) as Record<string, (...a: unknown[]) => void>;
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown[]>((resolve) => ops[name]!(...args, (...r: unknown[]) => resolve(r)));
  return { fs, call, advance: (ms: number) => (now += ms) };
}

t.test('readdir drops names Linux cannot have and keeps the rest', async (t) => {
  const tree = new FakeTree();
  tree.add('', null);
  tree.add('dir', null);
  const bad = ['.\uf029', '\uf029', 'a/b', 'a\0b', 'x\ud800'];
  tree.add('dir\\keep', Buffer.from('k'));
  for (const b of bad) tree.add(`dir\\${b}`, Buffer.from('x'));
  tree.add('dir\\ok\uf022', Buffer.from('o'));
  const log: string[] = [];
  const { call, advance } = makeFs(tree, log);
  const [err, names] = await call('readdir', '/dir') as [number, string[]];
  t.equal(err, 0, 'the listing succeeds');
  t.same(names, ['.', '..', 'keep', 'ok:'], 'only the usable names, once each');
  t.equal(log.length, bad.length, 'one line per dropped name');
  advance(5000);
  await call('readdir', '/dir');
  t.equal(log.length, bad.length, 'listing again does not log again');
  for (const ghost of ['/dir/a', '/dir/x', '/dir/a/b']) {
    const [e] = await call('getattr', ghost) as [number];
    t.equal(e, -ENOENT, `lookup of ${ghost} fails`);
  }
  const [ok] = await call('getattr', '/dir/ok:') as [number];
  t.equal(ok, 0, 'a mapped name that is fine still resolves');
});

t.test('a readdir past its deadline answers ETIMEDOUT and its listing stops', async (t) => {
  let steps = 0;
  let sawAbort = false;
  class EndlessTree extends FakeTree {
    // Stands for a server that keeps answering: one step per 5 ms until told to stop.
    override async listDirectory(_fileId: Buffer, signal?: AbortSignal): Promise<SmbDirEntry[]> {
      for (;;) {
        if (signal?.aborted) {
          sawAbort = true;
          throw new SmbCancelledError('abandoned');
        }
        steps++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }
  const tree = new EndlessTree();
  tree.add('', null);
  tree.add('dir', null);
  const { call } = makeFs(tree, [], 100);
  const t0 = Date.now();
  const [err] = await call('readdir', '/dir') as [number];
  t.equal(err, -ETIMEDOUT, 'the FUSE call is answered at its deadline');
  t.ok(Date.now() - t0 < 2000, 'promptly');
  await new Promise((r) => setTimeout(r, 50));
  t.ok(sawAbort, 'the listing saw the abort');
  const after = steps;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(steps, after, 'and took no further steps');
});

/**
 * The keep_cache decision (src/kernel-cache.ts): the kernel keeps its pages
 * of a path only when this open may cache and the file's version (id, mtime,
 * change time, size, to 100 ns) equals the one of the previous such open.
 */
import t from 'tap';
import { KernelPageCache, pageVersion, sameAttrs } from '../../../src/kernel-cache.js';
import { FileTime } from '../../../transport/pdu/fscc.js';
import type { SmbStat } from '../../../transport/types.js';

const T = 133_000_000_000_000_000n;
function stat(over: Partial<SmbStat> = {}): SmbStat {
  const ft = new FileTime(T);
  return {
    fileIndex: 42n, size: 1000, allocationSize: 4096, attributes: 0x20, isDirectory: false,
    creationTime: ft, lastAccessTime: ft, lastWriteTime: ft, changeTime: ft, nlink: 1, ...over,
  };
}

t.test('first open keeps nothing; an unchanged re-open keeps the pages', async (t) => {
  const k = new KernelPageCache();
  t.equal(k.keep('/f', stat(), true), false, 'nothing known yet');
  t.equal(k.keep('/f', stat(), true), true, 'same version');
  t.equal(k.keep('/g', stat(), true), false, 'another path is its own entry');
});

t.test('any part of the version changing drops the pages', async (t) => {
  const changes: [string, Partial<SmbStat>][] = [
    ['size', { size: 1001 }],
    ['file id', { fileIndex: 43n }],
    ['mtime by 100 ns (same millisecond)', { lastWriteTime: new FileTime(T + 1n) }],
    ['change time by 100 ns', { changeTime: new FileTime(T + 1n) }],
  ];
  for (const [what, over] of changes) {
    const k = new KernelPageCache();
    k.keep('/f', stat(), true);
    t.equal(k.keep('/f', stat(over), true), false, `${what} changed: dropped`);
    t.equal(k.keep('/f', stat(over), true), true, `${what}: the new version is kept from then on`);
  }
  t.not(pageVersion(stat()), pageVersion(stat({ lastWriteTime: new FileTime(T + 1n) })), 'versions differ below a millisecond');
});

t.test('an open that may not cache keeps nothing and forgets the path', async (t) => {
  const k = new KernelPageCache();
  k.keep('/f', stat(), true);
  t.equal(k.keep('/f', stat(), false), false, 'no read lease / cache=none: dropped');
  t.equal(k.keep('/f', stat(), true), false, 'pages read during that open are of no known version');
  t.equal(k.keep('/f', stat(), true), true);
  t.equal(k.keep('/d', stat({ isDirectory: true }), true), false, 'directories never');
});

t.test('bounded: a path pushed out only costs a re-read', async (t) => {
  const k = new KernelPageCache(2);
  k.keep('/a', stat(), true);
  k.keep('/b', stat(), true);
  k.keep('/c', stat(), true);
  t.equal(k.keep('/a', stat(), true), false, 'forgotten: not kept');
  t.equal(k.keep('/c', stat(), true), true, 'recent: kept');
});

t.test('an untrusted version (strict without a write-caching lease) keeps nothing but is recorded', async (t) => {
  const k = new KernelPageCache();
  k.keep('/f', stat(), true);
  t.equal(k.keep('/f', stat(), true, false), false, 'another client may have the file open: dropped');
  t.equal(k.keep('/f', stat(), true, true), true, 'the same version, trusted again: kept');
});

t.test('sameAttrs: size and both times decide whether the kernel must ask for attributes again', async (t) => {
  t.ok(sameAttrs(stat(), stat({ fileIndex: 7n, lastAccessTime: new FileTime(T + 5n) })), 'file id and access time do not count');
  t.notOk(sameAttrs(stat(), stat({ size: 1001 })), 'size');
  t.notOk(sameAttrs(stat(), stat({ lastWriteTime: new FileTime(T + 1n) })), 'mtime by 100 ns');
  t.notOk(sameAttrs(stat(), stat({ changeTime: new FileTime(T + 1n) })), 'change time by 100 ns');
});

/**
 * -o fsc, cache_dir=, fsc_size=: parsing, the default cache directory, and
 * what identifies an SMB file's cached data (key and version).
 */
import t from 'tap';
import { ConfigError, parseArgs, type MountConfig, type ParseEnv } from '../../../src/config.js';
import { defaultCacheDir, fscIdentity, fscVolume } from '../../../src/fsc.js';
import type { SmbStat } from '../../../transport/types.js';

const pe: ParseEnv = { env: { USER: 'u', PASSWD: 'p', HOME: '/home/u' }, readFile: () => '', fileMode: () => 0o100600, cwd: '/work', uid: 1000, gid: 1000 };

function config(opts: string, env: Partial<ParseEnv> = {}): MountConfig {
  const r = parseArgs(['//h/s', '/mnt', ...(opts ? ['-o', opts] : [])], { ...pe, ...env });
  if (r.kind !== 'mount') throw new Error('expected a mount');
  return r.config;
}

t.test('options', async (t) => {
  const plain = config('');
  t.equal(plain.fsc, false, 'off by default');
  t.equal(plain.fscSize, undefined, 'bound chosen at mount time by default');
  t.equal(plain.cacheDir, '/home/u/.cache/smbfuse');
  const c = config('fsc,cache_dir=rel/dir,fsc_size=2G');
  t.equal(c.fsc, true);
  t.equal(c.cacheDir, '/work/rel/dir', 'a relative cache_dir is taken from the working directory');
  t.equal(c.fscSize, 2 * 1024 ** 3);
  t.equal(c.cacheSize, plain.cacheSize, 'fsc_size leaves the page cache bound alone');
  t.throws(() => config('fsc_size=1M'), new ConfigError("smbfuse: bad value for fsc_size: '1M' (16M to 1P)"));
  t.throws(() => config('fsc=1'), new ConfigError("smbfuse: option 'fsc' takes no value"));
});

t.test('default cache directory', async (t) => {
  t.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, 1000), '/x/cache/smbfuse');
  t.equal(defaultCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' }, 1000), '/home/u/.cache/smbfuse', 'a relative XDG_CACHE_HOME is ignored');
  t.equal(defaultCacheDir({ HOME: '/root' }, 0), '/var/cache/smbfuse', 'root');
});

t.test('key and version', async (t) => {
  const d = (ms: number) => new Date(ms);
  const st: SmbStat = {
    fileIndex: 42n, size: 1000, allocationSize: 4096, attributes: 0x20, isDirectory: false,
    creationTime: d(1), lastAccessTime: d(2), lastWriteTime: d(3), changeTime: d(4), nlink: 1,
  };
  const vol = fscVolume({ host: 'Server', port: 445, share: 'Data' });
  const a = fscIdentity(vol, { path: 'dir\\f', stat: st });
  t.equal(a.key, '//server:445/data\\id:42', 'by file id');
  t.equal(fscIdentity(vol, { path: 'other\\name', stat: st }).key, a.key, 'a rename keeps the key');
  t.equal(fscIdentity(vol, { path: 'dir\\f', stat: { ...st, fileIndex: 0n } }).key, '//server:445/data\\path:dir\\f', 'by path without an id');
  t.equal(fscIdentity(vol, { path: 'dir\\f', stat: { ...st, lastAccessTime: d(9), creationTime: d(9) } }).version, a.version, 'access and creation times do not count');
  for (const [what, other] of [
    ['size', { size: 1001 }],
    ['write time', { lastWriteTime: d(30) }],
    ['change time', { changeTime: d(40) }],
    ['file id', { fileIndex: 43n }],
  ] as const) t.not(fscIdentity(vol, { path: 'dir\\f', stat: { ...st, ...other } }).version, a.version, `${what} changes the version`);
});

/**
 * The JavaScript half of the fuse-native patch: the stat layouts the patched
 * and the stock binary read, utimens arguments (UTIME_NOW, UTIME_OMIT,
 * seconds + nanoseconds, before 1970), and the hooks' handling of '' paths
 * (unlinked open files) and failures.
 */
import t from 'tap';
import {
  BINDING_PATCH,
  bindingHooks,
  bindingPatchVersion,
  OPEN_KEEP_CACHE,
  packDirents,
  statArray,
  statArrayUnpatched,
  utimeArg,
  UTIME_NOW,
  UTIME_OMIT,
  type BindingStat,
} from '../../../src/fuse-binding.js';
import { FILETIME_UNIX_EPOCH, FileTime, filetimeToTimespec } from '../../../transport/pdu/fscc.js';

const ft2020 = 132223104000000000n; // 2020-01-01T00:00:00Z
const st: BindingStat = {
  mode: 0o100644, uid: 1000, gid: 100, size: 5 * 2 ** 30, nlink: 2, ino: 0x2c_0001_0002n, blksize: 1 << 20, blocks: 10,
  atime: new FileTime(ft2020 + 1234567n),
  mtime: new FileTime(FILETIME_UNIX_EPOCH - 15000000n), // 1969-12-31T23:59:58.5Z
  ctime: new Date(1500),
};

t.test('patched layout: 64-bit ino and sizes, seconds + nanoseconds', async (t) => {
  const a = statArray(st);
  t.equal(a.length, 22);
  t.same([a[0], a[1], a[2]], [0o100644, 1000, 100]);
  t.same([a[3], a[4]], [2 ** 30, 1], '5 GiB in two halves');
  t.equal(a[6], 2, 'nlink');
  t.same([a[7], a[8]], [0x0001_0002, 0x2c], 'the whole file id');
  t.equal(a[10], 1 << 20, 'blksize');
  t.same([a[11], a[12]], [10, 0], 'blocks');
  t.same([a[13], a[14], a[15]], [1577836800, 0, 123456700], 'atime to 100 ns');
  t.same([a[16], a[17], a[18]], [0xfffffffe, 0xffffffff, 500000000], 'mtime before 1970: seconds -2, two\'s complement');
  t.same([a[19], a[20], a[21]], [1, 0, 500000000], 'a plain Date: milliseconds');
});

t.test('patched layout: times as filetimeToTimespec gives them, around 1970, 1601 and far ahead', async (t) => {
  const times = [0n, 1n, 9999n, 10000n, FILETIME_UNIX_EPOCH - 1n, FILETIME_UNIX_EPOCH, FILETIME_UNIX_EPOCH + 1n, FILETIME_UNIX_EPOCH - 10000001n, ft2020 + 9999999n, 2n ** 63n - 1n, -1n, -10001n];
  for (const ft of times) {
    const a = statArray({ ...st, mtime: new FileTime(ft) });
    const ts = filetimeToTimespec(ft);
    const sec = BigInt.asUintN(64, ts.sec);
    t.same([a[16], a[17], a[18]], [Number(sec & 0xffffffffn), Number(sec >> 32n), ts.nsec], `FILETIME ${ft}`);
  }
});

t.test('stock layout: 32-bit ino, milliseconds', async (t) => {
  const a = statArrayUnpatched(st);
  t.equal(a.length, 18);
  t.same([a[6], a[7]], [2, 0x0001_0002]);
  t.same([a[12], a[13]], [1577836800123 % 2 ** 32, Math.floor(1577836800123 / 2 ** 32)]);
  const bad = statArrayUnpatched({ ...st, mtime: new Date(NaN) });
  t.same([bad[14], bad[15]], [0, 0], 'an invalid time goes as 0, not a throw');
});

t.test('utimens arguments', async (t) => {
  t.equal(utimeArg(0, 0, UTIME_OMIT), null, 'UTIME_OMIT: leave unchanged');
  t.equal(utimeArg(0, 0, UTIME_NOW, () => 42000)!.getTime(), 42000, 'UTIME_NOW: now');
  const d = utimeArg(1577836800, 0, 123456789);
  t.ok(d instanceof FileTime);
  t.equal((d as FileTime).filetime, ft2020 + 1234567n, 'nanoseconds kept to 100 ns');
  t.equal((utimeArg(0xfffffffe, 0xffffffff, 500000000) as FileTime).filetime, FILETIME_UNIX_EPOCH - 15000000n, 'before 1970');
});

t.test('hooks: utimens, getattr failures, paths of unlinked files', async (t) => {
  const seen: unknown[][] = [];
  const ops = {
    chmod: (...a: unknown[]) => seen.push(['chmod', ...a.slice(0, -1)]),
    chown: (...a: unknown[]) => seen.push(['chown', ...a.slice(0, -1)]),
    getattr: (_p: string, cb: (e: number) => void) => cb(-2),
    fgetattr: (_p: string, _fd: number, cb: (e: number, s?: BindingStat) => void) => cb(0, st),
    readdir: (_p: string, cb: (e: number, n?: string[], s?: BindingStat[]) => void) => cb(0, ['x'], [st]),
    utimens: (p: string, a: Date | null, m: Date | null, cb: (e: number) => void) => {
      seen.push(['utimens', p, a, m]);
      cb(0);
    },
    open: (p: string, _f: number, cb: (e: number, fh?: number, of?: number) => void) => (p === '/keep' ? cb(0, 7, OPEN_KEEP_CACHE) : cb(-13)),
    create: (_p: string, _m: number, cb: (e: number, fh?: number, of?: number) => void) => cb(0, 8, 0),
    read: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: (n: number, pieces?: readonly Buffer[], slot?: number) => void) => {
      seen.push(['read', len, pos]);
      if (pos === 0) return cb(2, [Buffer.from('a'), Buffer.from('b')], 5);
      buf.write('cd');
      cb(2);
    },
  };
  const got: unknown[][] = [];
  const signal = (...a: unknown[]) => got.push(a);
  const patched = bindingHooks(ops, true);
  patched._op_utimens(signal, '/f', 0, 0, UTIME_OMIT, 1577836800, 0, 5);
  t.same(seen.pop(), ['utimens', '/f', null, new FileTime(ft2020)], 'atime omitted, mtime set');
  t.same(got.pop(), [0]);
  patched._op_getattr(signal, '/nope');
  const [err, arr] = got.pop()!;
  t.equal(err, -2);
  t.equal((arr as Uint32Array).length, 22, 'a failure still hands over a stat of the binary\'s size');
  patched._op_fgetattr(signal, '', 3);
  t.equal((got.pop()![1] as Uint32Array).length, 22, 'fgetattr works without a path');
  patched._op_readdir(signal, '/d');
  const [names, meta] = got.pop()!.slice(1) as [Buffer, Buffer];
  t.equal(names.toString(), 'x\0', 'readdir: the names, each followed by NUL');
  t.equal(meta.length, 16, 'and 16 bytes per name');
  t.same([new BigUint64Array(meta.buffer, meta.byteOffset, 1)[0], new Uint32Array(meta.buffer, meta.byteOffset, 4)[2]], [st.ino, st.mode], 'the 64-bit inode number and the mode, all libfuse2 takes from a readdir entry');
  for (const [name, args] of [['_op_chmod', [0o644]], ['_op_chown', [0, 0]], ['_op_utimens', [0, 0, 0, 0, 0, 0]], ['_op_readdir', []]] as const) {
    (patched[name] as (...a: unknown[]) => void)(signal, '', ...args);
    t.same(got.pop(), [-2], `${name} without a path: ENOENT, nothing done`);
  }
  t.same(seen, [], 'no handler ran for an empty path');
  const rbuf = Buffer.alloc(8);
  patched._op_read(signal, '/f', 3, rbuf, 8, 0, 0);
  const lentAnswer = got.pop()!;
  t.same(lentAnswer.slice(0, 2), [2, 0], 'read: the byte count');
  t.equal(lentAnswer[2], rbuf.buffer, "then libfuse's memory, for the binding to detach");
  t.same([Buffer.concat(lentAnswer[3] as Buffer[]).toString(), lentAnswer[4]], ['ab', 5], 'then the lent pieces and their slot');
  patched._op_read(signal, '/f', 3, rbuf, 8, 1, 1);
  t.same(seen.pop(), ['read', 8, 1 + 2 ** 32], 'the position from its two 32-bit halves');
  t.equal(got.pop()!.length, 3, 'a copied read: count, 0, memory and nothing more');
  bindingHooks(ops, false)._op_read(signal, '/f', 3, rbuf, 8, 0, 0);
  t.equal(got.pop()!.length, 3, 'a stock binary is never handed pieces');
  seen.length = 0;
  patched._op_open(signal, '/keep', 0);
  t.same(got.pop(), [0, 7, OPEN_KEEP_CACHE], 'open answers fh and keep_cache');
  patched._op_open(signal, '/denied', 0);
  t.same(got.pop(), [-13, 0, 0], 'a failed open still hands over numbers (the signal must not fail)');
  patched._op_create(signal, '/new', 0o644);
  const created = got.pop()!;
  t.same(created.slice(0, 3), [0, 8, 0], 'create answers fh and flags');
  t.same(created[3], statArray(st), "and the new handle's stat, for the fgetattr libfuse sends next");
  const noStat = bindingHooks({ ...ops, fgetattr: (_p: string, _fd: number, cb: (e: number) => void) => cb(-5) }, true);
  noStat._op_create(signal, '/new', 0o644);
  t.same(got.pop(), [0, 8, 0], 'a stat that fails leaves the create answered without one (fgetattr then asks JavaScript)');
  const stock = bindingHooks(ops, false);
  stock._op_utimens(signal, '/f', 1000, 0, 2000, 0);
  t.same(seen.pop(), ['utimens', '/f', new Date(1000), new Date(2000)], 'stock binary: milliseconds');
  stock._op_fgetattr(signal, '/f', 3);
  t.equal((got.pop()![1] as Uint32Array).length, 18);
  stock._op_open(signal, '/keep', 0);
  t.same(got.pop(), [0, 7], 'stock binary: open answers the fd alone');
  stock._op_readdir(signal, '/d');
  const stockEntry = (got.pop()![2] as Uint32Array[])[0]!;
  const stockFull = statArrayUnpatched(st);
  t.same([stockEntry.length, stockEntry[0], stockEntry[7]], [18, stockFull[0], stockFull[7]], 'stock binary: type and 32-bit inode number');
});

t.test('packDirents: names with NUL after each, inode numbers and modes beside them', async (t) => {
  const stats = [st, { ...st, mode: 0o40755, ino: 2n ** 64n - 1n }, { ...st, ino: 7n }];
  const [names, meta] = packDirents(['.', 'é ü', 'long name with spaces'], stats);
  t.same(names.toString('utf8').split('\0'), ['.', 'é ü', 'long name with spaces', ''], 'UTF-8 names, NUL after each');
  const ino = new BigUint64Array(meta.buffer, meta.byteOffset, 6);
  const mode = new Uint32Array(meta.buffer, meta.byteOffset, 12);
  t.same([ino[0], ino[2], ino[4]], [st.ino, 2n ** 64n - 1n, 7n], 'inode numbers at 16-byte steps, all 64 bits');
  t.same([mode[2], mode[6], mode[10]], [st.mode, 0o40755, st.mode], 'modes after them');
  const [none, noMeta] = packDirents([], []);
  t.same([none.length, noMeta.length], [0, 0], 'an empty answer is empty');
  t.equal(packDirents(['a', 'b'], [st])[0].toString(), 'a\0', 'a name without a stat is left out');
});

t.test('the loaded binary is unpatched or speaks this version', async (t) => {
  t.ok([0, BINDING_PATCH].includes(bindingPatchVersion()), `version ${bindingPatchVersion()}`);
});

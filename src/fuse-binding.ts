/**
 * The JavaScript half of our patch to fuse-native's C bridge
 * (scripts/patch-fuse-native.mjs, applied at install). fuse-native's own
 * index.js converts stats and utimens arguments with fixed layouts and
 * answers open/create with the fd alone; Fuse subclasses override those
 * handlers (getattr, fgetattr, readdir, utimens, open, create) to speak the
 * layout of the binary actually loaded:
 *
 *  - patched (the binary exports `smbfuse_patch` = BINDING_PATCH): stats
 *    carry a 64-bit st_ino and times as seconds + nanoseconds; utimens
 *    brings seconds + nanoseconds with UTIME_NOW / UTIME_OMIT; unlinked open
 *    files arrive with path '' (flag_nullpath_ok); open and create answer
 *    open flags after the fd (OPEN_KEEP_CACHE: libfuse sets keep_cache);
 *  - unpatched (no toolchain at install): fuse-native 2.2.6's layout, 32-bit
 *    st_ino, milliseconds, and utimens' second time is the access time again;
 *    no open flags (the kernel drops a file's pages at every open).
 *
 * Handlers see times as Dates (a FileTime when exact to 100 ns), `null` for
 * "leave unchanged".
 *
 * A node without a path (only with `hard_remove`, which we do not use, or
 * a removed directory still open) reaches us as '' from the patched binary:
 * the descriptor handlers do not need it, and the path-only ones libfuse may
 * then call (fchmod, fchown, futimens, readdir) answer ENOENT rather than
 * act on the share root.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { FILETIME_UNIX_EPOCH, FileTime } from '../transport/pdu/fscc.js';

/** The patch version this code speaks (PATCH_VERSION in scripts/patch-fuse-native.mjs). */
export const BINDING_PATCH = 21;

/** Open flag for the patched binding: the kernel may keep its pages of the file (fuse_file_info.keep_cache). */
export const OPEN_KEEP_CACHE = 1;
/** Open flag for the patched binding (open only): close needs no FLUSH, the kernel is told FOPEN_NOFLUSH. */
export const OPEN_NO_FLUSH = 2;
/** Open flag for the patched binding (open only): the kernel's attributes of the file are stale; it is told to ask again. */
export const OPEN_INVAL_ATTR = 4;

/** utimensat(2)'s special tv_nsec values (Linux). */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

/** The stat fields the layouts carry (times as Dates). */
export interface BindingStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** Inode number (the server's file id); 0n: none. */
  ino: bigint;
  blksize: number;
  blocks: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
}

let addon: Record<string, unknown> | null | undefined;

/** The fuse-native binary node-gyp-build loads (its exports), or null if it cannot be loaded. */
export function bindingAddon(): Record<string, unknown> | null {
  if (addon !== undefined) return addon;
  try {
    const req = createRequire(import.meta.url);
    const dir = path.dirname(req.resolve('fuse-native/package.json'));
    addon = createRequire(path.join(dir, 'index.js'))('node-gyp-build')(dir) as Record<string, unknown>;
  } catch {
    addon = null;
  }
  return addon;
}

/** The patch version of the fuse-native binary node-gyp-build loads (0: unpatched). */
export function bindingPatchVersion(): number {
  return Number(bindingAddon()?.smbfuse_patch ?? 0);
}

/** Whether the loaded binary speaks our layout. */
export function bindingPatched(): boolean {
  return bindingPatchVersion() === BINDING_PATCH;
}

function put64(a: Uint32Array, at: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  a[at] = Number(u & 0xffffffffn);
  a[at + 1] = Number(u >> 32n);
}

/** A safe integer (negative too) as two's-complement 64 bits, without a BigInt (the array takes each half mod 2^32). */
function putNumber64(a: Uint32Array, at: number, v: number): void {
  a[at] = v;
  a[at + 1] = Math.floor(v / 0x100000000);
}

/** Seconds (into a[at], a[at+1]) and nanoseconds (a[at+2]) of a Date, exact for a FileTime; one BigInt operation at most. */
function putTime(a: Uint32Array, at: number, d: Date): void {
  const ms = d.getTime(); // a FileTime's milliseconds are its 100-ns units rounded down
  const sec = Math.floor(ms / 1000);
  let units = 0;
  if (d instanceof FileTime) {
    units = Number(d.filetime % 10000n); // the epoch is whole milliseconds
    if (units < 0) units += 10000;
  }
  putNumber64(a, at, sec);
  a[at + 2] = (ms - sec * 1000) * 1e6 + units * 100;
}

/** Words of a stat in the patched layout. */
const STAT_WORDS = 22;

/** The patched layout: 22 uint32s (see populate_stat in the patched fuse-native.c). */
export function statArray(st: BindingStat): Uint32Array {
  const a = new Uint32Array(STAT_WORDS);
  putStat(a, 0, st);
  return a;
}

/** `st` in the patched layout at a[at..at+22) (a[at+5] st_dev and a[at+9] st_rdev stay 0: libfuse sets the one, the other is 0). */
function putStat(a: Uint32Array, at: number, st: BindingStat): void {
  a[at] = st.mode;
  a[at + 1] = st.uid;
  a[at + 2] = st.gid;
  putNumber64(a, at + 3, st.size);
  a[at + 6] = st.nlink;
  put64(a, at + 7, st.ino);
  a[at + 10] = st.blksize;
  putNumber64(a, at + 11, st.blocks);
  putTime(a, at + 13, st.atime);
  putTime(a, at + 16, st.mtime);
  putTime(a, at + 19, st.ctime);
}

/** Words per name of a primed readdir answer: ms it holds, one unused, the stat. */
export const PRIMED_WORDS = 2 + STAT_WORDS;

/**
 * The primed stats of a readdir answer (patch 18, attr-epoch.ts): for the
 * i-th name PRIMED_WORDS uint32s at i, the ms its stat holds (0: the binding
 * keeps nothing for it) and the stat (zeros for a name not primed).
 */
export function packPrimed(stats: readonly BindingStat[], validMs: readonly number[]): Buffer {
  const n = Math.min(stats.length, validMs.length);
  const buf = Buffer.alloc(n * PRIMED_WORDS * 4);
  const a = new Uint32Array(buf.buffer, buf.byteOffset, n * PRIMED_WORDS);
  for (let i = 0; i < n; i++) {
    const ms = Math.min(Math.floor(validMs[i]!), 0xffffffff);
    if (!(ms > 0)) continue;
    a[i * PRIMED_WORDS] = ms;
    putStat(a, i * PRIMED_WORDS + 2, stats[i]!);
  }
  return buf;
}

/** fuse-native 2.2.6's layout: 18 uint32s, 32-bit ino, times in ms. */
export function statArrayUnpatched(st: BindingStat): Uint32Array {
  const a = new Uint32Array(18);
  a[0] = st.mode;
  a[1] = st.uid;
  a[2] = st.gid;
  put64(a, 3, BigInt(st.size));
  a[6] = st.nlink;
  a[7] = Number(BigInt.asUintN(32, st.ino));
  a[9] = st.blksize;
  put64(a, 10, BigInt(st.blocks));
  // An invalid Date (NaN) goes as 0: BigInt would throw, and with it the mount.
  [st.atime, st.mtime, st.ctime].forEach((d, i) => put64(a, 12 + 2 * i, BigInt(d.getTime() || 0)));
  return a;
}

/**
 * A readdir entry in fuse-native 2.2.6's layout (an unpatched binary):
 * libfuse2 takes only the inode number and the file type from it
 * (fill_dir), so the rest stays 0 and costs nothing to fill.
 */
export function direntArray(st: BindingStat): Uint32Array {
  const a = new Uint32Array(18);
  a[0] = st.mode;
  a[7] = Number(BigInt.asUintN(32, st.ino));
  return a;
}

/**
 * A readdir answer for the patched binding, in two Buffers: the names, each
 * followed by NUL (listed names never hold one, dir-names.ts), and 16 bytes
 * per name, its inode number (uint64) and mode (uint32) in this machine's
 * byte order. libfuse2 takes nothing else from a readdir entry; the binding
 * fills them in one pass instead of a few N-API calls per name.
 */
export function packDirents(names: readonly string[], stats: readonly BindingStat[]): [Buffer, Buffer] {
  const n = Math.min(names.length, stats.length);
  const meta = Buffer.alloc(n * 16);
  const ino = new BigUint64Array(meta.buffer, meta.byteOffset, n * 2);
  const mode = new Uint32Array(meta.buffer, meta.byteOffset, n * 4);
  for (let i = 0; i < n; i++) {
    const st = stats[i]!;
    ino[2 * i] = BigInt.asUintN(64, st.ino);
    mode[4 * i + 2] = st.mode;
  }
  const text = Buffer.from(n === names.length ? `${names.join('\0')}\0` : `${names.slice(0, n).join('\0')}\0`);
  return [n === 0 ? Buffer.alloc(0) : text, meta];
}

/** A utimens time from the patched binding: a Date, or null for UTIME_OMIT. */
export function utimeArg(lo: number, hi: number, nsec: number, now: () => number = Date.now): Date | null {
  if (nsec === UTIME_OMIT) return null;
  if (nsec === UTIME_NOW) return new Date(now());
  const sec = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  return new FileTime(sec * 10000000n + BigInt(Math.floor(nsec / 100)) + FILETIME_UNIX_EPOCH);
}

const EIO = 5;
const ENOENT = 2;
const EPOCH = new Date(0);
const EMPTY: BindingStat = { mode: 0, uid: 0, gid: 0, size: 0, nlink: 0, ino: 0n, blksize: 0, blocks: 0, atime: EPOCH, mtime: EPOCH, ctime: EPOCH };

type Signal = (err: number, ...rest: unknown[]) => void;
type StatCb = (err: number, st?: BindingStat) => void;
/** open/create answer: fh, and open flags (OPEN_KEEP_CACHE) the patched binding passes to libfuse. */
type OpenCb = (err: number, fh?: number, openFlags?: number) => void;
/**
 * A read's answer: the bytes read (or a negative errno), and for a lent
 * answer (patch 17, read-lending.ts) the bytes themselves, in pieces the
 * binding writes in place of libfuse's buffer, with their slot in the lent table.
 */
export type ReadCb = (n: number, pieces?: readonly Buffer[], slot?: number) => void;

/** Per name of a readdir answer, ms its stat answers getattr for (0: not), made while the epoch word held `epoch` (attr-epoch.ts). */
export interface PrimedStats {
  validMs: readonly number[];
  epoch: number;
}

/** What our handler table offers for the overridden operations. */
interface Handlers {
  chmod(path: string, mode: number, cb: (err: number) => void): void;
  chown(path: string, uid: number, gid: number, cb: (err: number) => void): void;
  getattr(path: string, cb: StatCb): void;
  open(path: string, flags: number, cb: OpenCb): void;
  create(path: string, mode: number, cb: OpenCb): void;
  fgetattr(path: string, fd: number, cb: StatCb): void;
  readdir(path: string, cb: (err: number, names?: string[], stats?: BindingStat[], primed?: PrimedStats) => void): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: ReadCb): void;
  utimens(path: string, atime: Date | null, mtime: Date | null, cb: (err: number) => void): void;
}

/**
 * fuse-native's handler hooks (`_op_<name>`, called with fuse-native's
 * signal function and the raw arguments) for the loaded binary's layout.
 */
export function bindingHooks(ops: Handlers, patched = bindingPatched()) {
  const arr = patched ? statArray : statArrayUnpatched;
  // Failures still hand the binary a stat of its layout (2.2.6 reads it anyway).
  const none = arr(EMPTY);
  return {
    _op_getattr(signal: Signal, path: string) {
      ops.getattr(path, (err, st) => (err || !st ? signal(err || -EIO, none) : signal(0, arr(st))));
    },
    _op_fgetattr(signal: Signal, path: string, fd: number) {
      ops.fgetattr(path, fd, (err, st) => (err || !st ? signal(err || -EIO, none) : signal(0, arr(st))));
    },
    // The patched binary reads open flags after the fd; 2.2.6 takes the fd alone.
    _op_open(signal: Signal, path: string, flags: number) {
      ops.open(path, flags, (err, fh, of) => (patched ? signal(err, fh ?? 0, of ?? 0) : signal(err, fh ?? 0)));
    },
    _op_create(signal: Signal, path: string, mode: number) {
      ops.create(path, mode, (err, fh, of) => {
        if (!patched) return signal(err, fh ?? 0);
        if (err) return signal(err, fh ?? 0, of ?? 0);
        // libfuse asks for the new handle's stat next: it goes with this answer,
        // and the binding answers that fgetattr without another hop (patch 14).
        ops.fgetattr(path, fh ?? 0, (e, st) => (e || !st ? signal(0, fh ?? 0, of ?? 0) : signal(0, fh ?? 0, of ?? 0, arr(st))));
      });
    },
    _op_chmod(signal: Signal, path: string, mode: number) {
      if (path === '') return signal(-ENOENT);
      ops.chmod(path, mode, (err) => signal(err));
    },
    _op_chown(signal: Signal, path: string, uid: number, gid: number) {
      if (path === '') return signal(-ENOENT);
      ops.chown(path, uid, gid, (err) => signal(err));
    },
    _op_readdir(signal: Signal, path: string) {
      if (path === '') return signal(-ENOENT);
      ops.readdir(path, (err, names, stats, primed) => {
        if (err) return signal(err);
        if (patched && primed) return signal(0, ...packDirents(names ?? [], stats ?? []), packPrimed(stats ?? [], primed.validMs), primed.epoch);
        if (patched) return signal(0, ...packDirents(names ?? [], stats ?? []));
        signal(0, names ?? [], (stats ?? []).map((st) => direntArray(st)));
      });
    },
    _op_read(signal: Signal, path: string, fd: number, buf: Buffer, len: number, posLow: number, posHigh: number) {
      // buf.buffer: the binding detaches libfuse's memory from JavaScript once answered.
      ops.read(path, fd, buf, len, posLow + posHigh * 2 ** 32, (n, pieces, slot) =>
        pieces && patched ? signal(n, 0, buf.buffer, pieces, slot) : signal(n, 0, buf.buffer),
      );
    },
    _op_utimens(signal: Signal, path: string, ...t: number[]) {
      if (path === '') return signal(-ENOENT);
      let atime: Date | null;
      let mtime: Date | null;
      if (patched) {
        atime = utimeArg(t[0]!, t[1]!, t[2]!);
        mtime = utimeArg(t[3]!, t[4]!, t[5]!);
      } else {
        // Milliseconds (a stock 2.2.6 binary passes the access time twice).
        atime = new Date(t[0]! + t[1]! * 2 ** 32);
        mtime = new Date(t[2]! + t[3]! * 2 ** 32);
      }
      ops.utimens(path, atime, mtime, (err) => signal(err));
    },
  };
}

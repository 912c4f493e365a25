/**
 * The fuse-native handler table: thin adapters from FUSE callbacks to SmbFs.
 *
 * Rules every handler keeps:
 *  - it never throws: failures become a negative errno via toFuseErrno();
 *  - it answers within `timeoutMs` (the transport timeout): past that it
 *    answers -ETIMEDOUT and the late result is dropped;
 *  - anything that would change the share answers -EROFS (read-only mount).
 *
 * fuse-native callback conventions: `cb(errno, value?)` with errno 0 or
 * negative, except read/write which answer `cb(bytes)` or `cb(-errno)`.
 */
import { EROFS, ETIMEDOUT, toFuseErrno } from './errno.js';
import type { FuseStat, FuseStatfs, SmbFs } from './fs.js';

type Cb<T extends unknown[] = []> = (err: number, ...rest: T) => void;

export interface FuseOpsOptions {
  /** Longest a handler may take before answering -ETIMEDOUT. */
  timeoutMs: number;
  /** Debug trace of each operation and its result (optional). */
  trace?: (line: string) => void;
}

/** The handler object handed to `new Fuse(mnt, ops, opts)`. */
export type FuseOps = Record<string, (...args: never[]) => void>;

/**
 * Run `fn` and answer `cb` once: with `ok(result)` on success, with a
 * negative errno on failure or after `timeoutMs`.
 */
function answer<T>(
  o: FuseOpsOptions,
  name: string,
  path: string,
  fn: () => Promise<T> | T,
  ok: (v: T) => void,
  fail: (errno: number) => void,
): void {
  let done = false;
  const finish = (f: () => void, what: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    o.trace?.(`${name} ${path} -> ${what}`);
    f();
  };
  const timer = setTimeout(() => finish(() => fail(-ETIMEDOUT), 'ETIMEDOUT'), o.timeoutMs);
  let p: Promise<T>;
  try {
    p = Promise.resolve(fn());
  } catch (e) {
    p = Promise.reject(e);
  }
  p.then(
    (v) => finish(() => ok(v), 'ok'),
    (e: unknown) => {
      const errno = toFuseErrno(e);
      finish(() => fail(errno), String(errno));
    },
  );
}

/** Build the handler table over a filesystem. */
export function makeFuseOps(fs: SmbFs, o: FuseOpsOptions): FuseOps {
  const erofs = (name: string) => (...args: unknown[]) => {
    const cb = args[args.length - 1] as Cb;
    o.trace?.(`${name} ${String(args[0])} -> EROFS`);
    cb(-EROFS);
  };
  const ops = {
    init(cb: Cb) {
      cb(0);
    },
    getattr(path: string, cb: Cb<[FuseStat?]>) {
      answer(o, 'getattr', path, () => fs.getattr(path), (st) => cb(0, st), (e) => cb(e));
    },
    fgetattr(path: string, _fd: number, cb: Cb<[FuseStat?]>) {
      answer(o, 'fgetattr', path, () => fs.getattr(path), (st) => cb(0, st), (e) => cb(e));
    },
    readdir(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void) {
      answer(o, 'readdir', path, () => fs.readdir(path), (r) => cb(0, r.names, r.stats), (e) => cb(e));
    },
    opendir(path: string, _flags: number, cb: Cb<[number?]>) {
      answer(o, 'opendir', path, () => fs.opendir(path), (fh) => cb(0, fh), (e) => cb(e));
    },
    releasedir(path: string, fd: number, cb: Cb) {
      answer(o, 'releasedir', path, () => fs.releasedir(fd), () => cb(0), (e) => cb(e));
    },
    open(path: string, flags: number, cb: Cb<[number?]>) {
      answer(o, 'open', path, () => fs.open(path, flags), (fh) => cb(0, fh), (e) => cb(e));
    },
    read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
      answer(o, 'read', path, () => fs.read(fd, buf, len, pos), (n) => cb(n), (e) => cb(e));
    },
    release(path: string, fd: number, cb: Cb) {
      answer(o, 'release', path, () => fs.release(fd), () => cb(0), (e) => cb(e));
    },
    flush(_path: string, _fd: number, cb: Cb) {
      cb(0);
    },
    fsync(_path: string, _datasync: boolean, _fd: number, cb: Cb) {
      cb(0);
    },
    fsyncdir(_path: string, _datasync: boolean, _fd: number, cb: Cb) {
      cb(0);
    },
    statfs(path: string, cb: Cb<[FuseStatfs?]>) {
      answer(o, 'statfs', path, () => fs.statfs(), (s) => cb(0, s), (e) => cb(e));
    },
    access(path: string, mode: number, cb: Cb) {
      answer(o, 'access', path, () => fs.access(path, mode), () => cb(0), (e) => cb(e));
    },
    write(path: string, _fd: number, _buf: Buffer, _len: number, _pos: number, cb: (n: number) => void) {
      o.trace?.(`write ${path} -> EROFS`);
      cb(-EROFS);
    },
    create: erofs('create'),
    unlink: erofs('unlink'),
    mkdir: erofs('mkdir'),
    rmdir: erofs('rmdir'),
    rename: erofs('rename'),
    truncate: erofs('truncate'),
    ftruncate: erofs('ftruncate'),
    chmod: erofs('chmod'),
    chown: erofs('chown'),
    utimens: erofs('utimens'),
    setxattr: erofs('setxattr'),
    removexattr: erofs('removexattr'),
    symlink: erofs('symlink'),
    link: erofs('link'),
    mknod: erofs('mknod'),
  };
  return ops as unknown as FuseOps;
}

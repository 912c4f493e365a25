/**
 * The fuse-native handler table: thin adapters from FUSE callbacks to SmbFs.
 *
 * Rules every handler keeps:
 *  - it never throws: failures become a negative errno via toFuseErrno();
 *  - it answers within `timeoutMs` (the transport timeout): past that it
 *    answers -ETIMEDOUT and the late result is dropped (a directory listing
 *    checks the flag below and sends no more requests); a caller the kernel
 *    interrupted (FUSE INTERRUPT) is answered -EINTR the same way if the
 *    call is still waiting INTERRUPT_GRACE_MS later;
 *  - buffers fuse-native passes in (read, write, setxattr) are libfuse's and
 *    are freed once the call is answered, which a timeout can do while work
 *    still runs: that work gets a flag (`aborted`) set before any answer,
 *    writes to a read buffer stop there, and data to be written is copied out
 *    before the first wait;
 *  - on a read-only mount anything that would change the share answers -EROFS.
 *
 * The file-system logic lives in fs.ts, fs-files.ts and fs-namespace.ts.
 *
 * fuse-native callback conventions: `cb(errno, value?)` with errno 0 or
 * negative, except read/write which answer `cb(bytes)` or `cb(-errno)`.
 */
import type { NetfsCallerGone, NetfsLent } from '../netfs/ops.js';
import { EINTR, ENODATA, ENOTSUP, EPERM, EROFS, ETIMEDOUT, toFuseErrno } from './errno.js';
import type { Interrupts } from './fuse-interrupt.js';
import { eaName, isUserXattr } from './xattr.js';
import type { FuseStat, FuseStatfs, SmbFs } from './fs.js';
import { O_ACCMODE, O_CREAT, O_TRUNC } from './fs-files.js';
import { OPEN_INVAL_ATTR, OPEN_KEEP_CACHE, OPEN_NO_FLUSH, type PrimedStats, type ReadCb } from './fuse-binding.js';
import type { LentReads } from './read-lending.js';
import * as ns from './fs-namespace.js';

type Cb<T extends unknown[] = []> = (err: number, ...rest: T) => void;

export interface FuseOpsOptions {
  /** Longest a handler may take before answering -ETIMEDOUT. */
  timeoutMs: number;
  /** Debug trace of each operation and its result (optional). */
  trace?: (line: string) => void;
  /** Where a handler registers its early EINTR answer (FUSE INTERRUPT; fuse-interrupt.ts). */
  interrupts?: Interrupts;
  /** `hard` mounts: while this is true (the server is away or just came back), a handler waits on past timeoutMs. */
  waitForServer?: () => boolean;
  /** Cached reads answered from the page cache's buffers (a binding with patch 17). */
  lending?: LentReads;
}

/** How long an interrupted call may still take before it answers EINTR. */
export const INTERRUPT_GRACE_MS = 200;

/** The handler object handed to `new Fuse(mnt, ops, opts)`. */
export type FuseOps = Record<string, (...args: never[]) => void>;

/**
 * Run `fn` and answer `cb` once: with `ok(result)` on success, with a
 * negative errno on failure or after `timeoutMs`. The flag `fn` gets is
 * set just before the answer, whichever it is.
 */
function answer<T>(
  o: FuseOpsOptions,
  name: string,
  path: string,
  fn: (answered: NetfsCallerGone) => Promise<T> | T,
  ok: (v: T) => void,
  fail: (errno: number) => void,
): void {
  let done = false;
  const answered = { aborted: false };
  const finish = (f: () => void, what: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearTimeout(grace);
    forget?.();
    answered.aborted = true;
    o.trace?.(`${name} ${path} -> ${what}`);
    f();
  };
  const expire = (): void => {
    if (o.waitForServer?.()) {
      timer = setTimeout(expire, o.timeoutMs);
      return;
    }
    finish(() => fail(-ETIMEDOUT), 'ETIMEDOUT');
  };
  let timer = setTimeout(expire, o.timeoutMs);
  // Interrupted: the caller got a signal. Any signal with a handler does
  // this (a Go runtime's preemption, a profiler's timer), so a call that is
  // about to be answered is let finish; one still waiting after a grace
  // period is answered EINTR (libfuse repeats the interrupt every second).
  let grace: NodeJS.Timeout | undefined;
  const forget = o.interrupts?.register(() => {
    grace ??= setTimeout(() => finish(() => fail(-EINTR), 'EINTR'), INTERRUPT_GRACE_MS);
  });
  let p: Promise<T>;
  try {
    p = Promise.resolve(fn(answered));
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

/**
 * Answer a read with lent bytes: the pieces themselves when a slot of the
 * lent table is free (the caller has swept it), else copied into libfuse's
 * buffer (`buf`, still ours: the call is not answered yet) and released at once.
 */
function answerLent(lending: LentReads, lent: NetfsLent, buf: Buffer, cb: ReadCb): void {
  const slot = lent.bytes > 0 ? lending.lend(lent) : -1;
  if (slot >= 0) return cb(lent.bytes, lent.pieces, slot);
  let at = 0;
  for (const piece of lent.pieces) at += piece.copy(buf, at);
  lent.release();
  cb(lent.bytes);
}

type Handler = (...args: unknown[]) => void;

const always = () => true;

/**
 * Handlers that change nothing a cached getattr answer is made from
 * (attr-epoch.ts), given their arguments (those of fuse-native, the
 * callback last). What they learn from the server goes through the
 * attribute cache, which moves the epoch itself when a stat differs.
 */
const LEAVES_ATTRS: Record<string, (fs: SmbFs, args: unknown[]) => boolean> = {
  init: always, getattr: always, fgetattr: always, readdir: always, opendir: always, releasedir: always, fsyncdir: always,
  statfs: always, access: always, readlink: always, getxattr: always, listxattr: always, read: always,
  open: (_fs, args) => ((args[1] as number) & O_ACCMODE) === 0 && ((args[1] as number) & O_TRUNC) === 0,
  // Handles open for reading only: nothing written to flush, a close that changes nothing here.
  flush: (fs, args) => fs.files.flushNeedless(args[1] as number),
  release: (fs, args) => fs.files.flushNeedless(args[1] as number),
};

/**
 * Every other handler moves the epoch when called and again just before it
 * answers, so lookups the binding answers (primed by a readdir) never give
 * what the call changed once the caller has seen it return.
 */
function movingEpoch(fs: SmbFs, ops: Record<string, Handler>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const [name, fn] of Object.entries(ops)) {
    const leaves = LEAVES_ATTRS[name];
    out[name] = (...args: unknown[]) => {
      if (leaves?.(fs, args)) return fn(...args);
      fs.attrEpoch.bump();
      const cb = args[args.length - 1];
      if (typeof cb !== 'function') return fn(...args);
      args[args.length - 1] = (...answer: unknown[]) => {
        fs.attrEpoch.bump();
        cb(...answer);
      };
      return fn(...args);
    };
  }
  return out;
}

/** Build the handler table over a filesystem. */
export function makeFuseOps(fs: SmbFs, o: FuseOpsOptions): FuseOps {
  /** Answer a handler whose success carries no value. */
  const run = (name: string, path: string, fn: () => Promise<unknown> | unknown, cb: Cb) =>
    answer(o, name, path, fn, () => cb(0), (e) => cb(e));
  /**
   * `fn` after the files at `paths` are settled: a deferred CREATE sent, a
   * CLOSE after the last release done (SmbFiles.settle), so the server sees
   * the file as this mount does and operations stay in order.
   */
  const settled =
    <T>(paths: string[], fn: () => Promise<T> | T) =>
    async (): Promise<T> => {
      for (const p of paths) await fs.files.settle(p);
      return fn();
    };
  /**
   * settled() for an unlink or rename, which can end a handle closetimeo
   * keeps of the files at `paths` in its own compound: those handles are
   * taken over (SmbFiles.takeParked) and handed to `fn` in an array it
   * empties when it sends them; the rest are settled. Any it did not send
   * (it failed first) are closed after it.
   */
  const settledTaking =
    <T>(paths: string[], fn: (closing: Buffer[]) => Promise<T> | T) =>
    async (): Promise<T> => {
      const closing: Buffer[] = [];
      try {
        for (const p of paths) {
          const id = fs.files.takeParked(p);
          if (id) closing.push(id);
          else await fs.files.settle(p);
        }
        return await fn(closing);
      } finally {
        for (const id of closing.splice(0)) fs.files.closeTaken(id);
      }
    };
  const openFlags = (fh: number) => (fs.files.keepsKernelCache(fh) ? OPEN_KEEP_CACHE : 0);
  // A handle open for reading has nothing to flush: its close need not ask; an open
  // that found the file changed has the kernel drop its attributes (the binding reads both for open only).
  const openOnlyFlags = (fh: number) =>
    openFlags(fh) | (fs.files.flushNeedless(fh) ? OPEN_NO_FLUSH : 0) | (fs.files.kernelAttrsStale(fh) ? OPEN_INVAL_ATTR : 0);
  const ops = {
    init(cb: Cb) {
      cb(0);
    },
    getattr(path: string, cb: Cb<[FuseStat?]>) {
      // From the attribute cache at once, without answer()'s timers and promise.
      const cached = fs.getattrCached(path);
      if (cached) {
        o.trace?.(`getattr ${path} -> ok`);
        return cb(0, cached);
      }
      answer(o, 'getattr', path, () => fs.getattr(path), (st) => cb(0, st), (e) => cb(e));
    },
    fgetattr(path: string, fd: number, cb: Cb<[FuseStat?]>) {
      answer(o, 'fgetattr', path, () => fs.fgetattr(fd, path), (st) => cb(0, st), (e) => cb(e));
    },
    readdir(path: string, cb: (err: number, names?: string[], stats?: FuseStat[], primed?: PrimedStats) => void) {
      answer(o, 'readdir', path, (answered) => fs.readdir(path, answered), (r) => cb(0, r.names, r.stats, r.primed), (e) => cb(e));
    },
    opendir(path: string, _flags: number, cb: Cb<[number?]>) {
      answer(o, 'opendir', path, () => fs.opendir(path), (fh) => cb(0, fh), (e) => cb(e));
    },
    releasedir(path: string, fd: number, cb: Cb) {
      run('releasedir', path, () => fs.releasedir(fd), cb);
    },
    /** Answers the fh and open flags (keep_cache: the kernel may keep its pages, see kernel-cache.ts). */
    open(path: string, flags: number, cb: Cb<[number?, number?]>) {
      answer(o, 'open', path, () => fs.open(path, flags), (fh) => cb(0, fh, openOnlyFlags(fh)), (e) => cb(e));
    },
    /**
     * fuse-native passes no open flags to create, so O_EXCL is not seen here:
     * the kernel only calls create after a lookup found no such name, and
     * we open-or-create (another client may have made it meanwhile).
     */
    create(path: string, mode: number, cb: Cb<[number?, number?]>) {
      answer(o, 'create', path, () => fs.create(path, O_CREAT | 2, mode), (fh) => cb(0, fh, openFlags(fh)), (e) => cb(e));
    },
    read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: ReadCb) {
      // A read the page cache holds whole is answered at once (readahead keeps most of a stream's there),
      // with the cached bytes themselves when the binding can write them (read-lending.ts).
      const lending = o.lending;
      if (lending) {
        lending.sweep();
        const lent = lending.canLend ? fs.files.lendNow(fd, len, pos) : null;
        if (lent !== null) {
          o.trace?.(`read ${path} -> ok`);
          return answerLent(lending, lent, buf, cb);
        }
        const n = Math.min(len, buf.length);
        const read = (answered: NetfsCallerGone) => fs.files.readLent(fd, n, pos, answered) ?? fs.read(fd, buf, n, pos, answered);
        const done = (v: number | NetfsLent) => {
          if (typeof v === 'number') return cb(v);
          lending.sweep(); // slots freed while this read waited
          answerLent(lending, v, buf, cb);
        };
        // A read answered early (timeout, EINTR) never resolves with lent bytes: its
        // `answered` flag is set, and readLent checks it after its last wait.
        return answer(o, 'read', path, read, done, (e) => cb(e));
      }
      const now = fs.files.readNow(fd, buf, len, pos);
      if (now !== null) {
        o.trace?.(`read ${path} -> ok`);
        return cb(now);
      }
      answer(o, 'read', path, (answered) => fs.read(fd, buf, len, pos, answered), (n) => cb(n), (e) => cb(e));
    },
    write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
      // A buffered write that needs no wait is answered at once (most of a stream's writes).
      const n = fs.files.writeNow(fd, buf, len, pos);
      if (n !== null) {
        o.trace?.(`write ${path} -> ok`);
        return cb(n);
      }
      answer(o, 'write', path, () => fs.files.write(fd, buf, len, pos), (n) => cb(n), (e) => cb(e));
    },
    flush(path: string, fd: number, cb: Cb) {
      // A handle open for reading has nothing to write back: answered at once.
      if (fs.files.flushNeedless(fd)) {
        o.trace?.(`flush ${path} -> ok`);
        return cb(0);
      }
      run('flush', path, () => fs.files.flush(fd), cb);
    },
    fsync(path: string, _datasync: boolean, fd: number, cb: Cb) {
      run('fsync', path, () => fs.files.fsync(fd), cb);
    },
    fsyncdir(_path: string, _datasync: boolean, _fd: number, cb: Cb) {
      cb(0);
    },
    release(path: string, fd: number, cb: Cb) {
      // The close goes on in the background (SmbFiles.release): answered at once.
      fs.release(fd);
      o.trace?.(`release ${path} -> ok`);
      cb(0);
    },
    truncate(path: string, size: number, cb: Cb) {
      run('truncate', path, settled([path], () => ns.truncate(fs, path, size)), cb);
    },
    ftruncate(path: string, fd: number, size: number, cb: Cb) {
      run('ftruncate', path, () => fs.files.ftruncate(fd, size), cb);
    },
    statfs(path: string, cb: Cb<[FuseStatfs?]>) {
      answer(o, 'statfs', path, () => fs.statfs(), (s) => cb(0, s), (e) => cb(e));
    },
    access(path: string, mode: number, cb: Cb) {
      run('access', path, () => fs.access(path, mode), cb);
    },
    unlink(path: string, cb: Cb) {
      run('unlink', path, settledTaking([path], (closing) => ns.unlink(fs, path, closing)), cb);
    },
    rename(from: string, to: string, cb: Cb) {
      run('rename', from, settledTaking([from, to], (closing) => ns.rename(fs, from, to, closing)), cb);
    },
    mkdir(path: string, mode: number, cb: Cb) {
      run('mkdir', path, settled([path], () => ns.mkdir(fs, path, mode)), cb);
    },
    rmdir(path: string, cb: Cb) {
      run('rmdir', path, async () => (await fs.files.settleChildren(path, true), ns.rmdir(fs, path)), cb);
    },
    link(existing: string, path: string, cb: Cb) {
      run('link', path, settled([existing, path], () => ns.link(fs, existing, path)), cb);
    },
    /** fuse-native calls symlink(target, path). */
    symlink(target: string, path: string, cb: Cb) {
      run('symlink', path, settled([path], () => ns.symlink(fs, target, path)), cb);
    },
    readlink(path: string, cb: Cb<[string?]>) {
      answer(o, 'readlink', path, settled([path], () => ns.readlink(fs, path)), (t) => cb(0, t), (e) => cb(e));
    },
    /**
     * Times as fuse-binding.ts delivers them: a Date, or null to leave that
     * time as it is. A new file whose CREATE is deferred takes them with it
     * (tar and cp -p set them on the open file just before its close).
     */
    utimens(path: string, atime: Date | null, mtime: Date | null, cb: Cb) {
      const later = settled([path], () => ns.utimens(fs, path, atime, mtime));
      run('utimens', path, () => fs.files.deferTimes(path, atime, mtime) || later(), cb);
    },
    chmod(path: string, mode: number, cb: Cb) {
      run('chmod', path, settled([path], () => ns.chmod(fs, path, mode)), cb);
    },
    chown(path: string, _uid: number, _gid: number, cb: Cb) {
      run('chown', path, settled([path], () => ns.chown(fs, path)), cb);
    },
    setxattr(path: string, name: string, value: Buffer, _position: number, flags: number, cb: Cb) {
      const own = Buffer.from(value); // libfuse's buffer: copied before any wait
      run('setxattr', path, settled([path], () => ns.setxattr(fs, path, name, own, flags)), cb);
    },
    getxattr(path: string, name: string, _position: number, cb: Cb<[Buffer?]>) {
      // Outside user. nothing exists: answered at once (the kernel asks for
      // security.capability before every write(2) to a file). The patched
      // binding answers these itself; this is for an unpatched one.
      if (!isUserXattr(name)) {
        o.trace?.(`getxattr ${path} -> ${-ENOTSUP}`);
        return cb(-ENOTSUP);
      }
      answer(o, 'getxattr', path, async () => {
          // A file whose CREATE is deferred has no EAs yet.
          if (fs.files.localStat(path)) throw (eaName(name), -ENODATA);
          return settled([path], () => ns.getxattr(fs, path, name))();
        }, (v) => cb(0, v), (e) => cb(e));
    },
    listxattr(path: string, cb: Cb<[string[]?]>) {
      answer(o, 'listxattr', path, async () => (fs.files.localStat(path) ? [] : settled([path], () => ns.listxattr(fs, path))()), (l) => cb(0, l), (e) => cb(e));
    },
    removexattr(path: string, name: string, cb: Cb) {
      run('removexattr', path, settled([path], () => ns.removexattr(fs, path, name)), cb);
    },
    mknod(path: string, _mode: number, _dev: number, cb: Cb) {
      o.trace?.(`mknod ${path} -> ${fs.readOnly ? 'EROFS' : 'EPERM'}`);
      cb(fs.readOnly ? -EROFS : -EPERM);
    },
  };
  return movingEpoch(fs, ops as unknown as Record<string, Handler>) as unknown as FuseOps;
}

/**
 * Open files: the per-file inode slots, file handles, and the data path
 * (open, create, read, write, flush, fsync, release, truncate of an open file,
 * lease breaks, writeback at unmount).
 *
 * One slot per file path while the file is open here: every descriptor of a
 * file shares its netfs inode, so data written through one is read through
 * another before any of it reaches the server. Slots follow renames
 * (movePath). After the last close a slot is kept idle (bounded LRU) with
 * the server version (file index, mtime, size) of its cached data; a re-open
 * reuses it only if the version still matches.
 *
 * Coherency by `cache=` (mount.cifs semantics):
 *  - strict: opens ask for a lease; pages are read from and kept in the
 *    cache only while some open of the file holds R; writes are buffered only
 *    under W, otherwise written through (buffered write + flush, or
 *    unbuffered without R). A break flushes dirty data if W goes and drops
 *    pages if R goes, then resolves so the transport acknowledges.
 *  - loose: always cached; close-to-open (re-open compares the server
 *    version and drops stale pages), dirty data written back on close.
 *  - none: reads and writes go straight between FUSE's buffers and the
 *    server.
 * A read-only mount keeps the read-only mount's behaviour (loose).
 *
 * Small files (createFile): when the name is known not to exist (a negative
 * lookup or a fresh listing without it), create() answers at once and the
 * CREATE is deferred. Nobody else can see the file, so it is cached as under
 * a RWH lease: reads, writes and stats are answered here. At the flush of
 * its only open, a file whose data is all in the cache and fits one WRITE
 * goes out as CREATE+WRITE+CLOSE in one round trip (the CLOSE's attributes
 * fill the attribute cache); anything else (fsync, truncate, a path
 * operation, data too large or with holes, a second open) sends the CREATE
 * first. A failed deferred CREATE is returned by flush (so by close(2));
 * data that never reached the server is logged.
 *
 * release answers at once; the CLOSE goes out in the background (asking for
 * the attributes at close). settle(path) orders a later open, rename or
 * unlink of the path after it; unmount (closeAll) waits for it.
 *
 * Deferred close (`closetimeo`): the last close of a file whose handle holds
 * a lease with H keeps that handle open (parked) for a while, so a re-open
 * with no more access than it has costs no round trip. A break that takes
 * H away, any other path operation on the file (settle), the timer or
 * unmount closes it. As every open shares delete, a rename or unlink by
 * another client breaks no H lease: a re-open within closetimeo may still
 * reach the file under its old name (stale by at most closetimeo, as
 * attributes are by actimeo).
 */
import { LRUCache } from 'lru-cache';
import type { OpenWatch } from '../transport/durable.js';
import type { SmbStat } from '../transport/types.js';
import type { AttrCache } from './attr-cache.js';
import type { CacheMode } from './config.js';
import { EBADF, ECANCELED, EIO, EISDIR, EROFS, toFuseErrno, EACCES } from './errno.js';
import type { NetfsCallerGone, NetfsLent } from '../netfs/ops.js';
import type { FsInode, InodeFactory } from './fs-inode.js';
import { HandleTable, type FileHandle } from './handles.js';
import { KernelPageCache, sameAttrs } from './kernel-cache.js';
import { OpenSlots } from './open-slots.js';
import { ReadBuffers } from './read-buffers.js';
import { CreateAccess } from './dir-access.js';
import { inoFromPath } from './ino.js';
import { fuseParent } from './path-map.js';
import { LEASE_H, LEASE_R, LEASE_W, READ_FIRST_MAX, type SmbBreakEvent, type SmbCreateOptions, type SmbTimes, type SmbTree, type SmbWrittenFile } from '../transport/types.js';

type CreateDisposition = SmbCreateOptions['disposition'];
/** A path of ASCII characters only: no other Unicode spelling names the same server file. */
const ASCII = /^[\x00-\x7f]*$/;
import { SmbNetfsOps } from './smb-netfs-ops.js';

export const O_ACCMODE = 3;
export const O_WRONLY = 1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
/** Linux x86-64/arm64 value; the kernel passes the open flags through FUSE. */
export const O_DIRECT = 0o40000;

export interface InodeSlot {
  key: string;
  /** FUSE path now (follows renames; the hidden name after a silly rename). */
  path: string;
  inode: FsInode;
  ops: SmbNetfsOps;
  opens: number;
  handles: Set<OpenFile>;
  /** Server version of the cached data: fileIndex:mtime:size ('' = unknown). */
  version: string;
  /** We changed the data since open (size/mtime reported from here). */
  written: boolean;
  /** mtime of our last write, reported until the server's is re-read. */
  lastWrite: Date | null;
  /** Appends (and size changes) of this file, one after another. */
  appendTail: Promise<unknown>;
  /** Unlinked while open: delete `path` on the last close. */
  deleteOnClose: boolean;
  /** Server CLOSEs of this file's handles in flight (a CLOSE after writes may set mtime). */
  closing: Promise<unknown>;
  /** How many of those are in flight now. */
  closesInFlight: number;
  /** The deferred CREATE of a new file, not sent yet (null once sent). */
  pendingCreate: SmbCreateOptions | null;
  /**
   * Times set (utimens) while the CREATE was deferred: sent with it, or, if
   * it went out alone, after the data at the next flush (sendTimes).
   */
  pendingTimes: SmbTimes | null;
  /** Attributes reported while the CREATE is deferred. */
  localStat: SmbStat | null;
  /** The open of handles without a server handle, in flight. */
  opening: Promise<void> | null;
  /** Writeback may send the deferred CREATE as CREATE+WRITE+CLOSE (flush of the only open). */
  compoundOk: boolean;
  /** Server file id from the CREATE (0n: unknown). */
  fileIndex: bigint;
  /**
   * The inode number the kernel was given for a file created here before the
   * server had it (its path's hash, inoFromPath): reported instead of the
   * server's id for as long as this slot lives, so st_ino does not change
   * under open descriptors (sqlite takes that for its database file having
   * been replaced, and refuses to write). Null for any other file.
   */
  shownIno: bigint | null;
  /** The handle kept open after the last close (closetimeo), and its timer. */
  parked: { h: OpenFile; timer: NodeJS.Timeout } | null;
}

export type OpenFile = FileHandle<InodeSlot>;
/** A listed name and its attributes; `path`, the child's FUSE path, where the cache already had it. */
export type DirEntryStat = { name: string; stat: SmbStat; path?: string };

export interface FilesOptions {
  readOnly: boolean;
  cache: CacheMode;
  rsize: number;
  wsize: number;
  maxIdleInodes?: number;
  now: () => number;
  /** How long the last handle of a file with a H lease stays open after its close (0: not at all). */
  closetimeoMs?: number;
  /** Where a line about written data that never reached the server goes. */
  log?: (line: string) => void;
  /** Read a small file along with its open (off under the disk cache, which has its own copy). */
  readFirst?: boolean;
}

/**
 * Largest file whose CREATE waits for its flush. A file written past this
 * while open has its CREATE sent then, so it shows up for other clients
 * (and their opens break our lease, which flushes) as a file made the usual
 * way would; smaller ones appear at their close.
 */
const SMALL_FILE_MAX = 256 * 1024;
/** Longest name, in UTF-8 bytes, of most servers' file systems (NAME_MAX): see storableName. */
const NAME_MAX_BYTES = 255;

/** FILE_ATTRIBUTE_ARCHIVE: what a new file shows until the server says. */
const ATTRIBUTE_ARCHIVE = 0x20;
/** The caching nobody else can break: a deferred file does not exist on the server yet. */
const LOCAL_RWH = LEASE_R | LEASE_H | LEASE_W;

/** Server version string of a stat (what cached data is valid for). */
export function versionOf(st: SmbStat): string {
  return `${st.fileIndex}:${st.lastWriteTime.getTime()}:${st.size}`;
}

/**
 * Cache the stat of a CREATE reply for `path`. It carries no link count, and
 * a file id only where the server answers QFid: both come from what is
 * cached for the same file; a file we just `created` has 1 link. A file
 * whose id is unknown is not cached, nor one whose count is unknown unless
 * the entry it replaces did not know it either (a listing's: shown as 1, and
 * the open changed nothing of that); the next getattr asks the server then
 * (directories show 2 links whatever the count).
 */
export function rememberStat(attrs: AttrCache<SmbStat>, path: string, st: SmbStat, created = false): void {
  const c = attrs.get(path);
  const known = c?.kind === 'hit' && c.stat.fileIndex !== 0n ? c.stat : null;
  let { fileIndex, nlink } = st;
  let sameFile = false;
  if (known && (fileIndex === 0n || fileIndex === known.fileIndex)) {
    fileIndex = known.fileIndex;
    nlink ||= known.nlink;
    sameFile = true;
  }
  if (nlink === 0 && created) nlink = 1;
  if (fileIndex === 0n || (nlink === 0 && !st.isDirectory && !sameFile)) {
    attrs.invalidate(path, true);
    return;
  }
  attrs.set(path, { ...st, fileIndex, nlink });
}

export class SmbFiles {
  readonly handles = new HandleTable<InodeSlot, DirEntryStat>();
  /** Slots with open handles, by FUSE path. */
  private readonly open = new OpenSlots<InodeSlot>();
  /** Slots without open handles, kept for their cached pages. */
  private readonly idle: LRUCache<string, InodeSlot>;
  private seq = 0;
  /** Operations in flight that unmount must wait for. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Landing buffers for reads straight from the server. */
  private readonly readBuffers = new ReadBuffers();
  /** Which files' kernel pages survive an open (keep_cache). */
  private readonly kernelPages = new KernelPageCache();

  constructor(
    private readonly tree: SmbTree,
    private readonly o: FilesOptions,
    private readonly attrs: AttrCache<SmbStat>,
    private readonly smbPath: (p: string) => string,
    private readonly makeInode: InodeFactory,
  ) {
    this.idle = new LRUCache<string, InodeSlot>({
      max: o.maxIdleInodes ?? 1024,
      dispose: (slot, _key, reason) => {
        if (reason !== 'delete' || this.open.get(slot.path) !== slot) slot.inode.invalidate();
      },
    });
    this.createAccess = new CreateAccess(() => tree.shareAccess);
    tree.onBreak((ev) => this.onBreak(ev));
  }

  /** Where a new file's CREATE may wait for its close (dir-access.ts); fed by listings, mkdir and creates. */
  readonly createAccess: CreateAccess;

  /** The open slot of `path`, if the file is open here. */
  openSlot(path: string): InodeSlot | undefined {
    return this.open.get(path);
  }

  /** Whether open/create of `fh` may tell the kernel to keep its pages of the file. */
  keepsKernelCache(fh: number): boolean {
    return this.handles.getFile(fh)?.keepCache === true;
  }

  /** Whether open of `fh` found the kernel's attributes of the file out of date (it holds them for actimeo and asks nothing at open). */
  kernelAttrsStale(fh: number): boolean {
    return this.handles.getFile(fh)?.kernelAttrsStale === true;
  }

  /** Effective cache mode (a read-only mount behaves as loose). */
  private get mode(): CacheMode {
    return this.o.readOnly && this.o.cache === 'strict' ? 'loose' : this.o.cache;
  }

  /** OR of the lease states of the slot's open handles. */
  private lease(slot: InodeSlot): number {
    let s = 0;
    for (const h of slot.handles) s |= h.leaseState ?? 0;
    return s;
  }

  /** May reads of this slot use (and fill) the page cache? */
  private cachesReads(slot: InodeSlot): boolean {
    if (this.mode === 'none') return false;
    return this.mode === 'loose' || (this.lease(slot) & LEASE_R) !== 0;
  }

  /** May writes to this slot stay dirty in the page cache? */
  private buffersWrites(slot: InodeSlot): boolean {
    if (this.mode === 'none') return false;
    return this.mode === 'loose' || (this.lease(slot) & LEASE_W) !== 0;
  }

  /** Track an operation so unmount waits for it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  /** open: read-only or for writing; O_TRUNC truncates in the same CREATE. */
  async openFile(path: string, flags: number): Promise<number> {
    const acc = flags & O_ACCMODE;
    const writable = acc !== 0;
    if (this.o.readOnly && (writable || flags & (O_CREAT | O_TRUNC))) throw -EROFS;
    const disp: CreateDisposition = flags & O_TRUNC && writable ? 'overwrite' : 'open';
    const reused = disp === 'open' ? this.reuseParked(path, flags, writable) : undefined;
    if (reused !== undefined) return reused;
    await this.settle(path);
    return (await this.openWith(path, flags, disp, writable)).fh;
  }

  /**
   * create: O_EXCL fails on an existing name (EEXIST); otherwise open or
   * create it. `created`: the file is new (not an existing one opened).
   */
  async createFile(path: string, flags: number, defer = false): Promise<{ fh: number; created: boolean }> {
    if (this.o.readOnly) throw -EROFS;
    const disp: CreateDisposition = flags & O_EXCL ? 'create' : flags & O_TRUNC ? 'overwrite_if' : 'open_if';
    await this.settle(path);
    const dir = fuseParent(path);
    const deferrable = defer && this.mode !== 'none' && this.createAccess.mayCreateIn(dir) && this.knownAbsent(path) && this.storableName(path);
    const r = deferrable ? this.createDeferred(path, flags, disp) : await this.openWith(path, flags, disp, true);
    if (r.created) this.createAccess.created(dir);
    this.attrs.childAdded(dir, path.slice(path.lastIndexOf('/') + 1));
    return r;
  }

  /**
   * Whether the server surely stores `path`'s name, so its CREATE may wait:
   * not when it is longer than most servers' file systems take (NAME_MAX,
   * in UTF-8 bytes). Such a CREATE goes at once, and a server that refuses
   * the name fails the open, not a close that many programs never check.
   */
  private storableName(path: string): boolean {
    const smb = this.smbPath(path);
    return Buffer.byteLength(smb.slice(smb.lastIndexOf('\\') + 1)) <= NAME_MAX_BYTES;
  }

  /**
   * A re-open served by the parked handle of `path` (no round trip), if
   * there is one with at least the access asked for; its fh, or undefined.
   */
  private reuseParked(path: string, flags: number, writable: boolean): number | undefined {
    const slot = this.open.get(path);
    const p = slot?.parked;
    if (!slot || !p || (writable && !p.h.writable)) return undefined;
    this.unpark(slot);
    slot.handles.delete(p.h);
    // The server handle stays attached to the slot's ops as it was.
    const h: OpenFile = { ...p.h, writable, append: (flags & O_APPEND) !== 0 };
    slot.handles.add(h);
    // The lease was held all along: the kernel's pages are as good as at the
    // last open that kept them (under strict only with W, as in openWith).
    h.keepCache = this.kernelPages.holds(path) && this.cachesReads(slot) && (this.mode !== 'strict' || ((h.leaseState ?? 0) & LEASE_W) !== 0);
    slot.opens++;
    return this.handles.add(h);
  }

  /** What a reconnect asks of `slot`'s handles: whether pages wait to be written, and a file changed meanwhile drops what is cached of it. */
  private watchFor(slot: InodeSlot): OpenWatch {
    return {
      unwritten: () => slot.inode.dirtyBytes > 0,
      changed: () => {
        slot.inode.invalidate();
        this.kernelPages.forget(slot.path);
        this.attrs.invalidate(slot.path, true);
      },
    };
  }

  /** Take the parked handle off `slot` (its timer stopped); it stays in slot.handles. */
  private unpark(slot: InodeSlot): void {
    clearTimeout(slot.parked!.timer);
    slot.parked = null;
  }

  /** Close the parked handle of `slot` now (tracked; errors only end it). */
  private closeParked(slot: InodeSlot): Promise<void> {
    const p = slot.parked;
    if (!p) return Promise.resolve();
    this.unpark(slot);
    // Another client may have renamed the file meanwhile (a rename breaks no
    // H lease when every open shares delete): its attributes at close are not
    // taken for the path's.
    const done = this.finishClose(slot, p.h, null, false);
    slot.closing = Promise.all([slot.closing, done.catch(() => {})]);
    return this.track(done).catch(() => {});
  }

  /** Largest file sent as one CREATE+WRITE+CLOSE. */
  private get smallMax(): number {
    return Math.min(SMALL_FILE_MAX, this.tree.maxWriteSize);
  }

  /** The cache says `path` does not exist (negative entry, or a fresh listing of its parent without it). */
  private knownAbsent(path: string): boolean {
    if (this.open.has(path)) return false;
    if (this.attrs.get(path)?.kind === 'negative') return true;
    return this.attrs.knownAbsent(fuseParent(path), path.slice(path.lastIndexOf('/') + 1));
  }

  /**
   * create without a round trip: a handle with no server handle on a new
   * slot, cached as under RWH. The CREATE goes out later with the same
   * disposition, so a name made meanwhile by another client is treated as
   * a CREATE now would have (opened, or EEXIST for O_EXCL, at flush).
   */
  private createDeferred(path: string, flags: number, disposition: CreateDisposition): { fh: number; created: boolean } {
    const now = new Date(this.o.now());
    const st: SmbStat = {
      fileIndex: 0n, size: 0, allocationSize: 0, attributes: ATTRIBUTE_ARCHIVE, isDirectory: false,
      creationTime: now, lastAccessTime: now, lastWriteTime: now, changeTime: now, nlink: 1,
    };
    this.dropIdle(path);
    const h: OpenFile = {
      kind: 'file', path, fileId: null, inode: undefined as unknown as InodeSlot, inodeKey: '',
      writable: true, append: (flags & O_APPEND) !== 0, leaseKey: null, leaseState: LOCAL_RWH,
    };
    const slot = this.newSlot(path, st);
    slot.shownIno = inoFromPath(path);
    slot.pendingCreate = { access: 'readwrite', disposition, lease: this.mode === 'strict' };
    slot.localStat = st;
    slot.ops.writeWithoutHandle = (offset, data) => this.writeWithoutHandle(slot, offset, data);
    this.open.set(path, slot);
    slot.handles.add(h);
    slot.opens++;
    h.inode = slot;
    h.inodeKey = slot.key;
    this.attrs.invalidate(path, true);
    return { fh: this.handles.add(h), created: true };
  }

  /** A fresh slot for `path` with the server version of `st`. */
  private newSlot(path: string, st: SmbStat): InodeSlot {
    const version = versionOf(st);
    const ops = new SmbNetfsOps(this.tree, this.o.rsize, this.o.wsize);
    const key = `${path}:${version}#${++this.seq}`;
    const slot: InodeSlot = {
      key, path, ops, inode: this.makeInode(key, st.size, ops, { path: this.smbPath(path), stat: st }), opens: 0, handles: new Set(), version,
      written: false, lastWrite: null, appendTail: Promise.resolve(), deleteOnClose: false, closing: Promise.resolve(), closesInFlight: 0,
      pendingCreate: null, pendingTimes: null, localStat: null, opening: null, compoundOk: false, fileIndex: st.fileIndex, parked: null, shownIno: null,
    };
    ops.onWriteFailed = (offset, err) =>
      this.o.log?.(`${slot.path}: a write at ${offset} failed (${(err as Error)?.message ?? String(err)}); it stays to be written, and close or fsync reports the error`);
    return slot;
  }

  /** Names in `dir` of files whose CREATE is still deferred. */
  deferredNames(dir: string): string[] {
    const names: string[] = [];
    for (const [p, slot] of this.open.childrenOf(dir)) if (slot.pendingCreate) names.push(p.slice(p.lastIndexOf('/') + 1));
    return names;
  }

  /**
   * The inode number to report for `path` while its file, created here
   * before the server named it, is open or parked (InodeSlot.shownIno); not
   * for another file at that path (its server id `fileIndex` differs).
   */
  inoWhileOpen(path: string, fileIndex: bigint): bigint | undefined {
    const slot = this.open.get(path);
    if (!slot?.shownIno || (fileIndex !== 0n && slot.fileIndex !== 0n && fileIndex !== slot.fileIndex)) return undefined;
    return slot.shownIno;
  }

  /**
   * The file at `path` gained a second name: from now on it shows the
   * server's id, the number the new name is given, since two names of one
   * file must share st_ino (find -samefile, tar, cp -a and rsync -H pair
   * them by it). Its descriptors then see the number change once, at the link.
   */
  linked(path: string): void {
    const slot = this.open.get(path);
    if (slot) slot.shownIno = null;
  }

  /** Attributes of a file whose CREATE is still deferred (answered here), else undefined. */
  localStat(path: string): SmbStat | undefined {
    const slot = this.open.get(path);
    if (!slot?.pendingCreate || !slot.localStat) return undefined;
    return { ...slot.localStat, size: slot.inode.size, lastWriteTime: slot.lastWrite ?? slot.localStat.lastWriteTime };
  }

  /**
   * utimens of a file whose CREATE is still deferred: nobody else can see
   * the file, so the times are kept here and go out with the CREATE (a
   * SET_INFO in its compound, after the data). False if `path` is not such
   * a file. Should the compound fail, flush (close(2)) reports it, as it
   * does for the CREATE.
   */
  deferTimes(path: string, atime: Date | null, mtime: Date | null): boolean {
    const slot = this.open.get(path);
    if (!slot?.pendingCreate || !slot.localStat) return false;
    if (atime === null && mtime === null) return true;
    const prev = slot.pendingTimes;
    slot.pendingTimes = { lastAccessTime: atime ?? prev?.lastAccessTime ?? null, lastWriteTime: mtime ?? prev?.lastWriteTime ?? null };
    slot.localStat = { ...slot.localStat, ...(atime ? { lastAccessTime: atime } : {}), changeTime: new Date(this.o.now()) };
    if (mtime) slot.lastWrite = mtime;
    return true;
  }

  /**
   * Before another operation on `path`: send its deferred CREATE, and after
   * its last close wait for the CLOSE in flight (so an open, rename or
   * unlink is ordered after it).
   */
  async settle(path: string): Promise<void> {
    // Slots are keyed by the FUSE path; another spelling of the same server
    // name (unicode=nfd: NFC typed, NFD listed) has a slot of its own.
    // An ASCII name has one spelling.
    if (ASCII.test(path)) {
      const slot = this.open.get(path);
      return slot ? this.settleSlot(slot) : undefined;
    }
    const smb = this.smbPath(path);
    const slots = [...this.open].filter(([p]) => p === path || this.smbPath(p) === smb).map(([, slot]) => slot);
    await Promise.all(slots.map((slot) => this.settleSlot(slot)));
  }

  private async settleSlot(slot: InodeSlot): Promise<void> {
    if (slot.pendingCreate) await this.materialize(slot);
    if (slot.parked) await this.closeParked(slot);
    if (slot.opens === 0) await slot.closing;
  }

  /**
   * Before a listing of `dir`: send the deferred CREATEs of the files in it.
   * Before its removal (`all`): settle them wholly, so no handle this mount
   * keeps (closetimeo) or is still closing holds a deleted file in it.
   */
  async settleChildren(dir: string, all = false): Promise<void> {
    // Another spelling of a non-ASCII directory may hold children too: those need the scan.
    const smbDir = ASCII.test(dir) ? null : this.smbPath(dir);
    const children = smbDir === null ? this.open.childrenOf(dir) : [...this.open].filter(([p]) => {
      const parent = fuseParent(p);
      return parent === dir || this.smbPath(parent) === smbDir;
    });
    const waits: Promise<void>[] = [];
    for (const [, slot] of children) {
      if (all) waits.push(this.settleSlot(slot));
      else if (slot.pendingCreate) waits.push(this.materialize(slot));
    }
    await Promise.all(waits);
  }

  /**
   * Give every handle of `slot` without a server handle one: the deferred
   * CREATE (its disposition), or a plain open after a compound closed it.
   */
  private materialize(slot: InodeSlot): Promise<void> {
    if (!slot.pendingCreate && [...slot.handles].every((h) => h.fileId !== null)) return Promise.resolve();
    slot.opening ??= this.openMissing(slot).finally(() => (slot.opening = null));
    return slot.opening;
  }

  private async openMissing(slot: InodeSlot): Promise<void> {
    for (const h of [...slot.handles]) {
      if (h.fileId !== null && !slot.pendingCreate) continue;
      const disposition = slot.pendingCreate?.disposition ?? 'open';
      const o = await this.createOnServer(this.smbPath(slot.path), disposition, h.writable === true, h.writable === true);
      if (o.stat.isDirectory) {
        await this.tree.close(o.fileId).catch(() => {});
        throw -EISDIR;
      }
      const created = slot.pendingCreate !== null;
      slot.pendingCreate = null;
      slot.localStat = null;
      slot.fileIndex = o.stat.fileIndex;
      if (created) this.attrs.childAdded(fuseParent(slot.path), slot.path.slice(slot.path.lastIndexOf('/') + 1));
      rememberStat(this.attrs, slot.path, o.stat, created && o.createAction === 2);
      h.fileId = o.fileId;
      h.leaseKey = o.leaseKey;
      h.leaseState = o.leaseState;
      slot.ops.attach(o.fileId, h.writable === true);
      this.tree.watchOpen(o.fileId, this.watchFor(slot));
    }
  }

  /**
   * netfs writeback of a slot with no handle open for writing. At the flush
   * of the only open, all of a deferred file's data in one WRITE: the
   * CREATE+WRITE+CLOSE compound. Otherwise open first, then WRITE.
   */
  private async writeWithoutHandle(slot: InodeSlot, offset: number, data: Buffer[]): Promise<number> {
    let len = 0;
    for (const b of data) len += b.length;
    if (slot.pendingCreate && slot.compoundOk && offset === 0 && len === slot.inode.size && len <= this.smallMax) {
      const r = await this.tree.createWriteClose(this.smbPath(slot.path), slot.pendingCreate, Buffer.concat(data, len), slot.pendingTimes ?? undefined);
      this.afterCompound(slot, r);
      return r.written;
    }
    await this.materialize(slot);
    const fileId = slot.ops.writeHandle;
    if (!fileId) throw -EBADF;
    return this.tree.write(fileId, offset, data);
  }

  /**
   * Times set while the CREATE was deferred, on a file whose CREATE went out
   * alone (truncate, fsync, a path operation): set through its handle once
   * its data is all written, as a WRITE after them would move mtime again.
   */
  private async sendTimes(slot: InodeSlot): Promise<void> {
    const times = slot.pendingTimes;
    const fileId = slot.ops.writeHandle;
    if (!times || slot.pendingCreate || slot.inode.dirtyBytes > 0 || !fileId) return;
    slot.pendingTimes = null;
    await this.tree.setTimes(fileId, times);
    this.attrs.invalidate(slot.path, true);
  }

  /** Times set by utimens through the server: any still waiting here are older. */
  dropPendingTimes(path: string): void {
    const slot = this.open.get(path);
    if (slot) slot.pendingTimes = null;
  }

  /** The compound created (or opened) the file and closed its handle: note what the server says. */
  private afterCompound(slot: InodeSlot, r: SmbWrittenFile): void {
    slot.pendingCreate = null;
    slot.pendingTimes = null;
    slot.localStat = null;
    for (const h of slot.handles) h.leaseState = 0;
    // The name is on the server now (a listing that began before may not show it) and the directory's times moved.
    this.attrs.childAdded(fuseParent(slot.path), slot.path.slice(slot.path.lastIndexOf('/') + 1));
    if (!r.stat) return;
    slot.written = false;
    slot.fileIndex = r.stat.fileIndex;
    slot.version = versionOf(r.stat);
    rememberStat(this.attrs, slot.path, r.stat, r.createAction === 2);
  }

  /**
   * How much to read along with a read-only open of `path` (0: nothing): a
   * small file, as the attribute cache knows it, that nothing here caches yet.
   */
  private readFirstFor(path: string): number {
    if (this.o.readFirst === false || this.mode === 'none' || this.open.has(path) || this.idle.has(path)) return 0;
    const c = this.attrs.get(path);
    if (c?.kind !== 'hit' || c.stat.isDirectory || c.stat.size === 0 || c.stat.size > READ_FIRST_MAX) return 0;
    return READ_FIRST_MAX;
  }

  /** CREATE with read and write access (write only if read is refused and `writeOnlyOk`); `readFirst`: see SmbCreateOptions. */
  private async createOnServer(smb: string, disposition: CreateDisposition, writable: boolean, writeOnlyOk: boolean, readFirst = 0) {
    const lease = this.mode === 'strict';
    try {
      return await this.tree.create(smb, { access: writable ? 'readwrite' : 'read', disposition, lease, ...(readFirst > 0 ? { readFirst } : {}) });
    } catch (err) {
      if (!writable || !writeOnlyOk || toFuseErrno(err) !== -EACCES) throw err;
      return this.tree.create(smb, { access: 'write', disposition, lease });
    }
  }

  /** CREATE on the server, then attach the handle to the path's slot. */
  private async openWith(path: string, flags: number, disposition: CreateDisposition, writable: boolean): Promise<{ fh: number; created: boolean }> {
    const readFirst = !writable && disposition === 'open' && !(flags & O_DIRECT) ? this.readFirstFor(path) : 0;
    const o = await this.createOnServer(this.smbPath(path), disposition, writable, (flags & O_ACCMODE) === O_WRONLY, readFirst);
    if (o.stat.isDirectory) {
      await this.tree.close(o.fileId).catch(() => {});
      throw -EISDIR;
    }
    // The CREATE reply carries no security descriptor: keep a mode read before (modefromsid).
    const before = this.attrs.get(path);
    const mode = before?.kind === 'hit' && before.stat.mode !== undefined && o.createAction === 1 ? before.stat.mode : undefined;
    rememberStat(this.attrs, path, mode === undefined ? o.stat : { ...o.stat, mode }, o.createAction === 2);
    const h: OpenFile = {
      kind: 'file', path, fileId: o.fileId, inode: undefined as unknown as InodeSlot, inodeKey: '',
      writable, append: (flags & O_APPEND) !== 0, leaseKey: o.leaseKey, leaseState: o.leaseState,
      direct: (flags & O_DIRECT) !== 0,
    };
    const slot = await this.attach(path, o.stat, h, disposition !== 'open' && disposition !== 'open_if');
    h.inode = slot;
    h.inodeKey = slot.key;
    // The bytes read with the open are the file as of the open: cached as a read would cache them.
    if (o.data && slot.opens === 1 && this.cachesReads(slot)) slot.inode.prime(o.data);
    // strict: a write-caching lease means no other client has the file open (kernel-cache.ts).
    h.keepCache = this.kernelPages.keep(path, o.stat, this.cachesReads(slot), this.mode !== 'strict' || ((o.leaseState ?? 0) & LEASE_W) !== 0);
    // The kernel's attributes came from our cache (or are older): a file changed
    // on the server since would read as its old size. A truncating open's size
    // the kernel sets itself.
    h.kernelAttrsStale = disposition === 'open' && !(before?.kind === 'hit' && sameAttrs(before.stat, o.stat));
    return { fh: this.handles.add(h), created: o.createAction === 2 };
  }

  /**
   * Find or make the slot for `path` and attach `h`. A fresh or idle slot
   * whose cached data is of another version starts empty; an open one is
   * shared (its data is the newest) unless coherency says to drop pages.
   */
  private async attach(path: string, st: SmbStat, h: OpenFile, truncated: boolean): Promise<InodeSlot> {
    const version = versionOf(st);
    let slot = this.open.get(path);
    if (!slot) {
      slot = this.idle.get(path);
      if (slot) {
        this.open.set(path, slot);
        this.idle.delete(path); // after the line above, so dispose keeps its pages
        if (slot.version !== version || this.mode === 'none') {
          slot.inode.invalidate();
          this.open.delete(path);
          slot = undefined;
        }
      }
    }
    if (!slot) {
      slot = this.newSlot(path, st);
    } else if (truncated) {
      slot.inode.setSize(0);
      slot.written = true;
    } else if (slot.opens > 0 && slot.version !== version && slot.inode.dirtyBytes === 0 && !slot.written) {
      // Changed on the server since our other opens read it (close-to-open).
      slot.inode.invalidate();
      slot.inode.setSize(st.size);
      slot.inode.revalidate?.({ path: this.smbPath(path), stat: st });
      slot.version = version;
    }
    this.open.set(path, slot);
    slot.fileIndex = st.fileIndex || slot.fileIndex;
    slot.ops.attach(h.fileId!, h.writable === true);
    this.tree.watchOpen(h.fileId!, this.watchFor(slot));
    slot.handles.add(h);
    slot.opens++;
    if (this.mode === 'strict' && !this.cachesReads(slot)) {
      // No R lease: whatever is cached may be stale.
      if (slot.inode.dirtyBytes > 0) await slot.inode.flush().catch(() => {});
      slot.inode.invalidate();
    }
    return slot;
  }

  /**
   * read: cached or straight from the server, as the cache mode and the
   * open (O_DIRECT) allow.
   * `buf` is libfuse's and is freed once the call is answered, which a
   * timeout can do before the I/O ends (`answered.aborted` is set then): it is only
   * written while the call waits, never handed to the transport.
   */
  async read(fh: number, buf: Buffer, len: number, pos: number, answered?: NetfsCallerGone): Promise<number> {
    const h = this.handles.getFile(fh);
    if (!h) throw -EBADF;
    const n = Math.min(len, buf.length);
    if (n <= 0) return 0;
    const slot = h.inode;
    if (h.fileId === null && !slot.pendingCreate) await this.materialize(slot);
    if (this.readsFromCache(h, pos, n)) return slot.inode.read(pos, n, buf.subarray(0, n), answered);
    // The server's bytes land in memory of our own, then one copy while the caller waits.
    const own = this.readBuffers.take(n);
    const got = await slot.inode.readUnbuffered(pos, n, own.subarray(0, n));
    if (answered?.aborted) throw -ECANCELED;
    own.copy(buf, 0, 0, got);
    this.readBuffers.give(own);
    return got;
  }

  /**
   * read() without the copy (FsInode.readLent), for a read through the page
   * cache of a handle that is open: the bytes lent once cached. null when
   * read() must handle the call (straight from the server, a handle to open
   * again, a bad handle). Decided synchronously: the I/O is issued before
   * this returns.
   */
  readLent(fh: number, len: number, pos: number, answered?: NetfsCallerGone): Promise<NetfsLent> | null {
    return this.cachedInode(fh, pos, len)?.readLent?.(pos, len, answered) ?? null;
  }

  /**
   * Whether read() takes [pos, pos + n) of handle `h` from the page cache.
   * O_DIRECT: what is cached (and valid) is, the rest is asked of the server
   * as is, not as whole folios. Dirty data is only in the cache, and a file
   * whose CREATE is still deferred exists only here.
   */
  private readsFromCache(h: FileHandle<InodeSlot>, pos: number, n: number): boolean {
    const slot = h.inode;
    return slot.pendingCreate !== null || slot.inode.dirtyBytes > 0 || (this.cachesReads(slot) && (!h.direct || slot.inode.isCached(pos, n)));
  }

  /**
   * read() without a wait, for a read the page cache holds whole
   * (FsInode.readNow): fuse-ops answers it in the same turn, with no timer
   * and no promise. Returns the bytes read, or null when read() must handle
   * the call (readsFromCache decides for both).
   */
  readNow(fh: number, buf: Buffer, len: number, pos: number): number | null {
    const n = Math.min(len, buf.length);
    return this.cachedInode(fh, pos, n)?.readNow?.(pos, n, buf.subarray(0, n)) ?? null;
  }

  /**
   * readNow() without the copy (FsInode.lendNow): the cached bytes as views
   * the caller hands on and releases; null when read() must handle the call.
   */
  lendNow(fh: number, len: number, pos: number): NetfsLent | null {
    return this.cachedInode(fh, pos, len)?.lendNow?.(pos, len) ?? null;
  }

  /** The inode whose page cache serves a read of [pos, pos + n) through `fh`, an open handle; or null. */
  private cachedInode(fh: number, pos: number, n: number): FsInode | null {
    const h = this.handles.getFile(fh);
    if (!h) return null;
    const slot = h.inode;
    if (n <= 0 || (h.fileId === null && !slot.pendingCreate) || !this.readsFromCache(h, pos, n)) return null;
    return slot.inode;
  }

  /**
   * write: buffered when the cache mode allows, otherwise written through.
   * O_APPEND writes go to the current end of file, one at a time per file.
   */
  write(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    if (this.o.readOnly) return Promise.reject(-EROFS);
    const h = this.handles.getFile(fh);
    if (!h || !h.writable) return Promise.reject(-EBADF);
    const slot = h.inode;
    const view = buf.subarray(0, Math.min(len, buf.length));
    if (view.length === 0) return Promise.resolve(0);
    // `buf` is libfuse's, freed once the call is answered, which a timeout can
    // do at any wait. A buffered write copies it into folios before its first
    // wait (NetfsInode.write), on the path chosen synchronously below; an
    // append (waits for the one before) or an unbuffered write takes a copy now.
    // A handle a compound closed is opened again first; a deferred file
    // too large for one compound has its CREATE sent now.
    const reopen = this.needsReopen(h, slot, pos + view.length);
    const copyNow = reopen || h.append || (!this.buffersWrites(slot) && !this.cachesReads(slot));
    const data = copyNow ? Buffer.from(view) : view;
    const run = async () => {
      if (reopen) await this.materialize(slot);
      const at = h.append ? slot.inode.size : pos;
      await this.writeAt(slot, at, data);
      return data.length;
    };
    if (!h.append) return this.track(run());
    const p = slot.appendTail.then(run, run);
    slot.appendTail = p.catch(() => {});
    return this.track(p);
  }

  /**
   * Whether a write up to `end` must first open a handle: one a compound
   * closed, or the CREATE of a deferred file too large for one compound.
   */
  private needsReopen(h: { fileId: unknown }, slot: InodeSlot, end: number): boolean {
    return (h.fileId === null && !slot.pendingCreate) || (slot.pendingCreate !== null && end > this.smallMax);
  }

  /**
   * write() without a wait, for the common case of a buffered write whose
   * folios can take the bytes now (NetfsInode.writeNow): fuse-ops answers it
   * in the same turn, with no timer and no promise. Returns the bytes
   * written, or null when write() must handle the call (errors included).
   */
  writeNow(fh: number, buf: Buffer, len: number, pos: number): number | null {
    if (this.o.readOnly) return null;
    const h = this.handles.getFile(fh);
    if (!h || !h.writable || h.append) return null;
    const slot = h.inode;
    const view = buf.subarray(0, Math.min(len, buf.length));
    if (view.length === 0 || this.needsReopen(h, slot, pos + view.length) || !this.buffersWrites(slot)) return null;
    let n: number;
    try {
      n = slot.inode.writeNow?.(pos, view) ?? -1;
    } catch {
      return null;
    }
    if (n < 0) return null;
    this.noteWritten(slot);
    return n;
  }

  /** Write `data` at `at` through the slot's inode as the cache mode says. */
  private async writeAt(slot: InodeSlot, at: number, data: Buffer): Promise<void> {
    const end = at + data.length;
    if (this.buffersWrites(slot)) {
      await slot.inode.write(at, data);
    } else if (this.cachesReads(slot)) {
      await slot.inode.write(at, data);
      await slot.inode.flush();
    } else {
      await slot.inode.writeUnbuffered(at, data);
      if (end > slot.inode.size) slot.inode.setSize(end);
    }
    this.noteWritten(slot);
  }

  /** What a write changes in the slot besides its data. */
  private noteWritten(slot: InodeSlot): void {
    slot.written = true;
    slot.version = '';
    slot.lastWrite = new Date(this.o.now());
    // A write after utimens moves mtime again: only the access time set stays to be sent.
    if (slot.pendingTimes) slot.pendingTimes = { ...slot.pendingTimes, lastWriteTime: null };
  }

  /** Whether flush(fh) has nothing to do (a handle not open for writing): fuse-ops answers it at once. */
  flushNeedless(fh: number): boolean {
    const h = this.handles.getFile(fh);
    return h !== undefined && !h.writable;
  }

  /** flush (every close(2)): write back dirty data; the sticky error comes back once. */
  async flush(fh: number): Promise<void> {
    const h = this.handles.getFile(fh);
    if (!h) throw -EBADF;
    if (!h.writable) return;
    const slot = h.inode;
    if (!slot.pendingCreate || slot.opens !== 1) return this.track(slot.inode.flush().then(() => this.sendTimes(slot)));
    // Nothing written and no times set yet: create it and keep the handle.
    // Writes may still come on this open (a shell redirection closes a
    // duplicate first, as does dbench): they then need no second CREATE.
    if (slot.inode.dirtyBytes === 0 && slot.inode.size === 0 && !slot.pendingTimes) return this.track(this.materialize(slot));
    // The only open of a deferred file: its CREATE goes out with its data and a CLOSE.
    slot.compoundOk = true;
    try {
      if (slot.inode.dirtyBytes === 0 && slot.inode.size === 0) {
        this.afterCompound(slot, await this.track(this.tree.createWriteClose(this.smbPath(slot.path), slot.pendingCreate, Buffer.alloc(0), slot.pendingTimes ?? undefined)));
      } else {
        await this.track(slot.inode.flush());
      }
    } finally {
      slot.compoundOk = false;
    }
  }

  /** fsync: write back, then ask the server to make it durable. */
  async fsync(fh: number): Promise<void> {
    const h = this.handles.getFile(fh);
    if (!h) throw -EBADF;
    if (!h.writable) return;
    await this.materialize(h.inode);
    await this.track(h.inode.inode.flush().then(() => this.sendTimes(h.inode)));
    await this.tree.flush(h.fileId!);
  }

  /**
   * release: answered at once; the rest goes on in the background (tracked,
   * so unmount waits, and in the slot's `closing`, so settle() orders later
   * path operations after it). FUSE only logs release errors: flush errors
   * were already returned by flush(), and data lost here is logged.
   */
  release(fh: number): void {
    this.track(this.releaseNow(fh)).catch(() => {});
  }

  private releaseNow(fh: number): Promise<void> {
    const h = this.handles.remove(fh);
    if (!h || h.kind !== 'file') return Promise.resolve();
    const slot = h.inode;
    const done = this.closeHandle(h);
    slot.closing = Promise.all([slot.closing, done.catch(() => {})]);
    return done;
  }

  /**
   * Write back what is left, close the server handle (asking for the
   * attributes at close, which then fill the attribute cache); the last
   * close of a silly-renamed file deletes it.
   */
  private async closeHandle(h: OpenFile): Promise<void> {
    const slot = h.inode;
    let err: unknown = null;
    if (h.writable && slot.opens === 1 && !slot.deleteOnClose) {
      // A deferred file whose flush did not send it (none came, or it failed) gets one more compound.
      slot.compoundOk = slot.pendingCreate !== null;
      const pending = slot.pendingCreate !== null && slot.inode.dirtyBytes === 0 && slot.inode.size === 0;
      try {
        if (pending) this.afterCompound(slot, await this.tree.createWriteClose(this.smbPath(slot.path), slot.pendingCreate!, Buffer.alloc(0), slot.pendingTimes ?? undefined));
        else await slot.inode.flush().then(() => this.sendTimes(slot));
      } catch (e) {
        err = e;
      } finally {
        slot.compoundOk = false;
      }
      if (err !== null || slot.pendingCreate) this.lost(slot, err);
    }
    slot.opens--;
    const park = (this.o.closetimeoMs ?? 0) > 0 && h.fileId !== null && (h.leaseState ?? 0) & LEASE_H && slot.opens === 0 && !slot.deleteOnClose && !slot.parked;
    if (!park) return this.finishClose(slot, h, err);
    const timer = setTimeout(() => void this.closeParked(slot), this.o.closetimeoMs);
    timer.unref();
    slot.parked = { h, timer };
    if (slot.written) this.attrs.invalidate(slot.path, true);
    if (err !== null) throw err;
  }

  /** CLOSE `h` on the server and, after the last one, settle the slot's state. */
  private async finishClose(slot: InodeSlot, h: OpenFile, err: unknown, attrsForPath = true): Promise<void> {
    this.detachHandle(slot, h);
    const wantAttrs = attrsForPath && slot.opens === 0 && !slot.deleteOnClose;
    slot.closesInFlight++;
    let st: SmbStat | null;
    try {
      st = h.fileId ? await this.tree.close(h.fileId, { attrs: wantAttrs }).catch((e: unknown) => ((err ??= e), null)) : null;
    } finally {
      slot.closesInFlight--;
    }
    await this.afterClose(slot, st, attrsForPath);
    if (err !== null) throw err;
  }

  /**
   * The parked handle of `path` (closetimeo), taken over by an unlink or
   * rename that sends its CLOSE first in the operation's own compound
   * (SmbTree.unlinkPath/renamePath `closing`), instead of a round trip of
   * its own before it. The file is closed here as the last close would
   * leave it. Undefined when anything else of the file is open, pending or
   * closing: settle() then, as before any path operation.
   */
  takeParked(path: string): Buffer | undefined {
    // Another spelling of a non-ASCII name has a slot of its own, which only settle() finds.
    if (!ASCII.test(path)) return undefined;
    const slot = this.open.get(path);
    const p = slot?.parked;
    if (!slot || !p || !p.h.fileId || slot.opens !== 0 || slot.pendingCreate || slot.handles.size !== 1 || slot.closesInFlight !== 0 || slot.deleteOnClose || slot.inode.dirtyBytes > 0) return undefined;
    this.unpark(slot);
    this.detachHandle(slot, p.h);
    // Its attributes at close are not asked for: the operation changes the path.
    // Not delete-on-close, so this completes before it returns (no await is reached).
    void this.afterClose(slot, null, false);
    return p.h.fileId;
  }

  /** `h` leaves `slot`: its server handle no longer serves the slot's I/O. */
  private detachHandle(slot: InodeSlot, h: OpenFile): void {
    if (h.fileId) slot.ops.detach(h.fileId);
    slot.handles.delete(h);
  }

  /** CLOSE a handle takeParked() gave out whose operation did not send it (in the background, tracked for unmount). */
  closeTaken(fileId: Buffer): void {
    this.track(this.tree.close(fileId)).catch(() => {});
  }

  /** After a CLOSE (`st`: the attributes it brought, if any): the last one settles the slot's state. */
  private async afterClose(slot: InodeSlot, st: SmbStat | null, attrsForPath: boolean): Promise<void> {
    // Counted after the CLOSE: the file may have been opened again meanwhile,
    // or its other handle parked (closetimeo), and then this was not the last
    // close (its slot, size and parked handle must stay).
    const last = slot.opens === 0 && !slot.parked;
    if (last) {
      if (this.open.get(slot.path) === slot) this.open.delete(slot.path);
      // Its size and times written here no longer cover what the cache holds (overlay).
      if (slot.written) this.attrs.outsideChange();
      if (slot.deleteOnClose) {
        slot.inode.discard();
        await this.tree.unlinkPath(this.smbPath(slot.path)).catch(() => {});
        this.attrs.invalidate(slot.path, true);
      } else {
        if (st && slot.fileIndex !== 0n && attrsForPath) {
          const known = { ...st, fileIndex: slot.fileIndex };
          rememberStat(this.attrs, slot.path, known);
          if (slot.inode.dirtyBytes === 0) slot.version = versionOf(known);
        } else if (slot.written) {
          this.attrs.invalidate(slot.path, true);
        }
        slot.written = false;
        slot.lastWrite = null;
        // Under cache=strict cached data lives only as long as a lease, and the
        // lease ends with our last handle; only cache=loose keeps pages across
        // opens (checked against the server's times and size at the next open).
        if (slot.version !== '' && this.mode === 'loose') this.idle.set(slot.path, slot);
        else slot.inode.invalidate();
      }
    } else if (slot.written) {
      this.attrs.invalidate(slot.path, true);
    }
  }

  /** Data written to `slot` did not reach the server and nobody is left to tell: log it, drop it. */
  private lost(slot: InodeSlot, err: unknown): void {
    const bytes = slot.pendingCreate ? slot.inode.size : slot.inode.dirtyBytes;
    const why = slot.pendingCreate ? 'the file could not be created' : 'writing it back failed';
    this.o.log?.(`${slot.path}: ${bytes} bytes written through the mount did not reach the server: ${why} (errno ${-toFuseErrno(err ?? -EIO)})`);
    slot.pendingCreate = null;
    slot.pendingTimes = null;
    slot.localStat = null;
    slot.inode.discard();
    if (slot.written) this.attrs.outsideChange();
    slot.written = false;
  }

  /** Set the size of an open file: netfs first (drops dirty data past it), then the server. */
  async truncateSlot(slot: InodeSlot, size: number): Promise<void> {
    // The server's end of file is set through a handle: a deferred file is created first.
    if (slot.pendingCreate || [...slot.handles].some((h) => h.fileId === null)) await this.materialize(slot);
    const run = async () => {
      await slot.inode.truncate(size);
      const fileId = slot.ops.writeHandle;
      if (fileId) await this.tree.setEndOfFile(fileId, size);
      else await this.tree.truncatePath(this.smbPath(slot.path), size);
      slot.written = true;
      slot.version = '';
      slot.lastWrite = new Date(this.o.now());
    };
    const p = slot.appendTail.then(run, run);
    slot.appendTail = p.catch(() => {});
    await this.track(p);
    this.attrs.invalidate(slot.path, true);
  }

  /** ftruncate. */
  async ftruncate(fh: number, size: number): Promise<void> {
    const h = this.handles.getFile(fh);
    if (!h) throw -EBADF;
    if (this.o.readOnly) throw -EROFS;
    await this.truncateSlot(h.inode, size);
  }

  /**
   * The open file at `path` when its attributes are this mount's to tell:
   * written here, still open (or its handle held), under a lease that lets
   * no other client change it (W; or cache=loose, as buffered writes are).
   */
  writtenHere(path: string): InodeSlot | undefined {
    const slot = this.open.get(path);
    if (!slot || !slot.written || slot.deleteOnClose || slot.pendingCreate || slot.fileIndex === 0n) return undefined;
    return this.buffersWrites(slot) ? slot : undefined;
  }

  /** Size and mtime as the open file sees them (data not yet written back included). */
  overlay(path: string, st: SmbStat): SmbStat {
    const slot = this.open.get(path);
    if (!slot || !slot.written) return st;
    return { ...st, size: slot.inode.size, lastWriteTime: slot.lastWrite ?? st.lastWriteTime };
  }

  /** Write back the dirty data of the open file at `path` (before times/rename). */
  async flushPath(path: string): Promise<void> {
    const slot = this.open.get(path);
    if (slot && slot.inode.dirtyBytes > 0) await this.track(slot.inode.flush());
  }

  /** Paths of open files at or below `path` moved to `to` (rename). */
  movePath(from: string, to: string): void {
    const moved = (p: string) => (p === from ? to : p.startsWith(from + '/') ? to + p.slice(from.length) : null);
    for (const [p, slot] of [...this.open]) {
      const np = moved(p);
      if (np === null) continue;
      this.open.delete(p);
      slot.path = np;
      this.open.set(np, slot);
      for (const h of slot.handles) h.path = np;
    }
    for (const p of [...this.idle.keys()]) if (moved(p) !== null || p === to) this.idle.delete(p);
    for (const [, h] of this.handles.all()) {
      const np = moved(h.path);
      if (np !== null && h.kind === 'dir') h.path = np;
    }
  }

  /** Forget the idle (closed) slot of `path` and drop its pages. */
  dropIdle(path: string): void {
    const slot = this.idle.get(path);
    if (slot) {
      this.idle.delete(path);
      slot.inode.invalidate();
    }
  }

  /** A lease break: flush if W goes, drop pages if R goes; then the ack goes out. */
  private async onBreak(ev: SmbBreakEvent): Promise<void> {
    const hit = (h: OpenFile) =>
      (ev.leaseKey !== null && h.leaseKey != null && h.leaseKey.equals(ev.leaseKey)) ||
      (ev.fileId !== null && h.fileId !== null && h.fileId.equals(ev.fileId));
    for (const slot of this.open.values()) {
      const mine = [...slot.handles].filter(hit);
      if (mine.length === 0) continue;
      const before = this.lease(slot);
      for (const h of mine) h.leaseState = ev.newState;
      const after = this.lease(slot);
      if (before & LEASE_W && !(after & LEASE_W)) await slot.inode.flush().catch(() => {});
      if (before & LEASE_R && !(after & LEASE_R)) slot.inode.invalidate();
      // Without H the server wants the handle closed: a parked one goes now (after the ack).
      if (slot.parked && mine.includes(slot.parked.h) && !(ev.newState & LEASE_H)) setImmediate(() => void this.closeParked(slot));
    }
  }

  /** Bytes written and not yet on the server, over every open file. */
  get dirtyBytes(): number {
    let n = 0;
    for (const slot of this.open.values()) n += slot.inode.dirtyBytes;
    return n;
  }

  /** Unmount: wait for operations in flight, write back every file, close every handle. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await Promise.all([...this.open.values()].map((slot) => this.closeParked(slot)));
    for (const slot of this.open.values()) await slot.inode.flush().catch(() => {});
    await Promise.all(
      this.handles.all().map(async ([fh, h]) => {
        if (h.kind === 'file') await this.releaseNow(fh).catch(() => {});
        else this.handles.remove(fh);
      }),
    );
    this.idle.clear();
  }
}

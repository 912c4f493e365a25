/**
 * The filesystem: FUSE-level operations on one connected share.
 *
 * Every method takes FUSE paths and returns values or throws; fuse-ops.ts
 * turns throws into negative errnos. Metadata comes from the attribute cache
 * or one compound round trip (tree.stat); directory listings fill the
 * attribute cache. Open files and their data live in SmbFiles (fs-files.ts);
 * namespace changes (unlink, rename, mkdir, ...) in fs-namespace.ts.
 *
 * Inode numbers are the server's file ids (mounted with use_ino) and link
 * counts its NumberOfLinks. Directory entries and CREATE replies carry no
 * link count (nlink 0 = unknown, shown as 1) and CREATE replies no file id:
 * entries take the count last reported for their file id (linkCounts), a
 * CREATE reply the id and count cached for its path, or it is not cached
 * (the next getattr asks the server).
 *
 * Unlinked open files (hidden-names.ts) are left out of listings and found
 * only while open here; they report no links.
 *
 * Symlinks are mfsymlinks (mfsymlink.ts): a regular file of exactly 1067
 * bytes is read once per version to see whether it is one; the answer is
 * remembered per path and server version.
 */
import { LRUCache } from 'lru-cache';
import { Bvecq } from '../netfs/bvecq.js';
import type { NetfsCallerGone } from '../netfs/ops.js';
import type { FileTime } from '../transport/pdu/fscc.js';
import type { CallerGone, SmbDirEntry, SmbFsStat, SmbStat, SmbTree } from '../transport/types.js';
import { AttrCache, type ListingTicket } from './attr-cache.js';
import { AttrEpoch } from './attr-epoch.js';
import type { BindingStat } from './fuse-binding.js';
import type { CacheMode } from './config.js';
import { EACCES, ENOENT, ENOTDIR, EROFS, toFuseErrno } from './errno.js';
import { rememberStat, SmbFiles, versionOf, type DirEntryStat } from './fs-files.js';
import type { InodeFactory } from './fs-inode.js';
import { DroppedNameLog, linuxName } from './dir-names.js';
import { ASCII_NAME, fuseJoin, fuseParent, normalizeName, SmbPathMap, type NameForm } from './path-map.js';
import { isHiddenName } from './hidden-names.js';
import { inoFromPath } from './ino.js';
import { checkNewName } from './new-name.js';
import { couldBeMfSymlink, decodeMfSymlink, MFSYMLINK_SIZE } from './mfsymlink.js';

export type { InodeFactory } from './fs-inode.js';

/** The stat handed to the binding (fuse-binding.ts; times as Dates, exact when FileTimes). */
export type FuseStat = BindingStat;

/** The statfs shape fuse-native accepts (all fields become uint32). */
export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export interface SmbFsOptions {
  uid: number;
  gid: number;
  fileMode: number;
  dirMode: number;
  actimeoMs: number;
  /** Deferred close of a file's last handle under a H lease, ms (default 0: none). */
  closetimeoMs?: number;
  /** The local disk cache is on (-o fsc): small files are not read along with their open. */
  fsc?: boolean;
  rsize: number;
  /** Largest WRITE (default 4 MiB, clamped to the server's). */
  wsize?: number;
  /** Refuse every change with EROFS (default false). */
  readOnly?: boolean;
  /** Data coherency (default strict). */
  cache?: CacheMode;
  /** SMB path prefix from //host/share/prefix ('' for the share root). */
  prefixPath?: string;
  /** Normalization form names are sent in (`unicode=`, default nfc). */
  unicode?: NameForm;
  /**
   * `modefromsid`: modes come from each file's security descriptor
   * (transport/mode-sid.ts) and chmod writes them there; file_mode/dir_mode
   * only for files whose descriptor has no DACL.
   */
  modeFromSid?: boolean;
  /**
   * `allow_other`: other local users reach the mount, the kernel checking
   * the modes shown, so a chmod those modes cannot show is refused (EPERM)
   * rather than accepted and dropped (default false).
   */
  allowOther?: boolean;
  /** Inodes kept after their last close (default 1024). */
  maxIdleInodes?: number;
  /** Where notices go (names skipped in listings); default: nowhere. */
  log?: (line: string) => void;
  now?: () => number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
export const FILE_ATTRIBUTE_READONLY = 0x1;
const W_OK = 2;
/** Preferred I/O size reported in st_blksize (cifs reports 1 MiB too). */
const BLKSIZE = 1024 * 1024;
/** Most names a peek, or a listing for misses, lists (AttrCache.peekDue, listDue): some 4 round trips of entries. */
const PEEK_MAX_NAMES = 4096;
/** Security descriptor queries in flight at once while a listing reads modes. */
const MODE_QUERIES_IN_FLIGHT = 16;

/**
 * A directory's stat after this mount added or removed a name in it at
 * `nowMs`: the server moved its modification and change times then, as
 * near as this clock tells (never backwards); the rest stays.
 */
export function namesChangedAt(st: SmbStat, nowMs: number): SmbStat {
  const later = (d: Date) => (d.getTime() >= nowMs ? d : new Date(nowMs));
  return { ...st, lastWriteTime: later(st.lastWriteTime), changeTime: later(st.changeTime) };
}

/** Whether two stats say the same (times to the 100 ns a FileTime holds). */
export function sameSmbStat(a: SmbStat, b: SmbStat): boolean {
  const sameTime = (x: Date, y: Date) => x.getTime() === y.getTime() && (x as FileTime).filetime === (y as FileTime).filetime;
  return (
    a.fileIndex === b.fileIndex && a.size === b.size && a.allocationSize === b.allocationSize && a.attributes === b.attributes &&
    a.isDirectory === b.isDirectory && a.nlink === b.nlink && a.mode === b.mode &&
    sameTime(a.lastWriteTime, b.lastWriteTime) && sameTime(a.changeTime, b.changeTime) &&
    sameTime(a.lastAccessTime, b.lastAccessTime) && sameTime(a.creationTime, b.creationTime)
  );
}

/** A readdir answer: names with '.' and '..' first, a stat for each, and what the binding may answer lookups of them with (attr-epoch.ts). */
export interface ReaddirAnswer {
  names: string[];
  stats: FuseStat[];
  /** Per name, how many ms its stat is getattr's answer for (0: not), while the epoch holds `epoch`. */
  primed?: { validMs: number[]; epoch: number };
}

/** Primed stats are handed over for at most their entry's time left minus this (the binding's clock is not ours). */
const PRIME_MARGIN_MS = 100;
/** Directories remembered as primed (SmbFs.primedDirs) before the record starts over. */
const MAX_PRIMED_DIRS = 1024;

export class SmbFs {
  readonly attrs: AttrCache<SmbStat>;
  /** Moves whenever a cached getattr answer may change (attr-epoch.ts). */
  readonly attrEpoch = new AttrEpoch();
  /**
   * Directories whose names' stats the binding was handed, under which
   * epoch and until when the first of them lapses: a listing read again
   * meanwhile (a second `ls -l`) hands them over no second time.
   */
  private readonly primedDirs = new Map<string, { epoch: number; until: number }>();
  readonly tree: SmbTree;
  readonly files: SmbFiles;
  readonly readOnly: boolean;
  /** mfsymlink answers by path: the server version read and the target (null: not a link). */
  readonly links = new Map<string, { version: string; target: string | null }>();
  readonly now: () => number;
  private readonly droppedNames: DroppedNameLog;
  readonly modeFromSid: boolean;
  /**
   * Link counts the server reported (FileAllInformation), by file id: kept
   * beyond the attribute cache's lifetime, as the Linux client keeps an
   * inode's count, for directory entries that carry none.
   */
  readonly linkCounts = new LRUCache<bigint, number>({ max: 10_000 });
  /** The last statfs answer (or the one in flight) and until when it serves. */
  private fsSizes: { expires: number; p: Promise<SmbFsStat> } | null = null;
  /** Listings asked for in place of lookups (relisted), by directory. */
  private readonly relists = new Map<string, Promise<void>>();
  /** Peeks in flight (peeked), by directory. */
  private readonly peeks = new Map<string, Promise<void>>();
  /** Hidden names being given to open files right now (not leftovers). */
  readonly hiding = new Set<string>();
  /** FUSE → SMB paths (mapposix names, Unicode form, mount prefix). */
  readonly paths: SmbPathMap;

  constructor(
    tree: SmbTree,
    readonly opts: SmbFsOptions,
    makeInode: InodeFactory,
  ) {
    this.tree = tree;
    this.paths = new SmbPathMap(opts.unicode ?? 'nfc', opts.prefixPath ?? '');
    this.readOnly = opts.readOnly ?? false;
    this.now = opts.now ?? Date.now;
    this.droppedNames = new DroppedNameLog(opts.log ?? (() => {}));
    this.modeFromSid = opts.modeFromSid ?? false;
    this.attrs = new AttrCache<SmbStat>({
      ttlMs: opts.actimeoMs, now: this.now, idOf: (st) => st.fileIndex, movedTimes: namesChangedAt,
      onChange: () => this.attrEpoch.bump(), same: sameSmbStat,
    });
    this.files = new SmbFiles(
      this.tree,
      {
        readOnly: this.readOnly, cache: opts.cache ?? 'strict', rsize: opts.rsize, wsize: opts.wsize ?? 4 << 20,
        now: this.now, closetimeoMs: opts.closetimeoMs ?? 0, readFirst: !opts.fsc, ...(opts.log ? { log: opts.log } : {}), ...(opts.maxIdleInodes ? { maxIdleInodes: opts.maxIdleInodes } : {}),
      },
      this.attrs,
      (p) => this.smbPath(p),
      makeInode,
    );
  }

  get handles() {
    return this.files.handles;
  }

  /** SMB path of a FUSE path (mapposix names, Unicode form, mount prefix). */
  smbPath(path: string): string {
    return this.paths.toSmb(path);
  }

  /** Throw EROFS on a read-only mount. */
  checkWritable(): void {
    if (this.readOnly) throw -EROFS;
  }

  /** Server attributes of `path`, from the cache or one round trip, with open-file overlay. */
  async statSmb(path: string): Promise<SmbStat> {
    // Hidden names are found only while open here (libfuse stats them for fstat).
    if (isHiddenName(path) && !this.files.openSlot(path)) throw -ENOENT;
    return this.statAny(path);
  }

  /**
   * statSmb from the caches alone: the stat, undefined when they do not
   * know, or a throw of ENOENT when they know there is no such name.
   */
  statCached(path: string): SmbStat | undefined {
    if (isHiddenName(path) && !this.files.openSlot(path)) throw -ENOENT;
    return this.cachedAny(path);
  }

  /** statCached, hidden names included. */
  private cachedAny(path: string): SmbStat | undefined {
    // A created file whose CREATE is deferred exists only here.
    const local = this.files.localStat(path);
    if (local) return local;
    const c = this.attrs.get(path);
    if (c?.kind === 'hit' && !this.lacksMode(c.stat)) return this.files.overlay(path, c.stat);
    if (c?.kind === 'negative') throw -ENOENT;
    if (path !== '/' && !isHiddenName(path) && this.attrs.knownAbsent(fuseParent(path), path.slice(path.lastIndexOf('/') + 1))) {
      // The cached listing of the parent already says there is no such name.
      this.attrs.setNegative(path);
      throw -ENOENT;
    }
    return undefined;
  }

  /** statSmb, hidden names included (listings leave them out, so those are not consulted). */
  private async statAny(path: string): Promise<SmbStat> {
    const cached = this.cachedAny(path);
    if (cached) return cached;
    // A file written here under a W lease: nobody else changed it, and the
    // open file knows its size and mtime; the rest is as before the writes.
    const mine = this.files.writtenHere(path);
    const before = mine && this.attrs.lastDropped(path);
    if (mine && before && before.fileIndex === mine.fileIndex && !before.isDirectory && !this.lacksMode(before)) return this.files.overlay(path, before);
    // Many lookups in a directory whose listing expired: one listing answers them all.
    const dir = path === '/' || isHiddenName(path) ? null : fuseParent(path);
    if (dir !== null && (await this.relisted(dir))) return this.statAny(path);
    // Lookups missing in a directory never listed: one listing kept answers the next ones.
    if (dir !== null && (await this.listedForMisses(dir))) return this.statAny(path);
    // Lookups finding names in a directory never listed: one peek may answer the next ones.
    if (dir !== null && (await this.peeked(dir))) {
      const c = this.cachedAny(path);
      if (c) return c;
    }
    try {
      const st = await this.statOnServer(path);
      if (st.fileIndex !== 0n && st.nlink > 0) this.linkCounts.set(st.fileIndex, st.nlink);
      this.attrs.set(path, st);
      if (dir !== null) this.attrs.foundByLookup(dir);
      return this.files.overlay(path, st);
    } catch (err) {
      if (toFuseErrno(err) === -ENOENT) {
        this.attrs.setNegative(path);
        if (dir !== null) this.attrs.missedByLookup(dir);
      }
      throw err;
    }
  }

  /**
   * One round trip for `path` in the chosen Unicode form; if that is not
   * found and the name as written differs (an NFD name listed by a server
   * that holds it so, under the default NFC), a second one for that
   * spelling, which is then used for the path from here on.
   */
  private async statOnServer(path: string): Promise<SmbStat> {
    const want = this.modeFromSid ? { mode: true } : {};
    try {
      return await this.tree.stat(this.smbPath(path), want);
    } catch (err) {
      const alt = toFuseErrno(err) === -ENOENT ? this.paths.asWritten(path) : undefined;
      if (alt === undefined) throw err;
      const st = await this.tree.stat(alt, want).catch(() => {
        throw err;
      });
      this.paths.noteAsStored(path);
      return st;
    }
  }

  /**
   * List `dir` again if its lapsed listing has seen enough lookups
   * (AttrCache.relistDue); true if a live listing of it is cached now.
   * Concurrent callers share one listing. Not with modefromsid (a listing
   * then costs a query per entry).
   */
  private async relisted(dir: string): Promise<boolean> {
    if (this.modeFromSid) return false;
    const listing = () => this.listDir(dir).then(() => {}, () => {});
    return (await this.joinOrStart(this.relists, dir, () => this.attrs.relistDue(dir), listing)) && this.attrs.hasDir(dir);
  }

  /**
   * Wait for the listing of `dir` in flight in `inFlight`, or start one
   * (`start`, which must not reject) if `due()` says so. False when there
   * was neither.
   */
  private async joinOrStart(inFlight: Map<string, Promise<void>>, dir: string, due: () => boolean, start: () => Promise<void>): Promise<boolean> {
    let p = inFlight.get(dir);
    if (!p) {
      if (!due()) return false;
      p = start().finally(() => inFlight.delete(dir));
      inFlight.set(dir, p);
    }
    await p;
    return true;
  }

  /**
   * List `dir` if lookups keep missing in it though it has no listing here
   * (AttrCache.listDue): at most PEEK_MAX_NAMES names, kept as its listing
   * when that is all of them (a bigger directory, or one that cannot be
   * listed, is not listed for misses again). True if a live listing of it is
   * cached now. Shares relisted()'s listings in flight. Not with modefromsid.
   */
  private async listedForMisses(dir: string): Promise<boolean> {
    if (this.modeFromSid) return false;
    const listing = () => this.listCapped(dir).catch(() => this.attrs.stopPeeking(dir));
    return (await this.joinOrStart(this.relists, dir, () => this.attrs.listDue(dir), listing)) && this.attrs.hasDir(dir);
  }

  private async listCapped(dir: string): Promise<void> {
    const ticket = this.attrs.beginListing(dir);
    try {
      const { stat, entries: raw, complete } = await this.listPath(dir, undefined, PEEK_MAX_NAMES);
      if (complete) await this.keepListing(dir, stat, raw, ticket);
      else this.attrs.stopPeeking(dir);
    } finally {
      this.attrs.endListing(ticket);
    }
  }

  /**
   * Peek at `dir` if lookups keep finding names in it (AttrCache.peekDue):
   * one listing of at most PEEK_MAX_NAMES names, whose children's
   * attributes are entered as lookups of them would be (a bigger directory,
   * or one that cannot be listed, is not peeked at again). True once a peek
   * was made (its own or a concurrent caller's). Not with modefromsid.
   */
  private async peeked(dir: string): Promise<boolean> {
    if (this.modeFromSid) return false;
    // A directory one may traverse but not list fails every peek: one is enough.
    const peek = () => this.peekAt(dir).catch(() => this.attrs.stopPeeking(dir));
    return this.joinOrStart(this.peeks, dir, () => this.attrs.peekDue(dir), peek);
  }

  private async peekAt(dir: string): Promise<void> {
    const ticket = this.attrs.beginListing(dir);
    try {
      const { stat, entries: raw, complete } = await this.listPath(dir, undefined, PEEK_MAX_NAMES);
      if (!stat.isDirectory) return;
      this.attrs.setListed(dir, this.linuxEntries(dir, raw).entries, fuseJoin, ticket);
      if (!complete) this.attrs.stopPeeking(dir);
    } finally {
      this.attrs.endListing(ticket);
    }
  }

  /** With modefromsid, a stat from a reply without the descriptor (CREATE, a listing) is incomplete. */
  lacksMode(st: SmbStat): boolean {
    return this.modeFromSid && st.mode === undefined;
  }

  /** getattr: server attributes turned into a POSIX stat (mfsymlinks as links). */
  async getattr(path: string): Promise<FuseStat> {
    const st = await this.statSmb(path);
    if (this.files.openSlot(path)?.deleteOnClose) return { ...this.toFuseStat(path, st), nlink: 0 };
    const target = await this.linkTarget(path, st);
    return this.toFuseStat(path, st, target);
  }

  /**
   * getattr's answer when the attribute cache alone gives it (a name just
   * listed: `ls -l` sends one lookup per name), else undefined. Synchronous,
   * so the FUSE handler answers without a timer or a promise.
   */
  getattrCached(path: string): FuseStat | undefined {
    return this.cachedAnswer(path)?.stat;
  }

  /** getattrCached's answer and when the attribute entry it comes from expires (this.now's clock). */
  private cachedAnswer(path: string): { stat: FuseStat; expires: number } | undefined {
    if (isHiddenName(path) || this.files.localStat(path) || this.files.openSlot(path)?.deleteOnClose) return undefined;
    const c = this.attrs.get(path);
    if (c?.kind !== 'hit' || this.lacksMode(c.stat)) return undefined;
    const st = this.files.overlay(path, c.stat);
    const target = this.knownLinkTarget(path, st);
    return target === undefined ? undefined : { stat: this.toFuseStat(path, st, target), expires: c.expires };
  }

  /** The mfsymlink target of `path` when known without reading it (null: not a link), else undefined. */
  private knownLinkTarget(path: string, st: SmbStat): string | null | undefined {
    if (!couldBeMfSymlink(st.size, st.isDirectory) || this.files.openSlot(path)?.written) return null;
    const known = this.links.get(path);
    return known?.version === versionOf(st) ? known.target : undefined;
  }

  /**
   * fgetattr: the open file `fh` wherever it is now, also after an unlink
   * (with a path-less unlinked file libfuse passes ''): such a file has no
   * links left.
   */
  async fgetattr(fh: number, path: string): Promise<FuseStat> {
    const h = this.handles.getFile(fh);
    if (!h) return this.getattr(path);
    const st = this.toFuseStat(h.inode.path, await this.statAny(h.inode.path));
    return h.inode.deleteOnClose ? { ...st, nlink: 0 } : st;
  }

  /**
   * The mfsymlink target of `path` (null if it is not one). Only files of
   * exactly 1067 bytes not being written here are read, once per version.
   */
  async linkTarget(path: string, st: SmbStat): Promise<string | null> {
    const known = this.knownLinkTarget(path, st);
    if (known !== undefined) return known;
    const version = versionOf(st);
    let target: string | null = null;
    try {
      const o = await this.tree.create(this.smbPath(path), { access: 'read', disposition: 'open' });
      try {
        const buf = Buffer.alloc(MFSYMLINK_SIZE);
        const n = await this.tree.read(o.fileId, 0, MFSYMLINK_SIZE, Bvecq.fromBuffers([buf], 0).start());
        target = n === MFSYMLINK_SIZE ? decodeMfSymlink(buf) : null;
      } finally {
        await this.tree.close(o.fileId).catch(() => {});
      }
    } catch {
      return null; // unreadable: shown as the regular file it is
    }
    this.links.set(path, { version, target });
    return target;
  }

  /**
   * Map server attributes to a POSIX stat with the mount's ids and modes:
   * the mode the descriptor records (modefromsid), else file_mode/dir_mode;
   * a READONLY file shows no write bits either way.
   */
  toFuseStat(path: string, st: SmbStat, linkTarget: string | null = null): FuseStat {
    const perm = this.modeFromSid && typeof st.mode === 'number' ? st.mode : st.isDirectory ? this.opts.dirMode : this.opts.fileMode;
    let mode = (st.isDirectory ? S_IFDIR : S_IFREG) | perm;
    if (!st.isDirectory && st.attributes & FILE_ATTRIBUTE_READONLY) mode &= ~0o222;
    let size = st.isDirectory ? Math.max(st.size, 0) : st.size;
    if (linkTarget !== null) {
      mode = S_IFLNK | 0o777;
      size = Buffer.byteLength(linkTarget);
    }
    return {
      mode,
      uid: this.opts.uid,
      gid: this.opts.gid,
      size,
      nlink: st.nlink > 0 ? st.nlink : st.isDirectory ? 2 : 1,
      ino: this.files.inoWhileOpen(path, st.fileIndex) ?? (st.fileIndex !== 0n ? st.fileIndex : inoFromPath(path)),
      blksize: BLKSIZE,
      blocks: Math.ceil(st.allocationSize / 512),
      atime: st.lastAccessTime,
      mtime: st.lastWriteTime,
      ctime: st.changeTime,
    };
  }

  /**
   * Entries of directory `path`, from the cache or the server; names that
   * cannot be Linux names (dir-names.ts) are dropped and logged once.
   * `signal` abandons a listing still running when the FUSE call gave up.
   * A cached listing serves while every name in it has cached attributes or
   * is a file open here (listedStat).
   */
  async listDir(path: string, signal?: CallerGone): Promise<DirEntryStat[]> {
    const names = this.attrs.getDirPaths(path, fuseJoin);
    if (names) {
      const cached: DirEntryStat[] = [];
      for (const e of names) {
        const stat = this.listedStat(e.path);
        if (!stat) break;
        cached.push({ name: e.name, stat, path: e.path });
      }
      if (cached.length === names.length) return cached;
    }
    const ticket = this.attrs.beginListing(path);
    try {
      return await this.listFromServer(path, ticket, signal);
    } finally {
      this.attrs.endListing(ticket);
    }
  }

  /**
   * The stat of a name in a cached listing: its cached attributes, that of
   * a file whose CREATE is deferred, else, for a file open here whose
   * attributes a change made here dropped (a write, a truncate, new times),
   * one built from the open file, if its name is in the form names are
   * sent in. A readdir gives the kernel only each entry's inode number and
   * type, and an open file's id and type are known; its times there are
   * not the server's.
   */
  private listedStat(path: string): SmbStat | undefined {
    const c = this.attrs.get(path);
    if (c?.kind === 'hit') return this.lacksMode(c.stat) ? undefined : c.stat;
    if (c?.kind === 'negative' || this.modeFromSid) return undefined;
    const local = this.files.localStat(path);
    if (local) return local;
    // A name made here is listed as typed; the server may hold another
    // Unicode form of it, which a listing from the server shows.
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (!ASCII_NAME.test(name) && normalizeName(name, this.paths.form) !== name) return undefined;
    const slot = this.files.openSlot(path);
    if (!slot || slot.fileIndex === 0n || slot.deleteOnClose || slot.pendingCreate) return undefined;
    const t = slot.lastWrite ?? new Date(0);
    return {
      fileIndex: slot.fileIndex, size: slot.inode.size, allocationSize: 0, attributes: 0, isDirectory: false,
      creationTime: t, lastAccessTime: t, lastWriteTime: t, changeTime: t, nlink: 0,
    };
  }

  private async listFromServer(path: string, ticket: ListingTicket, signal?: CallerGone): Promise<DirEntryStat[]> {
    const { stat, entries: raw } = await this.listPath(path, signal);
    return this.keepListing(path, stat, raw, ticket);
  }

  /** Every listing from the server: the directory's maximal access it brings says where files may be created (dir-access.ts). */
  private async listPath(dir: string, signal?: CallerGone, maxNames?: number) {
    const r = await this.tree.listPath(this.smbPath(dir), signal, maxNames === undefined ? undefined : { maxNames });
    if (r.stat.isDirectory) this.files.createAccess.note(dir, r.stat.maximalAccess);
    return r;
  }

  /** Cache a whole listing of `path` from the server (the directory's stat and its raw entries) as its listing. */
  private async keepListing(path: string, stat: SmbStat, raw: readonly SmbDirEntry[], ticket: ListingTicket): Promise<DirEntryStat[]> {
    if (!stat.isDirectory) throw -ENOTDIR;
    if (!this.modeFromSid) rememberStat(this.attrs, path, stat);
    const { entries, hidden } = this.linuxEntries(path, raw);
    for (const name of hidden) await this.removeLeftover(fuseJoin(path, name));
    if (this.modeFromSid) await this.readModes(path, entries);
    this.attrs.setDir(path, entries, fuseJoin, ticket);
    // Files made here whose CREATE is still deferred are not on the server yet.
    for (const name of this.files.deferredNames(path)) this.attrs.addName(path, name);
    return entries;
  }

  /**
   * The entries of a listing of `dir` under their Linux names, each shown
   * as the server spells it (later calls on it use that spelling), without
   * the names Linux cannot have (logged) and the hidden ones (returned apart).
   */
  private linuxEntries(dir: string, raw: readonly SmbDirEntry[]): { entries: DirEntryStat[]; hidden: string[] } {
    const entries: DirEntryStat[] = [];
    const hidden: string[] = [];
    for (const e of raw) {
      if (e.name === '.' || e.name === '..') continue; // the server's own self and parent entries
      const n = linuxName(e.name);
      if (!('name' in n)) this.droppedNames.note(dir, e.name, n.reason);
      else if (isHiddenName(n.name)) hidden.push(n.name);
      else {
        this.paths.noteAsStored(fuseJoin(dir, n.name));
        entries.push({ name: n.name, stat: this.withKnownLinks(e) });
      }
    }
    return { entries, hidden };
  }

  /**
   * modefromsid: directory entries carry no security descriptor, so each
   * entry's is read (one compound each, MODE_QUERIES_IN_FLIGHT at a time)
   * before the listing is cached; `ls -l` then finds every mode in the
   * cache. An entry whose descriptor cannot be read shows file_mode/dir_mode.
   */
  private async readModes(dir: string, entries: DirEntryStat[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const e = entries[next++]!;
        const mode = await this.tree.modeOf(this.smbPath(fuseJoin(dir, e.name))).catch(() => null);
        e.stat = { ...e.stat, mode };
      }
    };
    await Promise.all(Array.from({ length: Math.min(MODE_QUERIES_IN_FLIGHT, entries.length) }, worker));
  }

  /** A directory entry's stat with the link count already known for that file (entries have none). */
  private withKnownLinks(st: SmbStat): SmbStat {
    const known = st.nlink === 0 && this.linkCounts.size > 0 ? this.linkCounts.get(st.fileIndex) : undefined;
    return known === undefined ? st : { ...st, nlink: known };
  }

  /**
   * A hidden name not open here was left by a daemon that died before the
   * last close: delete it. If another client still has it open, the server
   * deletes it at that client's last close; if it cannot, it stays hidden.
   */
  private async removeLeftover(path: string): Promise<void> {
    if (this.readOnly || this.files.openSlot(path) || this.hiding.has(path)) return;
    await this.tree.unlinkPath(this.smbPath(path)).catch(() => {});
  }

  /**
   * readdir: names with '.' and '..' first, and a stat for each; with the
   * epoch shared, each name's getattrCached answer goes along to be primed.
   */
  async readdir(path: string, signal?: CallerGone): Promise<ReaddirAnswer> {
    await this.files.settleChildren(path);
    const entries = await this.listDir(path, signal);
    // '.' and '..' give the kernel only an inode number and a type: a stat outdated by name changes will do.
    const self = this.toFuseStat(path, this.attrs.identity(path) ?? (await this.statSmb(path)));
    let parent = self;
    const up = fuseParent(path);
    const known = path === '/' ? undefined : this.attrs.identity(up);
    if (known) parent = this.toFuseStat(up, known);
    else if (path !== '/') parent = await this.getattr(up).catch(() => self);
    const names = ['.', '..'];
    const stats = [self, parent];
    const now = this.now();
    const epoch = this.attrEpoch.value;
    const before = this.primedDirs.get(path);
    const prime = this.attrEpoch.shared && !(before && before.epoch === epoch && before.until > now);
    const validMs = [0, 0];
    let until = Infinity;
    for (const e of entries) {
      const child = e.path ?? fuseJoin(path, e.name);
      names.push(e.name);
      const cached = prime ? this.cachedAnswer(child) : undefined;
      if (cached) {
        const ms = Math.max(0, cached.expires - now - PRIME_MARGIN_MS);
        stats.push(cached.stat);
        validMs.push(ms);
        if (ms > 0) until = Math.min(until, now + ms);
        continue;
      }
      const known = this.links.get(child);
      const target = known && known.version === versionOf(e.stat) ? known.target : null;
      stats.push(this.toFuseStat(child, this.files.overlay(child, e.stat), target));
      validMs.push(0);
    }
    if (!prime || until === Infinity) return { names, stats }; // nothing to hand over: asked again next time
    if (this.primedDirs.size >= MAX_PRIMED_DIRS) this.primedDirs.clear();
    this.primedDirs.set(path, { epoch, until });
    return { names, stats, primed: { validMs, epoch } };
  }

  /** opendir: check `path` is a directory; the listing is read by readdir. */
  async opendir(path: string): Promise<number> {
    // Only the type is needed, which a change of names in it leaves alone.
    const st = (isHiddenName(path) ? undefined : this.attrs.identity(path)) ?? (await this.statSmb(path));
    if (!st.isDirectory) throw -ENOTDIR;
    return this.handles.add({ kind: 'dir', path, fileId: null, entries: null });
  }

  releasedir(fh: number): void {
    this.handles.remove(fh);
  }

  open(path: string, flags: number): Promise<number> {
    return this.files.openFile(path, flags);
  }

  /**
   * create. With modefromsid a new file gets `mode` (after the umask) in its
   * descriptor; if the server keeps something else the file still exists and
   * shows what was kept. Our own hidden names cannot be created.
   */
  async create(path: string, flags: number, mode?: number): Promise<number> {
    checkNewName(path, this.paths.form);
    // With modefromsid the new file's mode is written at once, so its CREATE cannot wait.
    const { fh, created } = await this.files.createFile(path, flags, !this.modeFromSid);
    if (created && mode !== undefined) await this.initialMode(path, mode, false);
    return fh;
  }

  /** modefromsid: record the mode a new file or directory was created with (errors ignored). */
  async initialMode(path: string, mode: number, directory: boolean): Promise<void> {
    if (!this.modeFromSid) return;
    await this.tree.setMode(this.smbPath(path), mode & 0o7777, directory).catch(() => null);
    this.attrs.invalidate(path, true);
  }

  /** `buf` is on loan until `answered.aborted` is set (see SmbFiles.read). */
  read(fh: number, buf: Buffer, len: number, pos: number, answered?: NetfsCallerGone): Promise<number> {
    return this.files.read(fh, buf, len, pos, answered);
  }

  /** Answered at once: the close goes on in the background (SmbFiles.release). */
  release(fh: number): void {
    this.files.release(fh);
  }

  /** access: read/search always; write unless read-only mount or READONLY file. */
  async access(path: string, mode: number): Promise<void> {
    const st = await this.statSmb(path);
    if (mode & W_OK) {
      if (this.readOnly) throw -EROFS;
      if (!st.isDirectory && st.attributes & FILE_ATTRIBUTE_READONLY) throw -EACCES;
    }
  }

  /** statfs: server sizes in uint32-safe block counts; names up to 255. */
  /**
   * statfs: the share's sizes, asked for at most once per actimeo (dbench
   * and some tools ask at every operation; free space is as loosely
   * current as attributes are).
   */
  async statfs(): Promise<FuseStatfs> {
    const now = this.now();
    if (!this.fsSizes || this.fsSizes.expires <= now) {
      const p = this.tree.statfs();
      const entry = { expires: now + this.opts.actimeoMs, p };
      this.fsSizes = entry;
      p.catch(() => {
        if (this.fsSizes === entry) this.fsSizes = null;
      });
    }
    const s: SmbFsStat = await this.fsSizes.p;
    let bsize = Math.max(1, s.blockSize);
    let { totalBlocks, freeBlocks, availBlocks } = s;
    while (totalBlocks > 0xffffffff) {
      bsize *= 2;
      totalBlocks = Math.floor(totalBlocks / 2);
      freeBlocks = Math.floor(freeBlocks / 2);
      availBlocks = Math.floor(availBlocks / 2);
    }
    return {
      bsize,
      frsize: bsize,
      blocks: totalBlocks,
      bfree: freeBlocks,
      bavail: availBlocks,
      files: 0,
      ffree: 0,
      favail: 0,
      fsid: 0,
      flag: this.readOnly ? 1 /* ST_RDONLY */ : 0,
      namemax: 255,
    };
  }

  /** Bytes written through the mount and not yet on the server. */
  get dirtyBytes(): number {
    return this.files.dirtyBytes;
  }

  /** Open file and directory handles (the kernel has not released them yet). */
  get openHandles(): number {
    return this.files.handles.size;
  }

  /** Unmount: write back every open file, close every handle; never throws. */
  async closeAll(): Promise<void> {
    await this.files.closeAll();
  }
}

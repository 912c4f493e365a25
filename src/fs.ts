/**
 * The read-only filesystem: FUSE-level operations on one connected share.
 *
 * Every method takes FUSE paths and returns values or throws; fuse-ops.ts
 * turns throws into negative errnos. Metadata comes from the attribute cache
 * or one compound round trip (tree.stat); directory listings fill the
 * attribute cache; file data goes through a netfs inode per file version, so
 * reads are served from the page cache while the file is unchanged.
 *
 * Inode sharing: the key of a file's inode is
 *     path ':' fileIndex ':' lastWriteTime ':' size
 * taken from the attributes the server returns when the file is opened. Two
 * opens of an unchanged file share an inode (and its cached pages); a file
 * that changed gets a new key, so it never sees stale pages. Inodes no longer
 * open are kept (bounded, LRU) so a re-open of an unchanged file still hits
 * the cache; an evicted or superseded inode is invalidated (pages dropped).
 */
import { LRUCache } from 'lru-cache';
import type { NetfsReadOps } from '../netfs/ops.js';
import type { SmbDirEntry, SmbFsStat, SmbStat, SmbTree } from '../transport/types.js';
import { AttrCache } from './attr-cache.js';
import { EISDIR, ENOENT, ENOTDIR, EBADF, EROFS, toFuseErrno } from './errno.js';
import { HandleTable } from './handles.js';
import { fuseJoin, fuseParent, fusePathToSmb, nameFromSmb } from './path-map.js';
import { SmbNetfsReadOps } from './smb-netfs-ops.js';

/** What fs.ts needs of a netfs inode (NetfsInode from netfs/index.ts fits). */
export interface ReadInode {
  read(pos: number, len: number, dst: Buffer): Promise<number>;
  invalidate(): void;
}

/** Makes the netfs inode for one file version. */
export type InodeFactory = (key: string, size: number, ops: NetfsReadOps) => ReadInode;

/** The tree operations the filesystem uses. */
export type FsTree = Pick<SmbTree, 'stat' | 'open' | 'close' | 'read' | 'listDirectory' | 'statfs' | 'maxReadSize'>;

/** The stat shape fuse-native accepts (times as Dates). */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  blksize: number;
  blocks: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
}

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
  rsize: number;
  /** SMB path prefix from //host/share/prefix ('' for the share root). */
  prefixPath?: string;
  /** Inodes kept after their last close (default 1024). */
  maxIdleInodes?: number;
  now?: () => number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const FILE_ATTRIBUTE_READONLY = 0x1;
const O_ACCMODE = 3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const W_OK = 2;
/** Preferred I/O size reported in st_blksize (cifs reports 1 MiB too). */
const BLKSIZE = 1024 * 1024;

interface InodeSlot {
  key: string;
  inode: ReadInode;
  ops: SmbNetfsReadOps;
  opens: number;
}

type DirEntryStat = { name: string; stat: SmbStat };

export class SmbFs {
  readonly attrs: AttrCache<SmbStat>;
  readonly handles = new HandleTable<InodeSlot, DirEntryStat>();
  /** Inodes with open handles, by key. */
  private readonly openInodes = new Map<string, InodeSlot>();
  /** Inodes without open handles, kept for their cached pages. */
  private readonly idleInodes: LRUCache<string, InodeSlot>;
  /** Newest inode key seen per path, to retire superseded versions. */
  private readonly latestKey = new Map<string, string>();

  constructor(
    private readonly tree: FsTree,
    private readonly opts: SmbFsOptions,
    private readonly makeInode: InodeFactory,
  ) {
    this.attrs = new AttrCache<SmbStat>({ ttlMs: opts.actimeoMs, ...(opts.now ? { now: opts.now } : {}) });
    this.idleInodes = new LRUCache<string, InodeSlot>({
      max: opts.maxIdleInodes ?? 1024,
      dispose: (slot, _key, reason) => {
        if (reason !== 'delete' || !this.openInodes.has(slot.key)) slot.inode.invalidate();
      },
    });
  }

  /** SMB path of a FUSE path (mapposix names, mount prefix). */
  smbPath(path: string): string {
    return fusePathToSmb(path, this.opts.prefixPath ?? '');
  }

  /** Server attributes of `path`, from the cache or one round trip. */
  async statSmb(path: string): Promise<SmbStat> {
    const c = this.attrs.get(path);
    if (c?.kind === 'hit') return c.stat;
    if (c?.kind === 'negative') throw -ENOENT;
    try {
      const st = await this.tree.stat(this.smbPath(path));
      this.attrs.set(path, st);
      return st;
    } catch (err) {
      if (toFuseErrno(err) === -ENOENT) this.attrs.setNegative(path);
      throw err;
    }
  }

  /** getattr: server attributes turned into a POSIX stat. */
  async getattr(path: string): Promise<FuseStat> {
    return this.toFuseStat(await this.statSmb(path));
  }

  /** Map server attributes to a POSIX stat with the mount's ids and modes. */
  toFuseStat(st: SmbStat): FuseStat {
    let mode = st.isDirectory ? S_IFDIR | this.opts.dirMode : S_IFREG | this.opts.fileMode;
    if (!st.isDirectory && st.attributes & FILE_ATTRIBUTE_READONLY) mode &= ~0o222;
    return {
      mode,
      uid: this.opts.uid,
      gid: this.opts.gid,
      size: st.isDirectory ? Math.max(st.size, 0) : st.size,
      nlink: st.nlink > 0 ? st.nlink : st.isDirectory ? 2 : 1,
      blksize: BLKSIZE,
      blocks: Math.ceil(st.allocationSize / 512),
      atime: st.lastAccessTime,
      mtime: st.lastWriteTime,
      ctime: st.changeTime,
    };
  }

  /** Entries of directory `path` (no '.'/'..'), from the cache or the server. */
  async listDir(path: string): Promise<DirEntryStat[]> {
    const names = this.attrs.getDir(path);
    if (names) {
      const cached: DirEntryStat[] = [];
      for (const name of names) {
        const c = this.attrs.get(fuseJoin(path, name));
        if (c?.kind !== 'hit') break;
        cached.push({ name, stat: c.stat });
      }
      if (cached.length === names.length) return cached;
    }
    const open = await this.tree.open(this.smbPath(path), { directory: true });
    let raw: SmbDirEntry[];
    try {
      if (!open.stat.isDirectory) throw -ENOTDIR;
      raw = await this.tree.listDirectory(open.fileId);
    } finally {
      await this.tree.close(open.fileId).catch(() => {});
    }
    this.attrs.set(path, open.stat);
    const entries: DirEntryStat[] = raw
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => ({ name: nameFromSmb(e.name), stat: e }));
    this.attrs.setDir(path, entries, fuseJoin);
    return entries;
  }

  /** readdir: names with '.' and '..' first, and a stat for each. */
  async readdir(path: string): Promise<{ names: string[]; stats: FuseStat[] }> {
    const entries = await this.listDir(path);
    const self = this.toFuseStat(await this.statSmb(path));
    let parent = self;
    if (path !== '/') parent = await this.getattr(fuseParent(path)).catch(() => self);
    const names = ['.', '..'];
    const stats = [self, parent];
    for (const e of entries) {
      names.push(e.name);
      stats.push(this.toFuseStat(e.stat));
    }
    return { names, stats };
  }

  /** opendir: check `path` is a directory; the listing is read by readdir. */
  async opendir(path: string): Promise<number> {
    const st = await this.statSmb(path);
    if (!st.isDirectory) throw -ENOTDIR;
    return this.handles.add({ kind: 'dir', path, fileId: null, entries: null });
  }

  releasedir(fh: number): void {
    this.handles.remove(fh);
  }

  /** open: read-only; opens on the server and attaches a netfs inode. */
  async open(path: string, flags: number): Promise<number> {
    if ((flags & O_ACCMODE) !== 0 || flags & (O_CREAT | O_TRUNC)) throw -EROFS;
    const o = await this.tree.open(this.smbPath(path));
    if (o.stat.isDirectory) {
      await this.tree.close(o.fileId).catch(() => {});
      throw -EISDIR;
    }
    this.attrs.set(path, o.stat);
    const slot = this.attachInode(path, o.stat, o.fileId);
    return this.handles.add({ kind: 'file', path, fileId: o.fileId, inode: slot, inodeKey: slot.key });
  }

  /** Find or make the inode for this file version and attach the handle. */
  private attachInode(path: string, st: SmbStat, fileId: Buffer): InodeSlot {
    const key = `${path}:${st.fileIndex}:${st.lastWriteTime.getTime()}:${st.size}`;
    const prev = this.latestKey.get(path);
    if (prev !== undefined && prev !== key) this.idleInodes.delete(prev);
    this.latestKey.set(path, key);
    let slot = this.openInodes.get(key) ?? this.idleInodes.get(key);
    if (!slot) {
      const ops = new SmbNetfsReadOps(this.tree, this.opts.rsize);
      slot = { key, ops, inode: this.makeInode(key, st.size, ops), opens: 0 };
    }
    this.openInodes.set(key, slot);
    this.idleInodes.delete(key); // after the line above, so dispose keeps its pages
    slot.ops.attach(fileId);
    slot.opens++;
    return slot;
  }

  /** read: through the netfs inode into the caller's buffer. */
  async read(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.handles.getFile(fh);
    if (!h) throw -EBADF;
    const n = Math.min(len, buf.length);
    if (n <= 0) return 0;
    return h.inode.inode.read(pos, n, buf.subarray(0, n));
  }

  /** release: close the server handle; keep the inode idle if it is current. */
  async release(fh: number): Promise<void> {
    const h = this.handles.remove(fh);
    if (!h || h.kind !== 'file') return;
    const slot = h.inode;
    slot.ops.detach(h.fileId);
    if (--slot.opens === 0) {
      this.openInodes.delete(slot.key);
      if (this.latestKey.get(h.path) === slot.key) this.idleInodes.set(slot.key, slot);
      else slot.inode.invalidate();
    }
    await this.tree.close(h.fileId);
  }

  /** access: reading and searching are fine; writing is not. */
  async access(path: string, mode: number): Promise<void> {
    await this.statSmb(path);
    if (mode & W_OK) throw -EROFS;
  }

  /** statfs: server sizes in uint32-safe block counts; names up to 255. */
  async statfs(): Promise<FuseStatfs> {
    const s: SmbFsStat = await this.tree.statfs();
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
      flag: 1 /* ST_RDONLY */,
      namemax: 255,
    };
  }

  /** Close every open handle on the server (shutdown); never throws. */
  async closeAll(): Promise<void> {
    const all = this.handles.all();
    await Promise.all(
      all.map(async ([fh, h]) => {
        if (h.kind === 'file') await this.release(fh).catch(() => {});
        else this.releasedir(fh);
      }),
    );
    this.idleInodes.clear();
  }
}

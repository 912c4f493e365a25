/**
 * What the filesystem needs of a netfs inode: the narrow interface src/ codes
 * against (NetfsInode provides it; tests script it).
 */
import type { NetfsCallerGone, NetfsLent, NetfsReadOps, NetfsWriteOps } from '../netfs/ops.js';
import type { SmbStat } from '../transport/types.js';

export interface FsInode {
  /** File size as netfs knows it (includes data not yet written back). */
  readonly size: number;
  /** Bytes written but not yet sent to the server. */
  readonly dirtyBytes: number;
  /** Through the page cache; `dst` is not written once `signal.aborted` is set. */
  read(pos: number, len: number, dst: Buffer, signal?: NetfsCallerGone): Promise<number>;
  /**
   * read() when it needs no wait: every page of the range is cached and up to
   * date now. Copies into `dst` and returns the bytes (0 at EOF), or null
   * when read() must do it.
   */
  readNow?(pos: number, len: number, dst: Buffer): number | null;
  /** read() without the copy: once cached, views of the bytes, kept as they are until release(). */
  readLent?(pos: number, len: number, signal?: NetfsCallerGone): Promise<NetfsLent>;
  /** readNow() without the copy: views of the cached bytes, kept as they are until release(). */
  lendNow?(pos: number, len: number): NetfsLent | null;
  /** [pos, pos + len) is all in up-to-date cached pages (a read would not ask the server). */
  isCached(pos: number, len: number): boolean;
  /** The whole file's bytes read along with the open: cached if nothing of the file is yet (returns whether). */
  prime(data: Buffer): boolean;
  /** Straight from the server into `dst`, which must be our own memory. */
  readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number>;
  /**
   * Buffered write: copy into the page cache, mark dirty, extend the size.
   * `buf` is read only before the first wait (copied first if it must wait).
   */
  write(pos: number, buf: Buffer): Promise<unknown>;
  /** write() when it needs no wait, done now: the bytes written, or -1 (nothing done) when write() must be used. */
  writeNow?(pos: number, buf: Buffer): number;
  /** Write straight to the server from `buf`, which must be our own memory. */
  writeUnbuffered(pos: number, buf: Buffer): Promise<unknown>;
  /** Write back dirty data; rejects (once) with the sticky write error. */
  flush(): Promise<void>;
  setSize(n: number): void;
  /** Wait for writeback in flight, then set the size (drops dirty data past it). */
  truncate(n: number): Promise<void>;
  /** Drop cached pages (clean ones; dirty data must be flushed first). */
  invalidate(): void;
  /** Drop everything including dirty data (file deleted). */
  discard(): void;
  /** The server reports another version of the open file (its cached data was dropped). */
  revalidate?(file: FsFileInfo): void;
}

/** What an open learned of the file: its SMB path and the CREATE reply's stat. */
export interface FsFileInfo {
  path: string;
  stat: SmbStat;
}

/** Makes the inode for one file: `ops` serves its reads and writes; `file` says which file it is. */
export type InodeFactory = (key: string, size: number, ops: NetfsReadOps & NetfsWriteOps, file?: FsFileInfo) => FsInode;

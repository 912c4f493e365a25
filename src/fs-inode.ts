/**
 * What the filesystem needs of a netfs inode, and the adapter that gives a
 * read-only NetfsInode the write side until netfs buffers writes itself.
 *
 * netfs's write path (NetfsInode.write / writeUnbuffered / flush / setSize /
 * discard / dirtyBytes, with `writeOps` in its options) is used as soon as
 * the inode has it. Until then WriteThroughInode writes each FUSE write
 * straight to the server and drops the affected cached pages, so the mount
 * is correct, only slower.
 */
import type { SmbNetfsOps } from './smb-netfs-ops.js';

export interface FsInode {
  /** File size as netfs knows it (includes data not yet written back). */
  readonly size: number;
  /** Bytes written but not yet sent to the server. */
  readonly dirtyBytes: number;
  read(pos: number, len: number, dst: Buffer): Promise<number>;
  readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number>;
  /** Buffered write: copy into the page cache, mark dirty, extend the size. */
  write(pos: number, buf: Buffer): Promise<unknown>;
  /** Write straight to the server from `buf`. */
  writeUnbuffered(pos: number, buf: Buffer): Promise<unknown>;
  /** Write back dirty data; rejects (once) with the sticky write error. */
  flush(): Promise<void>;
  setSize(n: number): void;
  /** Drop cached pages (clean ones; dirty data must be flushed first). */
  invalidate(): void;
  /** Drop everything including dirty data (file deleted). */
  discard(): void;
}

/** The read side a NetfsInode without a write path has. */
export interface ReadOnlyNetfsInode {
  readonly size: number;
  read(pos: number, len: number, dst: Buffer): Promise<number>;
  readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number>;
  setSize(n: number): void;
  invalidate(): void;
}

/** Whether `x` already has netfs's write path. */
export function hasWritePath(x: object): x is FsInode {
  const w = x as Partial<FsInode>;
  return typeof w.write === 'function' && typeof w.flush === 'function' && typeof w.writeUnbuffered === 'function';
}

/** A read-only netfs inode with write-through writes added. */
export class WriteThroughInode implements FsInode {
  constructor(
    private readonly inner: ReadOnlyNetfsInode,
    private readonly ops: SmbNetfsOps,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  get dirtyBytes(): number {
    return 0;
  }

  read(pos: number, len: number, dst: Buffer): Promise<number> {
    return this.inner.read(pos, len, dst);
  }

  readUnbuffered(pos: number, len: number, dst: Buffer): Promise<number> {
    return this.inner.readUnbuffered(pos, len, dst);
  }

  /** Send the data, then drop cached pages and extend the size. */
  async write(pos: number, buf: Buffer): Promise<number> {
    await this.ops.writeDirect(pos, buf);
    this.inner.invalidate();
    if (pos + buf.length > this.inner.size) this.inner.setSize(pos + buf.length);
    return buf.length;
  }

  writeUnbuffered(pos: number, buf: Buffer): Promise<number> {
    return this.write(pos, buf);
  }

  async flush(): Promise<void> {}

  setSize(n: number): void {
    this.inner.setSize(n);
  }

  invalidate(): void {
    this.inner.invalidate();
  }

  discard(): void {
    this.inner.invalidate();
  }
}

/** Makes the inode for one file: `ops` serves its reads and writes. */
export type InodeFactory = (key: string, size: number, ops: SmbNetfsOps) => FsInode;

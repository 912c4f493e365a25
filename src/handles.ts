/**
 * The FUSE file-handle table: fh number ↔ what an open file or directory
 * holds on our side. File handles carry the SMB FileId and the netfs inode
 * that caches the file's pages; directory handles carry the listing read at
 * opendir time so readdir answers from it.
 */

/** An open file. `I` is the netfs inode type (kept generic for tests). */
export interface FileHandle<I> {
  kind: 'file';
  path: string;
  /**
   * The server handle; null while there is none: a created file whose CREATE
   * is still deferred, or one whose handle a CREATE+WRITE+CLOSE compound
   * already closed (opened again when needed).
   */
  fileId: Buffer | null;
  inode: I;
  /** Inode-sharing key (see fs.ts), to drop the inode when the last user closes. */
  inodeKey: string;
  /** Opened for writing (O_WRONLY / O_RDWR). */
  writable?: boolean;
  /** O_APPEND: every write goes to the current end of file. */
  append?: boolean;
  /** Lease granted on this open (null/0: none). */
  leaseKey?: Buffer | null;
  leaseState?: number;
  /** Opened with O_DIRECT: reads go to the server, not through the page cache. */
  direct?: boolean;
  /** open may answer keep_cache: the kernel's pages of the file are still valid (kernel-cache.ts). */
  keepCache?: boolean;
  /** open found the file changed since the attributes the kernel was given (kernel-cache.ts sameAttrs): it must ask again. */
  kernelAttrsStale?: boolean;
}

/** An open directory and its listing. */
export interface DirHandle<E> {
  kind: 'dir';
  path: string;
  fileId: Buffer | null;
  entries: E[] | null;
}

export type Handle<I, E> = FileHandle<I> | DirHandle<E>;

/** Allocates small fh numbers (from 1), reusing released ones. */
export class HandleTable<I, E> {
  private readonly map = new Map<number, Handle<I, E>>();
  private readonly free: number[] = [];
  private next = 1;

  /** Store a handle and return its new fh number. */
  add(h: Handle<I, E>): number {
    const fh = this.free.pop() ?? this.next++;
    this.map.set(fh, h);
    return fh;
  }

  get(fh: number): Handle<I, E> | undefined {
    return this.map.get(fh);
  }

  /** The file handle `fh`, or undefined when absent or a directory. */
  getFile(fh: number): FileHandle<I> | undefined {
    const h = this.map.get(fh);
    return h?.kind === 'file' ? h : undefined;
  }

  /** The directory handle `fh`, or undefined when absent or a file. */
  getDir(fh: number): DirHandle<E> | undefined {
    const h = this.map.get(fh);
    return h?.kind === 'dir' ? h : undefined;
  }

  /** Remove `fh`, returning what it held. */
  remove(fh: number): Handle<I, E> | undefined {
    const h = this.map.get(fh);
    if (!h) return undefined;
    this.map.delete(fh);
    this.free.push(fh);
    return h;
  }

  /** Every open handle (for shutdown). */
  all(): Array<[number, Handle<I, E>]> {
    return [...this.map.entries()];
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * The bridge from netfs to SMB for one open file (the part cifs_req_ops plays
 * in the kernel): NetfsReadOps and NetfsWriteOps implemented with SMB2 READ
 * and WRITE on a tree. netfs cuts I/O into subrequests no bigger than
 * maxReadSize()/maxWriteSize(); each becomes one READ, whose payload the
 * transport decants straight into the subrequest's chain slice, or one WRITE,
 * whose payload is that slice handed over as views (no copy).
 */
import type { NetfsReadOps, NetfsReadSubrequestView, NetfsWriteOps, NetfsWriteSubrequestView } from '../netfs/ops.js';
import type { SmbTree } from '../transport/types.js';
import { EBADF, toFuseErrno } from './errno.js';

/** The tree methods the bridge uses. */
export type SmbIoTree = Pick<SmbTree, 'read' | 'maxReadSize' | 'write' | 'maxWriteSize' | 'transferBudget'>;

/**
 * Complete a subrequest with a failed call's error; transport failures may
 * succeed once the transport has reconnected (the retry waits for that),
 * except those that say a retry cannot help (`final`: handle lost, soft bound).
 */
function failed(subreq: { complete(r: { transferred: number; error: number; retryable: boolean }): void }, err: unknown): boolean {
  const e = err as { code?: unknown; final?: unknown } | null;
  const retryable = e?.code === 'SMB_ERR_TRANSPORT' && e.final !== true;
  subreq.complete({ transferred: 0, error: toFuseErrno(err), retryable });
  return retryable;
}

/** Run a tree call, turning a synchronous throw into a rejection. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

export class SmbNetfsOps implements NetfsReadOps, NetfsWriteOps {
  /**
   * Open FileIds on the server for this file. Several FUSE opens of an
   * unchanged file share one netfs inode; any of their handles can serve a
   * READ, so the newest is used; WRITEs use the newest opened for writing.
   * Empty once every open is closed (cached pages stay usable; I/O that needs
   * the server then fails EBADF).
   */
  private readonly fileIds: Buffer[] = [];
  private readonly writeIds: Buffer[] = [];
  /**
   * Writes while no handle is open for writing (a created file whose CREATE
   * is deferred, see fs-files.ts): the owner opens the file, or sends the
   * CREATE with the write, and resolves to the bytes the server took.
   */
  writeWithoutHandle: ((offset: number, data: Buffer[]) => Promise<number>) | null = null;

  /**
   * A WRITE failed in a way a retry after a reconnect cannot mend: the data
   * stays dirty and flush reports the error, but only errno reaches there,
   * so the owner logs the cause here.
   */
  onWriteFailed: ((offset: number, err: unknown) => void) | null = null;

  constructor(
    private readonly tree: SmbIoTree,
    /** rsize and wsize from the mount options. */
    private readonly rsize: number,
    private readonly wsize: number,
    fileId?: Buffer,
  ) {
    if (fileId) this.fileIds.push(fileId);
  }

  /** Add an open handle; `writable` ones may carry WRITEs. */
  attach(fileId: Buffer, writable = false): void {
    this.fileIds.push(fileId);
    if (writable) this.writeIds.push(fileId);
  }

  /** Stop using a handle (it is being closed). */
  detach(fileId: Buffer): void {
    for (const ids of [this.fileIds, this.writeIds]) {
      const i = ids.indexOf(fileId);
      if (i >= 0) ids.splice(i, 1);
    }
  }

  /** Whether some open handle is attached. */
  get attached(): boolean {
    return this.fileIds.length > 0;
  }

  /** A handle open for writing, if any (newest first). */
  get writeHandle(): Buffer | undefined {
    return this.writeIds[this.writeIds.length - 1];
  }

  /** min(rsize, server's MaxReadSize), at least 1. */
  maxReadSize(): number {
    return Math.max(1, Math.min(this.rsize, this.tree.maxReadSize || this.rsize));
  }

  /** min(wsize, server's MaxWriteSize), at least 1. */
  maxWriteSize(): number {
    return Math.max(1, Math.min(this.wsize, this.tree.maxWriteSize || this.wsize));
  }

  /**
   * Issue one READ for the subrequest, no larger than the credits in hand
   * allow (netfs continues a short transfer with a follow-up); a reply short
   * of what was asked means end of file.
   */
  issueRead(subreq: NetfsReadSubrequestView): void {
    const fileId = this.fileIds[this.fileIds.length - 1];
    if (!fileId) return subreq.complete({ transferred: 0, error: -EBADF });
    const len = Math.min(subreq.len, this.tree.transferBudget);
    call(() => this.tree.read(fileId, subreq.start, len, subreq.dest)).then(
      (n) => subreq.complete({ transferred: n, eof: n < len }),
      (err: unknown) => failed(subreq, err),
    );
  }

  /** Issue one WRITE for the subrequest (sized to the credits in hand); completes with the bytes the server took. */
  issueWrite(subreq: NetfsWriteSubrequestView): void {
    const fileId = this.writeHandle;
    const without = this.writeWithoutHandle;
    if (!fileId && !without) return subreq.complete({ transferred: 0, error: -EBADF });
    const len = Math.min(subreq.len, this.tree.transferBudget);
    const slices = subreq.source.clone().slices(len);
    call(() => (fileId ? this.tree.write(fileId, subreq.start, slices) : without!(subreq.start, slices))).then(
      (n) => subreq.complete({ transferred: Math.min(n, len) }),
      (err: unknown) => {
        if (!failed(subreq, err)) this.onWriteFailed?.(subreq.start, err);
      },
    );
  }
}

/**
 * The bridge from netfs to SMB for one open file: netfs's NetfsReadOps
 * implemented with SMB2 READ on a tree (the part cifs_req_ops plays in the
 * kernel). netfs cuts a read into subrequests no bigger than maxReadSize();
 * each becomes one READ whose payload the transport decants straight into
 * the subrequest's chain slice.
 */
import type { NetfsReadOps, NetfsReadSubrequestView, NetfsWriteOps, NetfsWriteSubrequestView } from '../netfs/ops.js';
import type { SmbTree } from '../transport/types.js';
import { EBADF, toFuseErrno } from './errno.js';

/** The tree methods the bridge uses. */
export type SmbReadTree = Pick<SmbTree, 'read' | 'maxReadSize'>;

export class SmbNetfsReadOps implements NetfsReadOps {
  /**
   * Open FileIds on the server for this file. Several FUSE opens of an
   * unchanged file share one netfs inode; any of their handles can serve a
   * READ, so the newest is used. Empty once every open is closed (cached
   * pages stay usable; a read that needs the server then fails EBADF).
   */
  private readonly fileIds: Buffer[] = [];

  constructor(
    private readonly tree: SmbReadTree,
    /** rsize from the mount options. */
    private readonly rsize: number,
    fileId?: Buffer,
  ) {
    if (fileId) this.fileIds.push(fileId);
  }

  /** Add an open handle that READs may use. */
  attach(fileId: Buffer): void {
    this.fileIds.push(fileId);
  }

  /** Stop using a handle (it is being closed). */
  detach(fileId: Buffer): void {
    const i = this.fileIds.indexOf(fileId);
    if (i >= 0) this.fileIds.splice(i, 1);
  }

  /** Whether some open handle is attached. */
  get attached(): boolean {
    return this.fileIds.length > 0;
  }

  /** min(rsize, server's MaxReadSize), at least 1. */
  maxReadSize(): number {
    return Math.max(1, Math.min(this.rsize, this.tree.maxReadSize || this.rsize));
  }

  /**
   * Issue one READ for the subrequest and complete it: a short read means
   * end of file; a transport failure is retryable after reconnect.
   */
  issueRead(subreq: NetfsReadSubrequestView): void {
    const fileId = this.fileIds[this.fileIds.length - 1];
    if (!fileId) {
      subreq.complete({ transferred: 0, error: -EBADF });
      return;
    }
    let p: Promise<number>;
    try {
      p = this.tree.read(fileId, subreq.start, subreq.len, subreq.dest);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (n) => subreq.complete({ transferred: n, eof: n < subreq.len }),
      (err: unknown) =>
        subreq.complete({
          transferred: 0,
          error: toFuseErrno(err),
          retryable: (err as { code?: unknown } | null)?.code === 'SMB_ERR_TRANSPORT',
        }),
    );
  }
}

/** The tree methods the read-write bridge uses. */
export type SmbWriteTree = SmbReadTree & { readonly maxWriteSize: number; write(fileId: Buffer, offset: number, data: Buffer[]): Promise<number> };

/**
 * NetfsReadOps plus NetfsWriteOps for one file: READs as above; each write
 * subrequest becomes one WRITE whose payload is the subrequest's chain slice,
 * handed to the transport as views (no copy). WRITEs use the newest handle
 * opened for writing.
 */
export class SmbNetfsOps extends SmbNetfsReadOps implements NetfsWriteOps {
  private readonly writeIds: Buffer[] = [];

  constructor(
    private readonly wtree: SmbWriteTree,
    rsize: number,
    /** wsize from the mount options. */
    private readonly wsize: number,
  ) {
    super(wtree, rsize);
  }

  /** Add an open handle; `writable` ones may carry WRITEs. */
  override attach(fileId: Buffer, writable = false): void {
    super.attach(fileId);
    if (writable) this.writeIds.push(fileId);
  }

  override detach(fileId: Buffer): void {
    super.detach(fileId);
    const i = this.writeIds.indexOf(fileId);
    if (i >= 0) this.writeIds.splice(i, 1);
  }

  /** A handle open for writing, if any (newest first). */
  get writeHandle(): Buffer | undefined {
    return this.writeIds[this.writeIds.length - 1];
  }

  /** min(wsize, server's MaxWriteSize), at least 1. */
  maxWriteSize(): number {
    return Math.max(1, Math.min(this.wsize, this.wtree.maxWriteSize || this.wsize));
  }

  /** Issue one WRITE for the subrequest and complete it with the bytes the server took. */
  issueWrite(subreq: NetfsWriteSubrequestView): void {
    const fileId = this.writeHandle;
    if (!fileId) {
      subreq.complete({ transferred: 0, error: -EBADF });
      return;
    }
    let p: Promise<number>;
    try {
      p = this.wtree.write(fileId, subreq.start, subreq.source.clone().slices(subreq.len));
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (n) => subreq.complete({ transferred: Math.min(n, subreq.len) }),
      (err: unknown) =>
        subreq.complete({
          transferred: 0,
          error: toFuseErrno(err),
          retryable: (err as { code?: unknown } | null)?.code === 'SMB_ERR_TRANSPORT',
        }),
    );
  }
}

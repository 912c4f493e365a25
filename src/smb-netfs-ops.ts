/**
 * The bridge from netfs to SMB for one open file: netfs's NetfsReadOps
 * implemented with SMB2 READ on a tree (the part cifs_req_ops plays in the
 * kernel). netfs cuts a read into subrequests no bigger than maxReadSize();
 * each becomes one READ whose payload the transport decants straight into
 * the subrequest's chain slice.
 */
import type { NetfsReadOps, NetfsReadSubrequestView } from '../netfs/ops.js';
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

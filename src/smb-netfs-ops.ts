/**
 * The bridge from netfs to SMB for one open file: netfs's NetfsReadOps
 * implemented with SMB2 READ on a tree (the part cifs_req_ops plays in the
 * kernel). netfs cuts a read into subrequests no bigger than maxReadSize();
 * each becomes one READ whose payload the transport decants straight into
 * the subrequest's chain slice.
 */
import type { NetfsReadOps, NetfsReadSubrequestView } from '../netfs/ops.js';
import type { SmbTree } from '../transport/types.js';
import { toFuseErrno } from './errno.js';

/** The tree methods the bridge uses. */
export type SmbReadTree = Pick<SmbTree, 'read' | 'maxReadSize'>;

export class SmbNetfsReadOps implements NetfsReadOps {
  constructor(
    private readonly tree: SmbReadTree,
    private readonly fileId: Buffer,
    /** rsize from the mount options. */
    private readonly rsize: number,
  ) {}

  /** min(rsize, server's MaxReadSize), at least 1. */
  maxReadSize(): number {
    return Math.max(1, Math.min(this.rsize, this.tree.maxReadSize || this.rsize));
  }

  /**
   * Issue one READ for the subrequest and complete it: a short read means
   * end of file; a transport failure is retryable after reconnect.
   */
  issueRead(subreq: NetfsReadSubrequestView): void {
    let p: Promise<number>;
    try {
      p = this.tree.read(this.fileId, subreq.start, subreq.len, subreq.dest);
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

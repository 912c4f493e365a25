/**
 * Buffers for reads straight from the server (cache=none, no read lease,
 * O_DIRECT). The server's bytes may not land in libfuse's buffer (the socket
 * can hold a view of a READ's destination past the FUSE call's answer), so
 * they land in one of these and are copied over; a fresh 128 KiB buffer per
 * FUSE read would be an external allocation per call, and those drive the
 * GC. A buffer comes back only after its READ completed: one whose read
 * failed or was abandoned may still be written by a late reply, so it is
 * left to the GC.
 */

/** FUSE's largest read with libfuse 2 (the kernel sends at most 32 pages). */
export const FUSE_READ_MAX = 128 * 1024;

export class ReadBuffers {
  private readonly free: Buffer[] = [];

  /** @param keep most idle buffers kept (about the number of FUSE threads). */
  constructor(private readonly keep = 16) {}

  /** A buffer of at least `n` bytes (pooled up to FUSE_READ_MAX). */
  take(n: number): Buffer {
    if (n > FUSE_READ_MAX) return Buffer.allocUnsafe(n);
    return this.free.pop() ?? Buffer.allocUnsafe(FUSE_READ_MAX);
  }

  /** Give back a buffer whose read completed (no reply can still write into it). */
  give(b: Buffer): void {
    if (b.length === FUSE_READ_MAX && this.free.length < this.keep) this.free.push(b);
  }
}

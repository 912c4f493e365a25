/**
 * Buffers for reads straight from the server (cache=none, no read lease,
 * O_DIRECT). The server's bytes may not land in libfuse's buffer (the socket
 * can hold a view of a READ's destination past the FUSE call's answer), so
 * they land in one of these and are copied over; a fresh buffer per
 * FUSE read would be an external allocation per call, and those drive the
 * GC. A buffer comes back only after its READ completed: one whose read
 * failed or was abandoned may still be written by a late reply, so it is
 * left to the GC.
 */

/** Pooled sizes: most reads (fio's 4 KiB, libfuse2's own 128 KiB split) fit the small one. */
export const READ_BUFFER_SMALL = 128 * 1024;
/** FUSE's largest read through the patched binding (256 pages; patch-fuse-native.mjs, "big requests"). */
export const FUSE_READ_MAX = 1024 * 1024;

export class ReadBuffers {
  private readonly small: Buffer[] = [];
  private readonly big: Buffer[] = [];

  /**
   * @param keep most idle small buffers kept (about the FUSE requests in
   * flight at once); a quarter as many big ones (at least one).
   */
  constructor(private readonly keep = 16) {}

  /** A buffer of at least `n` bytes (pooled in two sizes up to FUSE_READ_MAX). */
  take(n: number): Buffer {
    if (n <= READ_BUFFER_SMALL) return this.small.pop() ?? Buffer.allocUnsafe(READ_BUFFER_SMALL);
    if (n <= FUSE_READ_MAX) return this.big.pop() ?? Buffer.allocUnsafe(FUSE_READ_MAX);
    return Buffer.allocUnsafe(n);
  }

  /** Give back a buffer whose read completed (no reply can still write into it). */
  give(b: Buffer): void {
    if (b.length === READ_BUFFER_SMALL && this.small.length < this.keep) this.small.push(b);
    else if (b.length === FUSE_READ_MAX && this.big.length < Math.max(1, this.keep >> 2)) this.big.push(b);
  }
}

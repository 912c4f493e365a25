/**
 * The receive queue: socket chunks kept as they arrived (no copying on
 * arrival), consumed from the front. Only small pieces that straddle chunks
 * (length prefixes, headers) are copied into contiguous Buffers; bulk READ
 * payloads are decanted straight from the chunks into a chain.
 * (After the TCP receive-queue helpers in reference/netfs-tcp-rxqueue-helpers.)
 */
import type { BvecqPos } from '../netfs/bvecq.js';

export class RxQueue {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk and offset into it. */
  private first = 0;
  private off = 0;
  /** Bytes queued and not yet consumed. */
  size = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Drop everything (connection reset). */
  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.off = 0;
    this.size = 0;
  }

  /** The next `n` bytes as one Buffer without consuming: a view if they sit in one chunk. */
  peek(n: number): Buffer {
    if (n > this.size) throw new RangeError(`rx-queue: peek ${n} > ${this.size}`);
    if (n === 0) return Buffer.alloc(0);
    const c = this.chunks[this.first]!;
    if (c.length - this.off >= n) return c.subarray(this.off, this.off + n);
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    for (let i = this.first, o = this.off; done < n; i++, o = 0) {
      const ch = this.chunks[i]!;
      const k = Math.min(ch.length - o, n - done);
      ch.copy(out, done, o, o + k);
      done += k;
    }
    return out;
  }

  /** Consume and return the next `n` bytes (a view when possible). */
  take(n: number): Buffer {
    const b = this.peek(n);
    this.skip(n);
    return b;
  }

  /** Consume `n` bytes (n ≤ size). */
  skip(n: number): void {
    this.forEachView(n, () => {});
  }

  /**
   * Consume min(n, size) bytes from the front of the queue, copying them into
   * the chain at `dest` (advancing it) as far as the chain reaches; returns how
   * many landed there. Bytes past the chain's end are dropped, not kept.
   */
  decant(dest: BvecqPos, n: number): number {
    let placed = 0;
    this.forEachView(Math.min(n, this.size), (v) => {
      placed += dest.copyIn(v, 0, v.length);
    });
    return placed;
  }

  /**
   * Consume up to `n` bytes, handing each as a view of the chunk it sits in
   * (no copy) to `fn`; returns how many were consumed (limited by what is queued).
   */
  consume(n: number, fn: (v: Buffer) => void): number {
    return this.forEachView(Math.min(n, this.size), fn);
  }

  /** Consume `n` bytes, visiting them as chunk views; returns n. */
  private forEachView(n: number, fn: (v: Buffer) => void): number {
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const k = Math.min(c.length - this.off, left);
      fn(c.subarray(this.off, this.off + k));
      this.off += k;
      left -= k;
      this.size -= k;
      if (this.off === c.length) {
        this.first++;
        this.off = 0;
      }
    }
    if (this.first > 64 || this.first === this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    return n;
  }
}

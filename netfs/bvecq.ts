/**
 * bvecq: a segmented chain of buffer vectors, after netfslib's struct bvecq.
 *
 * A chain is a NULL-terminated doubly linked list of segments. Each segment
 * holds an array of slots; every slot is a Buffer *view* (a subarray, never a
 * copy) and the slots of one segment are contiguous in file space, starting at
 * the segment's `fpos`. Where the chain jumps in the file, a new segment begins
 * with `discontig` set. The same structure carries page-cache folios, a FUSE
 * caller's buffer, request payloads and received data.
 */

/** Slots per segment before a new segment is started (keeps arrays small). */
export const BVECQ_MAX_SLOTS = 64;

/** One segment of a chain: slots contiguous in file space from `fpos`. */
export class BvecqSegment {
  next: BvecqSegment | null = null;
  prev: BvecqSegment | null = null;
  /** Byte length of all slots in this segment. */
  length = 0;
  readonly slots: Buffer[] = [];
  /** Per slot: what the view belongs to (a folio), or undefined. */
  readonly owners: unknown[] = [];

  constructor(
    /** File position of the first byte of the first slot. */
    public fpos: number,
    /** Set where this segment does not follow on from the previous one in the file. */
    public discontig = false,
  ) {}
}

/** A chain of segments; owns nothing but the list. */
export class Bvecq {
  head: BvecqSegment | null = null;
  tail: BvecqSegment | null = null;
  /** Total bytes across all slots. */
  length = 0;

  /** Build a chain over existing buffers (no copies), contiguous from `fpos`. */
  static fromBuffers(bufs: readonly Buffer[], fpos = 0): Bvecq {
    const q = new Bvecq();
    let pos = fpos;
    for (const b of bufs) {
      q.append(b, pos);
      pos += b.length;
    }
    return q;
  }

  /** File position just past the last byte, or NaN when empty. */
  get endFpos(): number {
    const t = this.tail;
    return t ? t.fpos + t.length : NaN;
  }

  /**
   * Append a buffer view as a new slot at file position `fpos` (defaults to
   * following on from the tail). A jump in file position or a full segment
   * starts a new segment; a jump also marks it discontiguous. `owner` is
   * kept with the slot (see BvecqSegment.owners).
   */
  append(buf: Buffer, fpos?: number, owner?: unknown): void {
    if (buf.length === 0) return;
    const t = this.tail;
    const at = fpos ?? (t ? t.fpos + t.length : 0);
    const follows = t !== null && t.fpos + t.length === at;
    if (!t || !follows || t.slots.length >= BVECQ_MAX_SLOTS) {
      const seg = new BvecqSegment(at, t !== null && !follows);
      this.linkTail(seg);
    }
    const seg = this.tail!;
    seg.slots.push(buf);
    seg.owners.push(owner);
    seg.length += buf.length;
    this.length += buf.length;
  }

  /** Move every segment of `other` onto the end of this chain (splice). */
  splice(other: Bvecq): void {
    let s = other.head;
    while (s) {
      const next = s.next;
      s.next = s.prev = null;
      if (this.tail && this.tail.fpos + this.tail.length !== s.fpos) s.discontig = true;
      this.linkTail(s);
      this.length += s.length;
      s = next;
    }
    other.head = other.tail = null;
    other.length = 0;
  }

  /**
   * Drop whole segments that lie entirely before `pos` (release behind the
   * collector). A position that has not yet been placed on a segment (taken on
   * an empty chain) names the head, so nothing is released for it. A position
   * of another chain, or on a segment no longer in this chain, is refused:
   * walking to it would otherwise release the whole chain.
   */
  releaseBefore(pos: BvecqPos): void {
    if (pos.chain !== this) throw new Error('bvecq: releaseBefore with a position of another chain');
    const target = pos.seg;
    if (!target) return;
    let s: BvecqSegment | null = this.head;
    while (s && s !== target) s = s.next;
    if (!s) throw new Error('bvecq: releaseBefore with a position outside the chain');
    while (this.head && this.head !== target) {
      const s = this.head;
      this.head = s.next;
      if (this.head) this.head.prev = null;
      else this.tail = null;
      this.length -= s.length;
      s.next = null;
    }
  }

  /** A position at the first byte of the chain. */
  start(): BvecqPos {
    return new BvecqPos(this, this.head, 0, 0);
  }

  /** A position `n` bytes into the chain. */
  at(n: number): BvecqPos {
    const p = this.start();
    p.advance(n);
    return p;
  }

  /** Copy the whole chain out into one new Buffer (tests and debugging). */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.start().copyOut(out, 0, this.length);
    return out;
  }

  private linkTail(seg: BvecqSegment): void {
    seg.prev = this.tail;
    if (this.tail) this.tail.next = seg;
    else this.head = seg;
    this.tail = seg;
  }
}

/**
 * A point in a chain: segment, slot index and byte offset in that slot.
 * Operations that move data advance the position past what they touched.
 * A position at the end of the chain has `seg === null` or sits at the end of
 * the last slot.
 */
export class BvecqPos {
  constructor(
    public readonly chain: Bvecq,
    public seg: BvecqSegment | null,
    public slot: number,
    public off: number,
  ) {}

  clone(): BvecqPos {
    return new BvecqPos(this.chain, this.seg, this.slot, this.off);
  }

  /**
   * File position of the byte this position names. At the end of the chain
   * this is the file position just past the last byte; NaN on an empty chain.
   */
  get fpos(): number {
    this.settle();
    const s = this.seg;
    if (!s) return NaN;
    let p = s.fpos;
    for (let i = 0; i < this.slot; i++) p += s.slots[i]!.length;
    return p + this.off;
  }

  /**
   * Skip over exhausted slots and segments so the position names a real byte
   * (a position left at the end of a segment moves to the next one, so it
   * stays valid once the segments before it are released). A position taken
   * on an empty chain has no segment; once the chain has data it names the
   * chain's first byte.
   */
  settle(): void {
    if (!this.seg && this.slot === 0 && this.off === 0) this.seg = this.chain.head;
    while (this.seg) {
      const b = this.seg.slots[this.slot];
      if (b && this.off < b.length) return;
      if (b) {
        this.slot++;
        this.off = 0;
        continue;
      }
      if (!this.seg.next) return;
      this.seg = this.seg.next;
      this.slot = 0;
      this.off = 0;
    }
  }

  /** Visit up to `len` bytes as contiguous views, advancing; returns bytes visited. */
  private walk(len: number, fn: (view: Buffer, done: number) => void): number {
    let done = 0;
    while (done < len) {
      this.settle();
      const b = this.seg?.slots[this.slot];
      if (!b || this.off >= b.length) break;
      const n = Math.min(b.length - this.off, len - done);
      fn(b.subarray(this.off, this.off + n), done);
      this.off += n;
      done += n;
    }
    return done;
  }

  /**
   * A view of up to `max` bytes at this position, within one slot, without
   * advancing: a socket can read straight into it, then the caller advances.
   * Empty at the end of the chain.
   */
  peekView(max: number): Buffer {
    this.settle();
    const b = this.seg?.slots[this.slot];
    if (!b || this.off >= b.length) return Buffer.alloc(0);
    return b.subarray(this.off, this.off + Math.min(max, b.length - this.off));
  }

  /** Move forward `n` bytes; throws if the chain is shorter. */
  advance(n: number): void {
    const got = this.walk(n, () => {});
    if (got !== n) throw new RangeError(`bvecq: advance ${n} past end (${got})`);
  }

  /** Views over the next `len` bytes (for a gathered socket write); advances. */
  slices(len: number): Buffer[] {
    const out: Buffer[] = [];
    const got = this.walk(len, (v) => out.push(v));
    if (got !== len) throw new RangeError(`bvecq: slice ${len} past end (${got})`);
    return out;
  }

  /**
   * Copy up to `len` bytes from the chain into `dst` at `dstOff`; advances by
   * the bytes copied, which `dst`'s room after `dstOff` also bounds.
   */
  copyOut(dst: Buffer, dstOff: number, len: number): number {
    const n = Math.min(len, Math.max(0, dst.length - dstOff));
    return this.walk(n, (v, done) => v.copy(dst, dstOff + done));
  }

  /**
   * Copy up to `len` bytes of `src` from `srcOff` into the chain; advances by
   * the bytes copied, which the bytes left in `src` after `srcOff` also bound.
   */
  copyIn(src: Buffer, srcOff: number, len: number): number {
    const n = Math.min(len, Math.max(0, src.length - srcOff));
    return this.walk(n, (v, done) => src.copy(v, 0, srcOff + done, srcOff + done + v.length));
  }

  /** Zero `len` bytes of the chain; advances. */
  zero(len: number): number {
    return this.walk(len, (v) => v.fill(0));
  }

  /**
   * File position where the contiguous run holding this position ends: the
   * end of the last segment before the next discontiguity (or the chain end).
   */
  runEnd(): number {
    this.settle();
    let s = this.seg;
    if (!s) return NaN;
    while (s.next && !s.next.discontig) s = s.next;
    return s.fpos + s.length;
  }

  /** Bytes from this position to the end of the chain. */
  remaining(): number {
    const p = this.clone();
    let n = 0;
    p.walk(Number.MAX_SAFE_INTEGER, (v) => (n += v.length));
    return n;
  }
}

/**
 * READ answers written to the kernel straight from the page cache's buffers
 * (binding patch 17), instead of copied into libfuse's buffer first: on a
 * cold sequential read that copy was a tenth of the daemon's CPU.
 *
 * The binding writes an answer when libfuse sends it, after JavaScript has
 * moved on (later still for a short answer it holds back for the reads
 * below it), so the folios it points into must keep their bytes until then. Each
 * such answer takes a slot in a table of 32-bit words shared with the
 * binding: LENT while the answer is on its way, SENT once the binding's
 * channel has written it (or given up on it). sweep() then releases the
 * folios (unpins them): each read handler sweeps first, and a timer sweeps
 * while answers are out. A slot is taken only when one is free; with none,
 * the read is copied as before.
 */
import type { NetfsLent } from '../netfs/ops.js';
import { bindingAddon } from './fuse-binding.js';

/** Word values in the shared table (the binding writes SENT; keep in step with the patch). */
export const SLOT_FREE = 0;
export const SLOT_LENT = 1;
export const SLOT_SENT = 2;

/** How soon answers still out are swept when no read comes to do it. */
export const SWEEP_MS = 50;

/** Answers that may be on their way at once. */
export const LENT_SLOTS = 64;

/** What the patched binary offers for lent answers. */
export interface LendingBinding {
  /** Registers the shared table (kept alive by the caller for good). */
  smbfuse_lend_table(table: Buffer): void;
}

/** The loaded fuse-native binary's lending entry point, or null if it has none. */
export function lendingBinding(): LendingBinding | null {
  const b = bindingAddon();
  return b && typeof b.smbfuse_lend_table === 'function' ? (b as unknown as LendingBinding) : null;
}

export class LentReads {
  /** The shared words, one per slot. */
  private readonly words: Int32Array;
  private readonly lent: (NetfsLent | null)[];
  private readonly free: number[] = [];
  private inFlight = 0;
  /** Sweeps while answers are out, so the last of a burst are released without a next read. */
  private sweeper: NodeJS.Timeout | null = null;
  /** Answers lent so far (statistics). */
  answers = 0;

  /** `table` is shared with the binding: slots × 4 bytes, aligned, kept alive as long as this. */
  constructor(readonly table: Buffer) {
    if (table.byteOffset % 4 !== 0 || table.length % 4 !== 0) throw new Error('lent-read table must be whole aligned words');
    this.words = new Int32Array(table.buffer, table.byteOffset, table.length / 4);
    this.words.fill(SLOT_FREE);
    this.lent = new Array<NetfsLent | null>(this.words.length).fill(null);
    for (let i = this.words.length - 1; i >= 0; i--) this.free.push(i);
  }

  /** A table registered with the loaded binary, or null when it cannot send lent answers. */
  static withBinding(b: LendingBinding | null = lendingBinding(), slots = LENT_SLOTS): LentReads | null {
    if (!b) return null;
    const lr = new LentReads(Buffer.alloc(slots * 4));
    b.smbfuse_lend_table(lr.table);
    return lr;
  }

  /** Whether a slot is free now (sweep() first). */
  get canLend(): boolean {
    return this.free.length > 0;
  }

  /** Answers lent and not yet released. */
  get pending(): number {
    return this.inFlight;
  }

  /** Answers lent so far and those still on their way (after a sweep). */
  stats(): { answers: number; pending: number } {
    this.sweep();
    return { answers: this.answers, pending: this.inFlight };
  }

  /** Takes a slot for `l` (marked LENT): its number for the binding, or -1 when none is free. */
  lend(l: NetfsLent): number {
    const slot = this.free.pop();
    if (slot === undefined) return -1;
    this.lent[slot] = l;
    Atomics.store(this.words, slot, SLOT_LENT);
    this.inFlight++;
    this.answers++;
    this.sweeper ??= setTimeout(this.sweepLater, SWEEP_MS).unref();
    return slot;
  }

  private readonly sweepLater = (): void => {
    this.sweeper = null;
    this.sweep();
    if (this.inFlight > 0) this.sweeper = setTimeout(this.sweepLater, SWEEP_MS).unref();
  };

  /** Releases every lent answer the binding has marked SENT; their slots are free again. */
  sweep(): void {
    if (this.inFlight === 0) return;
    for (let i = 0; i < this.words.length; i++) {
      if (this.lent[i] === null || Atomics.load(this.words, i) !== SLOT_SENT) continue;
      const l = this.lent[i]!;
      this.lent[i] = null;
      Atomics.store(this.words, i, SLOT_FREE);
      this.free.push(i);
      this.inFlight--;
      l.release();
    }
  }
}

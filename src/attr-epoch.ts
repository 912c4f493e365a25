/**
 * Lookups answered by the binding itself (binding patch 18, "primed lookups").
 *
 * `ls -l` of a directory sends the kernel's LOOKUP for every name it
 * listed; libfuse2 turns each into a getattr, and each getattr hops to
 * JavaScript and back: about 50 of the 70 us a lookup takes, though the
 * answer (SmbFs.getattrCached) was known when the readdir was answered.
 * So a readdir answer hands the binding, per name, the stat getattrCached
 * gives at that moment and how long its attribute entry lives; the binding
 * answers getattr of those paths itself.
 *
 * Those answers stay right only while nothing they were made from changes.
 * The epoch is a 32-bit word shared with the binding that moves whenever
 * something does:
 *  - the attribute cache changes or drops an entry (AttrCache onChange: a
 *    fresh stat that differs, an invalidation, a lease break, an eviction);
 *  - a FUSE call that can change a file's state here (a write, a truncate,
 *    a create, a rename, new times, an open for writing, the close of a
 *    written file...) is dispatched or answered (fuse-ops.ts).
 * Expiry needs no move: each stat goes with the time its entry has left.
 * A readdir answer carries the epoch its stats were made under; the binding
 * keeps them only while the word still holds it, and drops them all once it
 * moved. Read-only work (`ls -l`, `find`, `grep -r`, `tar c`) leaves the
 * word alone, so its lookups are all answered without the hop.
 */
import { bindingAddon } from './fuse-binding.js';

/** What the patched binary offers for primed lookups. */
export interface PrimingBinding {
  /** Registers the epoch word (a 4-byte Buffer the caller keeps alive for good). */
  smbfuse_prime_epoch(word: Buffer): void;
  /** getattr answers the binding gave from primed stats so far. */
  smbfuse_primed_answers(): number;
}

/** The loaded binary's primed-lookup entry points, or null if it has none. */
export function primingBinding(): PrimingBinding | null {
  const b = bindingAddon() as Partial<PrimingBinding> | null;
  return b && typeof b.smbfuse_prime_epoch === 'function' && typeof b.smbfuse_primed_answers === 'function' ? (b as PrimingBinding) : null;
}

export class AttrEpoch {
  /** The word's memory, shared with the binding once registered. */
  readonly word: Buffer = Buffer.alloc(4);
  private readonly value32 = new Int32Array(this.word.buffer, this.word.byteOffset, 1);
  private binding: PrimingBinding | null = null;

  /** The current value: stamp stats made now with it. */
  get value(): number {
    return this.value32[0]!;
  }

  /** Something a cached getattr answer is made from changed: primed answers made before are void. */
  bump(): void {
    this.value32[0] = (this.value32[0]! + 1) | 0;
  }

  /** Share the word with the loaded binary; false when it cannot answer lookups itself. */
  share(b: PrimingBinding | null = primingBinding()): boolean {
    if (!b) return false;
    b.smbfuse_prime_epoch(this.word);
    this.binding = b;
    return true;
  }

  /** Whether readdir answers should carry primed stats. */
  get shared(): boolean {
    return this.binding !== null;
  }

  /** getattr answers the binding gave without JavaScript (0 when not shared). */
  answers(): number {
    return this.binding?.smbfuse_primed_answers() ?? 0;
  }
}

/**
 * FUSE INTERRUPT: a caller interrupted while it waits for us (Ctrl-C of a
 * `cat` blocked on a server that stopped answering) gets EINTR at once, as
 * with a local file system, instead of waiting out timeout=.
 *
 * The kernel sends INTERRUPT for a request whose caller got a signal; with
 * `-o intr,intr_signal=12` libfuse2 signals the thread serving that request,
 * and our fuse-native patch (scripts/patch-fuse-native.mjs, "smbfuse
 * interrupt") turns that into a call on the main loop. Each fuse-native
 * thread has one buffer of "thread locals", the first argument of every
 * handler call; while a handler runs synchronously it registers how to answer
 * its request early (fuse-ops.ts answer(): the same path as a timeout, so the
 * late result is dropped and libfuse's buffers are not touched again), under
 * the locals of the thread that waits for it.
 */

import { bindingAddon } from './fuse-binding.js';

/** What the patched binary adds for interrupts (absent from an older build). */
interface InterruptBinding {
  smbfuse_interrupted(locals: Buffer): number;
  smbfuse_on_interrupt(thread: Buffer, fn: () => void): void;
}

/** The loaded fuse-native binary's interrupt entry points, or null if it has none. */
export function interruptBinding(): InterruptBinding | null {
  const b = bindingAddon();
  return b && typeof b.smbfuse_interrupted === 'function' && typeof b.smbfuse_on_interrupt === 'function' ? (b as unknown as InterruptBinding) : null;
}

/** libfuse options that deliver interrupts to us (SIGUSR2: SIGUSR1 would start Node's inspector). */
export const INTERRUPT_FUSE_OPTIONS: readonly string[] = ['intr', 'intr_signal=12'];

/** A request's early answer (EINTR), under the thread locals its thread waits on. */
export class Interrupts {
  private current: object | null = null;
  private readonly waiting = new Map<object, () => void>();

  /** Run a handler call for the request of `locals`; what it registers belongs to that request. */
  dispatch<T>(locals: object, call: () => T): T {
    this.current = locals;
    try {
      return call();
    } finally {
      this.current = null;
    }
  }

  /**
   * Called synchronously by a handler: `cancel` answers its request EINTR.
   * Returns the function that forgets it once the request is answered.
   */
  register(cancel: () => void): () => void {
    const key = this.current;
    if (key === null) return () => {};
    this.waiting.set(key, cancel);
    return () => {
      if (this.waiting.get(key) === cancel) this.waiting.delete(key);
    };
  }

  /** The kernel interrupted the request the thread of `locals` waits for. */
  interrupt(locals: object): boolean {
    const cancel = this.waiting.get(locals);
    cancel?.();
    return cancel !== undefined;
  }

  /**
   * After mounting: ask the binary to call us when a request is interrupted,
   * and answer each thread's interrupted request.
   */
  listen(fuse: { _thread: Buffer | null; _threads: Set<Buffer> }): void {
    const b = interruptBinding();
    if (!b || !fuse._thread) return;
    b.smbfuse_on_interrupt(fuse._thread, () => {
      for (const locals of fuse._threads) if (b.smbfuse_interrupted(locals)) this.interrupt(locals);
    });
  }

  /** Requests that can still be interrupted (for tests and statistics). */
  get size(): number {
    return this.waiting.size;
  }
}

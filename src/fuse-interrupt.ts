/**
 * FUSE INTERRUPT: a caller interrupted while it waits for us (Ctrl-C of a
 * `cat` blocked on a server that stopped answering) gets EINTR at once, as
 * with a local file system, instead of waiting out timeout=.
 *
 * The kernel sends INTERRUPT for a request whose caller got a signal. The
 * patched binding reads every request itself (scripts/patch-fuse-native.mjs,
 * "one thread"), so it matches an INTERRUPT to the request it names and, if
 * JavaScript still owes that request an answer, calls us on the main loop.
 * Each request has its own buffer of "locals", the first argument of every
 * handler call for it; while a handler runs synchronously it registers how
 * to answer its request early (fuse-ops.ts answer(): the same path as a
 * timeout, so the late result is dropped and libfuse's buffers are not
 * touched again), under the locals of that request.
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

/** A request's early answer (EINTR), under the locals of that request. */
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

  /** The kernel interrupted the request of `locals`. */
  interrupt(locals: object): boolean {
    const cancel = this.waiting.get(locals);
    cancel?.();
    return cancel !== undefined;
  }

  /**
   * After mounting: ask the binary to call us when a request is interrupted,
   * and answer each interrupted request.
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

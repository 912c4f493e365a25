/**
 * Credit accounting (MS-SMB2 3.2.4.1.5 / 3.2.5.1.4). The server grants
 * credits; each request spends CreditCharge of them and consumes that many
 * consecutive message ids. Senders wait for credits in FIFO order so a large
 * READ is not starved by a stream of small requests.
 *
 * A server can hold a client short of credits, by accident or on purpose.
 * Two rules keep that from wedging the mount: every wait has a deadline, and
 * a request that needs more credits than are in hand while nothing is in
 * flight fails at once, since no reply can ever grant more.
 */
import { SmbCancelledError, SmbProtocolError, SmbTimeoutError } from './errors.js';

interface Waiter {
  charge: number;
  resolve: (firstMid: bigint) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

export interface AcquireOptions {
  /** Give up (SmbTimeoutError) after this long; 0 or absent: no deadline. */
  timeoutMs?: number;
  /** Go ahead of requests already waiting (ECHO: a probe must not queue behind bulk I/O). */
  urgent?: boolean;
}

export class Credits {
  /** Credits granted and not yet spent. */
  private balance = 1;
  /** Next message id to hand out. */
  private nextMid = 0n;
  private readonly queue: Waiter[] = [];
  /** Credits currently spent on requests in flight (for the ask heuristic). */
  inFlight = 0;

  /** Credits in hand right now. */
  get available(): number {
    return this.balance;
  }

  /**
   * Take `charge` credits and the message ids that go with them; waits in
   * FIFO order until the server has granted enough, at most `timeoutMs`.
   */
  acquire(charge: number, opts: AcquireOptions = {}): Promise<bigint> {
    if ((this.queue.length === 0 || opts.urgent) && this.balance >= charge) return Promise.resolve(this.take(charge));
    const starved = this.starvation(charge);
    if (starved) return Promise.reject(starved);
    return new Promise((resolve, reject) => {
      const w: Waiter = { charge, resolve, reject, timer: null };
      if (opts.timeoutMs) {
        w.timer = setTimeout(() => {
          const i = this.queue.indexOf(w);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(new SmbTimeoutError(`no credits for a request of charge ${charge} in ${opts.timeoutMs} ms (server granted ${this.balance}, ${this.inFlight} in flight)`));
          // The head may have been the one holding others back.
          this.wake();
        }, opts.timeoutMs);
        w.timer.unref();
      }
      if (opts.urgent) this.queue.unshift(w);
      else this.queue.push(w);
    });
  }

  /** A response granted `n` credits. */
  grant(n: number): void {
    this.balance += n;
    this.wake();
  }

  /** A request's `charge` is no longer in flight (answered, timed out or dropped). */
  settle(charge: number): void {
    this.inFlight = Math.max(0, this.inFlight - charge);
    // With nothing left in flight, a waiter that cannot be served never will be.
    this.wake();
  }

  /**
   * How many credits a request of `charge` should ask for: enough to keep
   * many large requests in flight without hoarding beyond `target`.
   */
  askFor(charge: number, target = 1024): number {
    const have = this.balance + this.inFlight;
    return have < target ? charge + Math.min(256, target - have) : charge;
  }

  /** Fail every waiter (connection lost or closed). */
  failAll(e: Error = new SmbCancelledError('connection closed')): void {
    for (const w of this.queue.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(e);
    }
  }

  /** Start over after a reconnect: one credit, message id 0. */
  reset(): void {
    this.balance = 1;
    this.nextMid = 0n;
    this.inFlight = 0;
  }

  /** The error for a charge that cannot be met now or ever, or null if a reply may still grant it. */
  private starvation(charge: number): SmbProtocolError | null {
    if (this.balance >= charge || this.inFlight > 0) return null;
    return new SmbProtocolError(
      `server granted too few credits: a request needs ${charge}, ${this.balance} granted and none in flight to bring more`,
    );
  }

  private take(charge: number): bigint {
    this.balance -= charge;
    this.inFlight += charge;
    const mid = this.nextMid;
    this.nextMid += BigInt(charge);
    return mid;
  }

  private wake(): void {
    while (this.queue.length > 0) {
      const w = this.queue[0]!;
      if (this.balance < w.charge) {
        const starved = this.starvation(w.charge);
        if (!starved) return;
        this.queue.shift();
        if (w.timer) clearTimeout(w.timer);
        w.reject(starved);
        continue;
      }
      this.queue.shift();
      if (w.timer) clearTimeout(w.timer);
      w.resolve(this.take(w.charge));
    }
  }
}

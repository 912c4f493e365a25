/**
 * Credit accounting (MS-SMB2 3.2.4.1.5 / 3.2.5.1.4). The server grants
 * credits; each request spends CreditCharge of them and consumes that many
 * consecutive message ids. Senders wait for credits in FIFO order so a large
 * READ is not starved by a stream of small requests.
 */
import { SmbCancelledError } from './errors.js';

interface Waiter {
  charge: number;
  resolve: (firstMid: bigint) => void;
  reject: (e: Error) => void;
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
   * FIFO order until the server has granted enough.
   */
  acquire(charge: number): Promise<bigint> {
    if (this.queue.length === 0 && this.balance >= charge) return Promise.resolve(this.take(charge));
    return new Promise((resolve, reject) => this.queue.push({ charge, resolve, reject }));
  }

  /** A response granted `n` credits (and returned `spent` to the window). */
  grant(n: number, spent: number): void {
    this.balance += n;
    this.inFlight = Math.max(0, this.inFlight - spent);
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
    for (const w of this.queue.splice(0)) w.reject(e);
  }

  /** Start over after a reconnect: one credit, message id 0. */
  reset(): void {
    this.balance = 1;
    this.nextMid = 0n;
    this.inFlight = 0;
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
      if (this.balance < w.charge) return;
      this.queue.shift();
      w.resolve(this.take(w.charge));
    }
  }
}

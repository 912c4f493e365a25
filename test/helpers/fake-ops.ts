/**
 * An in-memory NetfsReadOps for netfs unit tests: serves a pseudo-random file
 * and can delay, reorder, shorten, fail (once, retryably, or for good) and
 * over-report subrequests. Every issue is recorded. FakeWriteOps is the write
 * side over the same server bytes (a growable Buffer).
 */
import type {
  NetfsReadOps,
  NetfsReadSubrequestView,
  NetfsWriteOps,
  NetfsWriteSubrequestView,
} from '../../netfs/index.js';

/** Deterministic pseudo-random bytes (xorshift32), fast enough for hundreds of MiB. */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.allocUnsafe(n);
  const words = Math.floor(n / 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i * 4);
  }
  for (let i = words * 4; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** A small seeded PRNG for test choices. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** How the fake answers one issue of a subrequest. */
export type FakeAction =
  | { kind: 'ok' } // serve the data (short at EOF)
  | { kind: 'short'; bytes: number } // serve only this many bytes, no eof
  | { kind: 'fail'; error: number; retryable?: boolean; transferred?: number }
  | { kind: 'too-much'; extra: number } // serve len bytes, report len + extra
  | { kind: 'hang' }; // never complete (until release())

/** When completions are delivered. */
export type FakeTiming =
  | 'sync' // inside issueRead
  | 'immediate' // on setImmediate, in issue order
  | 'reverse' // batched per tick, delivered in reverse order
  | 'random' // batched per tick, delivered in random order
  | 'timer'; // after a random 0–3 ms delay each

export interface IssueRecord {
  debugId: string;
  start: number;
  len: number;
  /** How many times this (start) had been issued before. */
  attempt: number;
}

export interface FakeOpsOptions {
  /** The server's file contents. */
  data: Buffer;
  rsize?: number;
  timing?: FakeTiming;
  seed?: number;
  /** Set eof on reads reaching the end of data (default true). */
  reportEof?: boolean;
  /** Decide the action per issue (default: ok). */
  action?: (sub: NetfsReadSubrequestView, attempt: number) => FakeAction;
}

/** The fake filesystem backend. */
export class FakeReadOps implements NetfsReadOps {
  data: Buffer;
  rsize: number;
  timing: FakeTiming;
  reportEof: boolean;
  action: (sub: NetfsReadSubrequestView, attempt: number) => FakeAction;
  readonly issued: IssueRecord[] = [];
  /** Bytes actually copied into chains. */
  bytesServed = 0;
  private readonly attempts = new Map<number, number>();
  private readonly hung: NetfsReadSubrequestView[] = [];
  private readonly deliverer: Deliverer;
  inFlight = 0;
  maxInFlight = 0;

  constructor(opts: FakeOpsOptions) {
    this.data = opts.data;
    this.rsize = opts.rsize ?? 1024 * 1024;
    this.timing = opts.timing ?? 'immediate';
    this.reportEof = opts.reportEof ?? true;
    this.action = opts.action ?? (() => ({ kind: 'ok' }));
    this.deliverer = new Deliverer(() => this.timing, rng(opts.seed ?? 1));
  }

  maxReadSize(): number {
    return this.rsize;
  }

  issueRead(sub: NetfsReadSubrequestView): void {
    const attempt = this.attempts.get(sub.start) ?? 0;
    this.attempts.set(sub.start, attempt + 1);
    this.issued.push({ debugId: sub.debugId, start: sub.start, len: sub.len, attempt });
    if (sub.len > this.rsize) throw new Error(`fake: ${sub.debugId} len ${sub.len} > rsize ${this.rsize}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const act = this.action(sub, attempt);
    if (act.kind === 'hang') {
      this.hung.push(sub);
      return;
    }
    this.deliverer.deliver(() => this.serve(sub, act));
  }

  /** Complete every hung subrequest normally. */
  release(): void {
    for (const sub of this.hung.splice(0)) this.deliverer.deliver(() => this.serve(sub, { kind: 'ok' }));
  }

  /** Total bytes asked of the server for issues whose start lies in [from, to). */
  issuedBytes(from = 0, to = Infinity): number {
    let n = 0;
    for (const r of this.issued) if (r.start >= from && r.start < to) n += r.len;
    return n;
  }

  /** Copy data into the subrequest's dest and complete it as `act` says. */
  private serve(sub: NetfsReadSubrequestView, act: FakeAction): void {
    this.inFlight--;
    const avail = Math.max(0, Math.min(sub.len, this.data.length - sub.start));
    const atEof = sub.start + sub.len >= this.data.length;
    switch (act.kind) {
      case 'fail': {
        const n = Math.min(act.transferred ?? 0, avail);
        this.bytesServed += sub.dest.copyIn(this.data, sub.start, n);
        return sub.complete({ transferred: n, error: act.error, retryable: act.retryable });
      }
      case 'too-much': {
        this.bytesServed += sub.dest.copyIn(this.data, sub.start, avail);
        return sub.complete({ transferred: sub.len + act.extra });
      }
      case 'short': {
        const n = Math.min(act.bytes, avail);
        this.bytesServed += sub.dest.copyIn(this.data, sub.start, n);
        return sub.complete({ transferred: n, eof: n === avail && atEof && this.reportEof });
      }
      default: {
        this.bytesServed += sub.dest.copyIn(this.data, sub.start, avail);
        return sub.complete({ transferred: avail, eof: atEof && this.reportEof });
      }
    }
  }
}

/** How the fake answers one issue of a write subrequest. */
export type FakeWriteAction =
  | { kind: 'ok' } // write all
  | { kind: 'short'; bytes: number } // write only this many bytes, no error
  | { kind: 'fail'; error: number; retryable?: boolean; transferred?: number }
  | { kind: 'too-much'; extra: number } // write len bytes, report len + extra
  | { kind: 'hang' }; // never complete (until release())

export interface FakeWriteOpsOptions {
  /** The server file: writes land in (and grow) server.data; share it with a FakeReadOps. */
  server: { data: Buffer };
  wsize?: number;
  timing?: FakeTiming;
  seed?: number;
  action?: (sub: NetfsWriteSubrequestView, attempt: number) => FakeWriteAction;
}

/**
 * The fake write backend. Bytes are taken from the subrequest's source and
 * put in the server file when the completion is delivered, so reordered
 * delivery is reordered arrival at the server.
 */
export class FakeWriteOps implements NetfsWriteOps {
  readonly server: { data: Buffer };
  wsize: number;
  timing: FakeTiming;
  action: (sub: NetfsWriteSubrequestView, attempt: number) => FakeWriteAction;
  readonly issued: IssueRecord[] = [];
  bytesWritten = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Issues whose range overlapped another write in flight (must stay 0). */
  overlaps = 0;
  private readonly live = new Set<NetfsWriteSubrequestView>();
  private readonly attempts = new Map<number, number>();
  private readonly hung: NetfsWriteSubrequestView[] = [];
  private readonly deliverer: Deliverer;

  constructor(opts: FakeWriteOpsOptions) {
    this.server = opts.server;
    this.wsize = opts.wsize ?? 1024 * 1024;
    this.timing = opts.timing ?? 'immediate';
    this.action = opts.action ?? (() => ({ kind: 'ok' }));
    this.deliverer = new Deliverer(() => this.timing, rng(opts.seed ?? 7));
  }

  maxWriteSize(): number {
    return this.wsize;
  }

  issueWrite(sub: NetfsWriteSubrequestView): void {
    const attempt = this.attempts.get(sub.start) ?? 0;
    this.attempts.set(sub.start, attempt + 1);
    this.issued.push({ debugId: sub.debugId, start: sub.start, len: sub.len, attempt });
    if (sub.len > this.wsize) throw new Error(`fake: ${sub.debugId} len ${sub.len} > wsize ${this.wsize}`);
    for (const o of this.live) if (o.start < sub.start + sub.len && sub.start < o.start + o.len) this.overlaps++;
    this.live.add(sub);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const act = this.action(sub, attempt);
    if (act.kind === 'hang') {
      this.hung.push(sub);
      return;
    }
    this.deliverer.deliver(() => this.serve(sub, act));
  }

  /** Complete every hung subrequest normally. */
  release(): void {
    for (const sub of this.hung.splice(0)) this.deliverer.deliver(() => this.serve(sub, { kind: 'ok' }));
  }

  /** The server's end of file moves to `n` (what the filesystem does on truncate). */
  truncate(n: number): void {
    const b = Buffer.alloc(n);
    this.server.data.copy(b, 0, 0, Math.min(n, this.server.data.length));
    this.server.data = b;
  }

  /** Put the first `n` bytes of the subrequest's source at its start in the server file. */
  private put(sub: NetfsWriteSubrequestView, n: number): void {
    const end = sub.start + n;
    if (end > this.server.data.length) {
      const b = Buffer.alloc(Math.max(end, Math.ceil(this.server.data.length * 1.5)));
      this.server.data.copy(b);
      // Keep the logical length exact: the buffer grows, the file is `end` long.
      this.server.data = b.subarray(0, end);
    }
    let at = sub.start;
    for (const v of sub.source.clone().slices(n)) {
      v.copy(this.server.data, at);
      at += v.length;
    }
    this.bytesWritten += n;
  }

  /** Apply the write as `act` says and complete it. */
  private serve(sub: NetfsWriteSubrequestView, act: FakeWriteAction): void {
    this.inFlight--;
    this.live.delete(sub);
    switch (act.kind) {
      case 'fail': {
        const n = Math.min(act.transferred ?? 0, sub.len);
        this.put(sub, n);
        return sub.complete({ transferred: n, error: act.error, retryable: act.retryable });
      }
      case 'too-much':
        this.put(sub, sub.len);
        return sub.complete({ transferred: sub.len + act.extra });
      case 'short': {
        const n = Math.min(act.bytes, sub.len);
        this.put(sub, n);
        return sub.complete({ transferred: n });
      }
      default:
        this.put(sub, sub.len);
        return sub.complete({ transferred: sub.len });
    }
  }
}

/** Runs completions according to a timing mode (shared by the fakes). */
class Deliverer {
  private readonly batch: (() => void)[] = [];
  private batchScheduled = false;

  constructor(
    private readonly timing: () => FakeTiming,
    private readonly random: () => number,
  ) {}

  deliver(fn: () => void): void {
    switch (this.timing()) {
      case 'sync':
        return fn();
      case 'immediate':
        setImmediate(fn);
        return;
      case 'timer':
        setTimeout(fn, Math.floor(this.random() * 4));
        return;
      default:
        this.batch.push(fn);
        if (!this.batchScheduled) {
          this.batchScheduled = true;
          setImmediate(() => this.flush());
        }
    }
  }

  private flush(): void {
    this.batchScheduled = false;
    const b = this.batch.splice(0);
    if (this.timing() === 'reverse') b.reverse();
    else {
      for (let i = b.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [b[i], b[j]] = [b[j]!, b[i]!];
      }
    }
    for (const fn of b) fn();
  }
}

/**
 * Per-connection statistics, like the Linux cifs client's per-mount Stats:
 * requests and errors per SMB2 command, bytes read and written, latency per
 * command in a fixed histogram, and the most requests in flight at once.
 *
 * The connection calls sent() when a request goes out and replied() or
 * failed() when it ends: a few array increments each, nothing allocated.
 * Latency is kept in quarter-octave buckets of microseconds (4 buckets per
 * power of two, so a percentile is exact to within 25%).
 *
 * Two diagnostics channels carry events, built only when someone listens:
 * 'smbfuse:smb' every finished request (the debug trace), and
 * 'smbfuse:smb-fault' only the failures a person may have to act on (error
 * statuses, timeouts, a lost connection).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { smb2CommandName } from './pdu/commands.js';
import { NtStatus, statusName } from './ntstatus.js';

/** Commands 0x00 (NEGOTIATE) to 0x12 (OPLOCK_BREAK). */
const COMMANDS = 0x13;
/** Buckets 0-3 hold 0-3 µs exactly; then 4 per octave up to 2^31 µs. */
const BUCKETS = 124;
const MAX_US = 2 ** 31 - 1;

/** Every finished request, when subscribed (the `debug` trace). */
export const smbTraceChannel = diagnosticsChannel.channel('smbfuse:smb');
/** Failures worth telling a person about: error statuses, timeouts, a lost connection. */
export const smbFaultChannel = diagnosticsChannel.channel('smbfuse:smb-fault');

/** Published on 'smbfuse:smb' and (for faults) 'smbfuse:smb-fault'. */
export interface SmbTraceEvent {
  command: number;
  messageId: bigint;
  /** NTSTATUS of the reply; undefined when none came (`failure` says why). */
  status?: number;
  /** 'timeout' | 'lost' when the request ended without a reply. */
  failure?: 'timeout' | 'lost';
  /** Milliseconds from send to reply or failure. */
  ms: number;
  /** For a lost connection: why it ended. */
  message?: string;
}

/** One command's figures in a snapshot; times in milliseconds. */
export interface SmbCommandStats {
  command: string;
  sent: number;
  /** Replies with an error status (severity error) and requests that got no reply. */
  errors: number;
  /** Replies timed (the latency figures are over these). */
  replies: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SmbStatsSnapshot {
  commands: SmbCommandStats[];
  total: Omit<SmbCommandStats, 'command'>;
  bytesRead: number;
  bytesWritten: number;
  timeouts: number;
  requestsInFlight: number;
  maxRequestsInFlight: number;
}

/**
 * An error reply: severity "error" (0xC...), except MORE_PROCESSING_REQUIRED,
 * which is a step of SESSION_SETUP. Warnings such as NO_MORE_FILES are answers.
 */
function isError(status: number): boolean {
  return status >>> 30 === 3 && status >>> 0 !== NtStatus.STATUS_MORE_PROCESSING_REQUIRED;
}

/** Bucket of a latency in µs. */
export function latencyBucket(us: number): number {
  const v = us < 0 ? 0 : us > MAX_US ? MAX_US : Math.floor(us);
  if (v < 4) return v;
  const e = 31 - Math.clz32(v);
  return (e - 1) * 4 + ((v >>> (e - 2)) & 3);
}

/** Smallest µs value past a bucket (its upper bound, exclusive). */
export function bucketUpperUs(b: number): number {
  if (b < 4) return b + 1;
  const e = Math.floor(b / 4) + 1;
  return ((4 + (b % 4)) << (e - 2)) + (1 << (e - 2));
}

export class SmbStats {
  private readonly sentCount = new Float64Array(COMMANDS);
  private readonly errorCount = new Float64Array(COMMANDS);
  private readonly replyCount = new Float64Array(COMMANDS);
  private readonly sumUs = new Float64Array(COMMANDS);
  private readonly maxUs = new Float64Array(COMMANDS);
  private readonly hist = new Float64Array(COMMANDS * BUCKETS);
  bytesRead = 0;
  bytesWritten = 0;
  timeouts = 0;
  private inFlight = 0;
  private maxInFlight = 0;

  /** A request went out; returns its start time for replied()/failed(). */
  sent(command: number): number {
    if (command < COMMANDS) this.sentCount[command]!++;
    if (++this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    return performance.now();
  }

  /** Its reply arrived with `status`. */
  replied(command: number, messageId: bigint, status: number, startedAt: number): void {
    this.inFlight--;
    const ms = performance.now() - startedAt;
    if (command < COMMANDS) {
      const us = ms * 1000;
      this.replyCount[command]!++;
      this.sumUs[command]! += us;
      if (us > this.maxUs[command]!) this.maxUs[command] = us;
      this.hist[command * BUCKETS + latencyBucket(us)]!++;
      if (isError(status)) this.errorCount[command]!++;
    }
    if (smbTraceChannel.hasSubscribers) smbTraceChannel.publish({ command, messageId, status, ms } satisfies SmbTraceEvent);
    if (isError(status) && smbFaultChannel.hasSubscribers) smbFaultChannel.publish({ command, messageId, status, ms } satisfies SmbTraceEvent);
  }

  /** It was taken off the wire by a reconnect, to be sent again (sent() counts it again then). */
  requeued(): void {
    this.inFlight--;
  }

  /** It ended without a reply: timed out, or the connection was lost (`message` says why). */
  failed(command: number, messageId: bigint, failure: 'timeout' | 'lost', startedAt: number, message?: string): void {
    this.inFlight--;
    if (command < COMMANDS) this.errorCount[command]!++;
    if (failure === 'timeout') this.timeouts++;
    const ev: SmbTraceEvent = { command, messageId, failure, ms: performance.now() - startedAt, ...(message ? { message } : {}) };
    if (smbTraceChannel.hasSubscribers) smbTraceChannel.publish(ev);
    if (smbFaultChannel.hasSubscribers) smbFaultChannel.publish(ev);
  }

  snapshot(): SmbStatsSnapshot {
    const commands: SmbCommandStats[] = [];
    const allHist = new Float64Array(BUCKETS);
    const total = { sent: 0, errors: 0, replies: 0, sumUs: 0, maxUs: 0 };
    for (let c = 0; c < COMMANDS; c++) {
      const sent = this.sentCount[c]!;
      if (sent === 0) continue;
      const h = this.hist.subarray(c * BUCKETS, (c + 1) * BUCKETS);
      for (let b = 0; b < BUCKETS; b++) allHist[b]! += h[b]!;
      total.sent += sent;
      total.errors += this.errorCount[c]!;
      total.replies += this.replyCount[c]!;
      total.sumUs += this.sumUs[c]!;
      total.maxUs = Math.max(total.maxUs, this.maxUs[c]!);
      commands.push({ command: smb2CommandName(c), ...figures(sent, this.errorCount[c]!, this.replyCount[c]!, this.sumUs[c]!, this.maxUs[c]!, h) });
    }
    return {
      commands,
      total: figures(total.sent, total.errors, total.replies, total.sumUs, total.maxUs, allHist),
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      timeouts: this.timeouts,
      requestsInFlight: this.inFlight,
      maxRequestsInFlight: this.maxInFlight,
    };
  }
}

function figures(sent: number, errors: number, replies: number, sumUs: number, maxUs: number, h: Float64Array): Omit<SmbCommandStats, 'command'> {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    sent,
    errors,
    replies,
    meanMs: replies ? ms(sumUs / replies) : 0,
    p50Ms: ms(Math.min(percentileUs(h, replies, 0.5), maxUs)),
    p90Ms: ms(Math.min(percentileUs(h, replies, 0.9), maxUs)),
    p99Ms: ms(Math.min(percentileUs(h, replies, 0.99), maxUs)),
    maxMs: ms(maxUs),
  };
}

/** Upper bound (µs) of the bucket holding the q-th quantile of `n` samples; 0 without samples. */
export function percentileUs(h: Float64Array, n: number, q: number): number {
  if (n === 0) return 0;
  const rank = Math.ceil(q * n);
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    seen += h[b]!;
    if (seen >= rank) return bucketUpperUs(b);
  }
  return bucketUpperUs(h.length - 1);
}

/** '<STATUS_NAME>' of a trace event, or why it has none. */
export function describeOutcome(ev: SmbTraceEvent): string {
  if (ev.failure === 'timeout') return 'no reply (timed out)';
  if (ev.failure === 'lost') return `no reply (connection lost${ev.message ? `: ${ev.message}` : ''})`;
  return statusName(ev.status! >>> 0);
}

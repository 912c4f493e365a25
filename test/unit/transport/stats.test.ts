/**
 * transport/stats.ts: the latency buckets (quarter octaves of µs), the
 * percentiles read from them, and the per-command counts and errors a
 * snapshot reports. Times are driven through performance.now().
 */
import t from 'tap';
import { bucketUpperUs, latencyBucket, percentileUs, SmbStats, smbFaultChannel, type SmbTraceEvent } from '../../../transport/stats.js';
import { NtStatus } from '../../../transport/ntstatus.js';
import { Smb2Command } from '../../../transport/pdu/commands.js';

t.test('every value falls in a bucket whose bounds hold it, within 25%', async (t) => {
  let prev = -1;
  for (let us = 0; us < 5_000_000; us = us < 64 ? us + 1 : Math.ceil(us * 1.07)) {
    const b = latencyBucket(us);
    t.ok(b >= prev, 'buckets do not go down as values go up');
    prev = b;
    const upper = bucketUpperUs(b);
    const lower = b === 0 ? 0 : bucketUpperUs(b - 1);
    if (!(lower <= us && us < upper)) t.fail(`${us} µs in bucket ${b} [${lower}, ${upper})`);
    if (us >= 4 && upper - lower > us / 4 + 1) t.fail(`bucket ${b} too wide for ${us}`);
  }
  t.equal(latencyBucket(2 ** 40), latencyBucket(2 ** 31 - 1), 'huge values land in the last bucket');
  t.ok(latencyBucket(2 ** 31 - 1) < 124, 'within the fixed array');
  t.equal(latencyBucket(-5), 0);
});

t.test('percentiles from a histogram', async (t) => {
  const h = new Float64Array(124);
  for (let i = 0; i < 99; i++) h[latencyBucket(100)]!++;
  h[latencyBucket(10_000)]!++;
  t.equal(percentileUs(h, 100, 0.5), bucketUpperUs(latencyBucket(100)));
  t.equal(percentileUs(h, 100, 0.99), bucketUpperUs(latencyBucket(100)), '99 of 100 are fast');
  t.equal(percentileUs(h, 100, 1), bucketUpperUs(latencyBucket(10_000)));
  t.equal(percentileUs(h, 0, 0.5), 0, 'no samples: 0');
});

t.test('counts, errors, bytes and latency per command', async (t) => {
  const s = new SmbStats();
  const faults: SmbTraceEvent[] = [];
  const sub = (m: unknown) => faults.push(m as SmbTraceEvent);
  smbFaultChannel.subscribe(sub);
  t.teardown(() => smbFaultChannel.unsubscribe(sub));
  const wall0 = performance.now();
  const t0 = s.sent(Smb2Command.CREATE);
  const t1 = s.sent(Smb2Command.CREATE);
  const t2 = s.sent(Smb2Command.QUERY_DIRECTORY);
  const t3 = s.sent(Smb2Command.READ);
  const t4 = s.sent(Smb2Command.SESSION_SETUP);
  t.equal(s.snapshot().requestsInFlight, 5);
  s.replied(Smb2Command.CREATE, 1n, NtStatus.STATUS_SUCCESS, t0);
  s.replied(Smb2Command.CREATE, 2n, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, t1 - 5); // 5 ms earlier
  s.replied(Smb2Command.QUERY_DIRECTORY, 3n, NtStatus.STATUS_NO_MORE_FILES, t2);
  s.failed(Smb2Command.READ, 4n, 'timeout', t3);
  s.replied(Smb2Command.SESSION_SETUP, 5n, NtStatus.STATUS_MORE_PROCESSING_REQUIRED, t4);
  const elapsed = performance.now() - wall0; // what a busy machine adds to the 5 ms
  const snap = s.snapshot();
  const create = snap.commands.find((c) => c.command === 'CREATE')!;
  t.equal(create.sent, 2);
  t.equal(create.errors, 1, 'an error status counts');
  t.ok(create.maxMs >= 5 && create.maxMs < 5 + elapsed + 1, `max ${create.maxMs} (5 ms and the ${elapsed.toFixed(1)} ms the test took)`);
  t.ok(create.p99Ms >= create.p50Ms && create.p99Ms <= create.maxMs, 'percentiles bounded by the max');
  t.equal(snap.commands.find((c) => c.command === 'QUERY_DIRECTORY')!.errors, 0, 'a warning (NO_MORE_FILES) is an answer');
  const read = snap.commands.find((c) => c.command === 'READ')!;
  t.same([read.sent, read.errors, read.replies], [1, 1, 0], 'a timeout is an error without a latency');
  t.equal(snap.timeouts, 1);
  t.equal(snap.commands.find((c) => c.command === 'SESSION_SETUP')!.errors, 0, 'MORE_PROCESSING_REQUIRED is a step, not an error');
  t.same([snap.total.sent, snap.total.errors, snap.requestsInFlight, snap.maxRequestsInFlight], [5, 2, 0, 5]);
  t.notOk(snap.commands.some((c) => c.command === 'WRITE'), 'commands never sent are left out');
  t.same(faults.map((f) => f.status ?? f.failure), [NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, 'timeout'], 'faults published: errors and timeouts only');
});

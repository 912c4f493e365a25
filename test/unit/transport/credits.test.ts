/**
 * Credits: FIFO waiting, deadlines on every wait, and the starvation rule (a
 * charge larger than the credits in hand with nothing in flight fails at once,
 * since no reply can bring more).
 */
import t from 'tap';
import { Credits } from '../../../transport/credits.js';
import { SmbProtocolError, SmbTimeoutError } from '../../../transport/errors.js';

// Credit timers are unref'd (a socket keeps a real process alive); keep this one alive.
const keepAlive = setInterval(() => {}, 1000);
t.teardown(() => clearInterval(keepAlive));

t.test('message ids follow the charges; waiters are served in order', async (t) => {
  const c = new Credits();
  t.equal(await c.acquire(1), 0n);
  c.grant(2);
  const order: string[] = [];
  const big = c.acquire(4).then((mid) => order.push(`big@${mid}`));
  const small = c.acquire(1).then((mid) => order.push(`small@${mid}`));
  await new Promise((r) => setImmediate(r));
  t.same(order, [], 'a small request does not overtake a waiting big one');
  c.grant(3);
  await Promise.all([big, small]);
  t.same(order, ['big@1', 'small@5']);
});

t.test('a wait for credits ends at its deadline', async (t) => {
  const c = new Credits();
  await c.acquire(1); // one in flight, none left
  const started = Date.now();
  const err = await c.acquire(2, { timeoutMs: 50 }).catch((e: unknown) => e);
  t.ok(err instanceof SmbTimeoutError, 'SmbTimeoutError');
  t.ok(Date.now() - started < 2000, 'within the deadline');
  c.grant(1);
  c.settle(1);
  t.equal(c.available, 1);
  t.equal(await c.acquire(1), 1n, 'the timed-out waiter took nothing');
});

t.test('a timed-out head lets the waiters behind it go', async (t) => {
  const c = new Credits();
  await c.acquire(1);
  c.grant(1); // 1 in hand, 1 in flight
  const head = c.acquire(3, { timeoutMs: 30 }).catch((e: unknown) => e);
  const behind = c.acquire(1, { timeoutMs: 5000 });
  t.ok((await head) instanceof SmbTimeoutError);
  t.equal(await behind, 1n);
});

t.test('starvation: nothing in flight and too few credits fails at once', async (t) => {
  const c = new Credits();
  const err = await c.acquire(3).catch((e: unknown) => e);
  t.ok(err instanceof SmbProtocolError);
  t.match((err as Error).message, /too few credits: a request needs 3, 1 granted and none in flight/);
  t.equal(await c.acquire(1), 0n, 'a request that fits still goes');
});

t.test('starvation found when the last reply settles without granting enough', async (t) => {
  const c = new Credits();
  await c.acquire(1); // in flight
  const waiting = c.acquire(3).catch((e: unknown) => e);
  const echo = c.acquire(1);
  c.grant(1); // the reply grants back only what it cost
  c.settle(1);
  t.ok((await waiting) instanceof SmbProtocolError, 'the compound that can never fit fails');
  t.equal(await echo, 1n, 'the one behind it goes');
});

t.test('urgent requests go ahead of the queue when credits are in hand', async (t) => {
  const c = new Credits();
  c.grant(1); // 2 in hand
  await c.acquire(1);
  const bulk = c.acquire(4, { timeoutMs: 1000 }).catch((e: unknown) => e);
  t.equal(await c.acquire(1, { urgent: true }), 1n, 'ECHO did not wait behind the bulk request');
  c.grant(4);
  c.settle(2);
  t.equal(await bulk, 2n);
});

t.test('failAll rejects every waiter and clears their timers', async (t) => {
  const c = new Credits();
  await c.acquire(1);
  const a = c.acquire(2, { timeoutMs: 60000 }).catch((e: unknown) => (e as Error).message);
  c.failAll(new Error('gone'));
  t.equal(await a, 'gone');
});

/**
 * Reconnect through the fault proxy (scripts/fault-proxy-lib.mjs) between
 * the mount and the real Samba:
 *  - a 256 MiB `dd` write and a 256 MiB `cp` read, each while the proxy cuts
 *    the connection three times: both finish and the checksums match;
 *  - first, a file held open with no write in flight is taken back after a
 *    cut as a durable handle (cut mid-stream, Samba does not always keep it);
 *  - an idle mount whose connection stalls longer than the ECHO bound
 *    (echo_interval=1): the dead connection is replaced and `ls` works;
 *  - the time from a cut to the first successful call, printed.
 * Every wait is bounded; the mount is unmounted and the proxy closed in teardown.
 */
import t from 'tap';
import { open, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { makeMountPoint, runCli, unmount } from '../helpers/mount.js';
import { freshShareDir, localTempDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const MiB = 1024 * 1024;
const SIZE_MB = 256;

const samba = await startSamba();
t.teardown(() => samba.stop());
const serverDir = await freshShareDir(t, samba.sharePath, 'reconnect-proxy');
const tmp = await localTempDir(t, 'smbfuse-reconnect-');
const proxy = await startFaultProxy({ host: samba.host, port: samba.port });
t.teardown(() => proxy.close());

// Made before the first assertion: tap ends a root test that asserts and then idles.
const src = path.join(tmp, 'src.bin');
const made = await sh(`head -c ${SIZE_MB * MiB} /dev/urandom > ${q(src)} && sha256sum < ${q(src)}`);
const srcSum = made.stdout.split(' ')[0]!;

const mnt = await makeMountPoint();
t.teardown(() => unmount(mnt));
const logFile = path.join(tmp, 'mount.log');
const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, 'echo_interval=1', `log_file=${logFile}`].join(',');
const mounted = await runCli([`//127.0.0.1/test`, mnt, '-o', opts]);
t.equal(mounted.code, 0, `mounted: ${mounted.stderr}`);
const dir = path.join(mnt, 'reconnect-proxy');
t.equal(made.code, 0, 'source file made');


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (at most `ms`) until `cond` holds; whether it did. */
async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(20);
  }
  return cond();
}

/**
 * Cut the proxy's connections three times while `job` runs, each once
 * another `stepMB` have crossed it in direction `dir`. Resolves with the
 * number of cuts made.
 */
async function cutThrice(job: Promise<unknown>, dir: 'toServer' | 'toClient', stepMB: number): Promise<number> {
  let done = false;
  void job.finally(() => (done = true));
  let cuts = 0;
  while (!done && cuts < 3) {
    const next = proxy.stats.bytes[dir] + stepMB * MiB;
    await until(() => done || proxy.stats.bytes[dir] >= next, 120_000);
    if (done) break;
    proxy.cut();
    cuts++;
  }
  return cuts;
}

// First, while no other handle is open or held (closetimeo): the previous steps'
// files, cut mid-stream, are not always kept durable by Samba and would be reopened.
t.test('a file held open across a cut, no write in flight: taken back as a durable handle', async (t) => {
  const f = path.join(dir, 'held.txt');
  const logged = (await readFile(logFile, 'utf8')).length;
  const fh = await open(f, 'w');
  try {
    await fh.write('before the cut\n');
    await fh.sync(); // on the server, nothing in flight
    proxy.cut();
    const line = async () => (await readFile(logFile, 'utf8')).slice(logged).split('\n').find((l) => /reconnected to/.test(l));
    t.ok(await until(async () => (await line()) !== undefined, 20_000), 'reconnected');
    const l = (await line()) ?? '';
    t.comment(l);
    t.match(l, /open files: 1 reclaimed, 0 reopened, 0 lost/, 'the open file was taken back as a durable handle');
    await fh.write('after the cut\n');
  } finally {
    await fh.close();
  }
  t.equal(await readFile(path.join(serverDir, 'held.txt'), 'utf8'), 'before the cut\nafter the cut\n', 'both writes on the server, through the one handle');
});

t.test('256 MiB dd write survives three cuts', async (t) => {
  const dst = path.join(dir, 'written.bin');
  const logged = (await readFile(logFile, 'utf8')).length;
  const job = sh(`dd if=${q(src)} of=${q(dst)} bs=1M conv=fsync 2>&1`, { timeoutMs: 240_000 });
  const cuts = await cutThrice(job, 'toServer', 56);
  const r = await job;
  t.equal(cuts, 3, 'the connection was cut three times during the write');
  // On failure, all dd said and what the mount logged besides its reconnects.
  const said = r.code === 0 ? r.stdout.trim().split('\n').pop() : `${r.stdout.trim()}\n${(await readFile(logFile, 'utf8')).slice(logged)}`;
  t.equal(r.code, 0, `dd finished (${r.ms} ms): ${said}`);
  const sum = await sh(`sha256sum < ${q(path.join(serverDir, 'written.bin'))}`);
  t.equal(sum.stdout.split(' ')[0], srcSum, 'the server holds exactly the source bytes');
  const reconnects = (await readFile(logFile, 'utf8')).slice(logged).split('\n').filter((l) => /reconnected to|handle was lost/.test(l));
  t.comment(reconnects.join('\n'));
  // Cut in the middle of a stream of writes, Samba does not always keep the
  // open durable (seen: none of three taken back), and then it is opened
  // afresh. Either way nothing may be lost; the reclaim itself is the previous step's.
  t.equal(reconnects.length, 3, 'three reconnects');
  t.ok(reconnects.every((l) => /open files: \d+ reclaimed, \d+ reopened, 0 lost/.test(l)), 'no open file lost');
});

t.test('256 MiB cp read survives three cuts', async (t) => {
  await sh(`cp ${q(src)} ${q(path.join(serverDir, 'served.bin'))}`);
  const out = path.join(tmp, 'read-back.bin');
  const job = sh(`cp ${q(path.join(dir, 'served.bin'))} ${q(out)}`, { timeoutMs: 240_000 });
  const cuts = await cutThrice(job, 'toClient', 56);
  const r = await job;
  t.equal(cuts, 3, 'the connection was cut three times during the read');
  t.equal(r.code, 0, `cp finished (${r.ms} ms) ${r.stdout}${r.stdout}`);
  const sum = await sh(`sha256sum < ${q(out)}`);
  t.equal(sum.stdout.split(' ')[0], srcSum, 'the copy read back matches the source');
  await sh(`rm -f ${q(out)}`);
});

t.test('time from a cut to the first successful call', async (t) => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    // A name the mount has never seen: its lookup must reach the server.
    await writeFile(path.join(serverDir, `probe${i}`), `probe ${i}\n`);
    await sleep(200);
    proxy.cut();
    const t0 = Date.now();
    const text = await readFile(path.join(dir, `probe${i}`), 'utf8');
    times.push(Date.now() - t0);
    t.equal(text, `probe ${i}\n`, `read after cut ${i}`);
  }
  t.comment(`reconnect time (cut to first successful read): ${times.join(' ms, ')} ms`);
  t.ok(Math.max(...times) < 10_000, 'each within 10 s');
});

t.test('a stall longer than the ECHO bound is detected and the connection replaced', async (t) => {
  await writeFile(path.join(serverDir, 'after-stall'), 'x');
  await sleep(1500); // idle
  const before = proxy.stats.connections;
  proxy.stall(true);
  const t0 = Date.now();
  // echo_interval=1: a probe after 1 s of quiet, dead 2 s after the probe; the client dials again.
  const replaced = await until(() => proxy.stats.connections > before, 15_000);
  const detectMs = Date.now() - t0;
  proxy.stall(false);
  t.ok(replaced, `a new connection was made (${detectMs} ms after the stall began)`);
  t.ok(detectMs < 8000, 'within a few ECHO intervals');
  const ls = await sh(`ls ${q(dir)}`, { timeoutMs: 30_000 });
  t.equal(ls.code, 0, 'ls succeeds');
  t.match(ls.stdout, /after-stall/, 'and lists the share');
  t.comment(`stall detected and replaced in ${detectMs} ms; ls took ${ls.ms} ms after`);
  const log = await readFile(logFile, 'utf8');
  t.match(log, /did not answer ECHO/, 'the log says why the connection was dropped');
  t.match(log, /reconnected to 127\.0\.0\.1:\d+ after \d+ ms/, 'and that it reconnected');
  t.notOk(log.includes(samba.pass), 'no password in the log');
});

/**
 * A server that keeps the client short of credits, played by a proxy that
 * rewrites CreditResponse in Samba's replies, through the CLI mount (SMB 2.1:
 * multi-credit, and no reply is signed unasked, so the rewrite stays valid):
 *  - stingy: every reply grants exactly what its request cost, with the
 *    client held at 3 credits: READs, WRITEs and listings are cut to the
 *    credits in hand, compounds wait their turn, and a copy in and out of the
 *    mount keeps its checksum; unmount is prompt;
 *  - held at 1 credit: a compound can never be sent, so the call fails at
 *    once (EIO) instead of waiting;
 *  - drained: after the mount, replies grant nothing: once the client's
 *    credits are spent, calls fail within the timeout instead of hanging,
 *    and `fusermount -u` still ends the daemon promptly.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isMounted, mountShare, unmount } from '../helpers/mount.js';
import { startProxy, type FrameHook } from '../helpers/proxy.js';
import { freshShareDir, localTempDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'credits';
const base = await freshShareDir(t, samba.sharePath, dirName);
const content = randomBytes(4 * 1024 * 1024 + 12345);
await writeFile(path.join(base, 'big.bin'), content);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FLAG_ASYNC = 0x2;
const FLAG_SIGNED = 0x8;
const STATUS_PENDING = 0x103;

/**
 * A toClient hook that plays a server holding the client's credit window
 * (credits in hand plus in flight) at `target()`: each reply grants what
 * brings the window back to the target. The proxy follows the window from
 * what replies grant and what their requests cost. Signed replies (the final
 * SESSION_SETUP) cannot be edited; what they grant beyond the target is
 * taken back by the replies after them.
 */
function windowKeeper(target: () => number): { hook: FrameHook; window: () => number } {
  let window = 1;
  const hook: FrameHook = (frame) => {
    for (let off = 0; off + 64 <= frame.length; ) {
      if (frame.readUInt32BE(off) !== 0xfe534d42) return;
      const flags = frame.readUInt32LE(off + 16);
      const interim = (flags & FLAG_ASYNC) !== 0 && frame.readUInt32LE(off + 8) === STATUS_PENDING;
      const cost = interim ? 0 : Math.max(1, frame.readUInt16LE(off + 6));
      let grant = interim ? 0 : Math.max(0, target() - window + cost);
      if ((flags & FLAG_SIGNED) !== 0) grant = frame.readUInt16LE(off + 14);
      else frame.writeUInt16LE(grant, off + 14);
      window += grant - cost;
      const next = frame.readUInt32LE(off + 20);
      if (next === 0) return;
      off += next;
    }
  };
  return { hook, window: () => window };
}

/** stat `file` (actimeo=0: each is a round trip) until the proxy sees the window at `n`; bounded. */
async function settle(keeper: { window: () => number }, file: string, n: number): Promise<boolean> {
  for (let i = 0; i < 3000 && keeper.window() > n; i++) await run('stat', [file], { timeout: 20000 }).catch(() => {});
  return keeper.window() === n;
}

async function proxiedSamba(hook: FrameHook) {
  const proxy = await startProxy({ host: samba.host, port: samba.port, toClient: hook });
  t.teardown(() => proxy.close());
  return { ...samba, port: proxy.port };
}

/** Unmount and measure how long the daemon took to go. */
async function timedUnmount(mnt: string): Promise<number> {
  const t0 = Date.now();
  await unmount(mnt);
  return Date.now() - t0;
}

t.test('stingy server (holds the client at 3 credits): copies keep their checksums, listings work, unmount is prompt', async (t) => {
  const keeper = windowKeeper(() => 3);
  const server = await proxiedSamba(keeper.hook);
  const mnt = await mountShare(server, 'test', ['vers=2.1', 'timeout=10', 'actimeo=0']);
  t.teardown(() => unmount(mnt));
  const file = path.join(mnt, dirName, 'big.bin');
  t.ok(await settle(keeper, file, 3), 'the client is down to 3 credits');
  const local = path.join(await localTempDir(t, 'smbfuse-credits-'), 'copy.bin');
  await run('cp', [file, local], { timeout: 60000 });
  t.equal(sha(await readFile(local)), sha(content), 'a 4 MiB copy out of the mount has the right checksum');
  await run('cp', [local, path.join(mnt, dirName, 'back.bin')], { timeout: 60000 });
  t.equal(sha(await readFile(path.join(base, 'back.bin'))), sha(content), 'a copy into the mount reaches the server intact');
  const { stdout } = await run('ls', ['-l', path.join(mnt, dirName)], { timeout: 20000 });
  t.match(stdout, /big\.bin/, 'ls -l works (compounds wait for their credits)');
  t.equal(keeper.window(), 3, 'and the window stayed at 3');
  const ms = await timedUnmount(mnt);
  t.ok(ms < 15000, `unmount took ${ms} ms`);
  t.notOk(await isMounted(mnt), 'nothing left mounted');
});

t.test('a server that holds the client at one credit: calls that need more fail at once, unmount is prompt', async (t) => {
  const keeper = windowKeeper(() => 1);
  const server = await proxiedSamba(keeper.hook);
  const mnt = await mountShare(server, 'test', ['vers=2.1', 'timeout=5', 'actimeo=0']);
  t.teardown(() => unmount(mnt));
  const file = path.join(mnt, dirName, 'big.bin');
  await settle(keeper, file, 1);
  t.equal(keeper.window(), 1, 'the client is down to 1 credit');
  const t0 = Date.now();
  const e = await run('stat', [file], { timeout: 30000 }).then(() => null, (err: Error & { stderr?: string }) => err);
  t.ok(e, 'a stat (a compound of 3) fails');
  t.match(String(e?.stderr), /Input\/output error/, 'with EIO');
  t.ok(Date.now() - t0 < 5000, `at once (${Date.now() - t0} ms), not after a timeout`);
  const ms = await timedUnmount(mnt);
  t.ok(ms < 15000, `unmount took ${ms} ms`);
  t.notOk(await isMounted(mnt), 'nothing left mounted');
});

t.test('drained server (no credits at all after the mount): calls fail in bounded time, unmount ends the daemon', async (t) => {
  let drained = false;
  const keeper = windowKeeper(() => (drained ? 0 : 64));
  const server = await proxiedSamba(keeper.hook);
  const mnt = await mountShare(server, 'test', ['vers=2.1', 'timeout=5', 'cache=none', 'actimeo=0']);
  t.teardown(() => unmount(mnt));
  drained = true;
  const file = path.join(mnt, dirName, 'big.bin');
  let failedAfter = -1;
  let slowest = 0;
  for (let i = 0; i < 200 && failedAfter < 0; i++) {
    const t0 = Date.now();
    const r = await run('cat', [file], { timeout: 30000, encoding: 'buffer', maxBuffer: 64 << 20 }).then(
      () => null,
      (e: Error & { stderr?: Buffer }) => e,
    );
    slowest = Math.max(slowest, Date.now() - t0);
    if (r) {
      failedAfter = i;
      t.match(String(r.stderr), /Input\/output error/, `the call fails with EIO: ${String(r.stderr).trim()}`);
    }
  }
  t.ok(failedAfter >= 0, `a read fails once the credits are spent (after ${failedAfter} whole reads)`);
  t.equal(keeper.window(), 0, 'the client has no credits left');
  t.ok(slowest < 15000, `no call waited past the timeout (slowest ${slowest} ms)`);
  const t0 = Date.now();
  const st = await run('ls', [mnt], { timeout: 30000 }).then(() => 'ok', () => 'failed');
  t.ok(Date.now() - t0 < 15000, `a listing returns (${st}) within the bound`);
  const ms = await timedUnmount(mnt);
  t.ok(ms < 15000, `unmount took ${ms} ms`);
  t.notOk(await isMounted(mnt), 'nothing left mounted');
});

/**
 * Shutdown against a server that stopped answering (a proxy that swallows
 * every reply), with data written through the mount and not yet on the
 * server (a process keeps the file open so nothing flushes it first):
 *  - the mount detached (`fusermount -uz`): the daemon serves the file still
 *    open; at SIGTERM it gives up writing back after two request timeouts,
 *    says how many bytes were lost, exits 1;
 *  - SIGTERM, then SIGTERM again during the write-back: the daemon stops at
 *    once, saying how many bytes were not written back.
 * Foreground mounts (-f), so the daemon's stderr is the test's to read.
 */
import t from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cliPath, isMounted, makeMountPoint } from '../helpers/mount.js';
import { startStallingProxy } from '../helpers/proxy.js';
import { freshShareDir, holdWritten } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'shutdown';
await freshShareDir(t, samba.sharePath, dirName);

const TIMEOUT_S = 3;

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

/** Mount in the foreground through a proxy that swallows every reply once `stall()` is called. */
async function mountStallable(mnt: string): Promise<{ daemon: Daemon; stall: () => void }> {
  const { proxy, stall } = await startStallingProxy(samba);
  t.teardown(() => proxy.close());
  const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, `timeout=${TIMEOUT_S}`, 'echo_interval=0'].join(',');
  const child = spawn(process.execPath, [cliPath, `//${samba.host}/test`, mnt, '-f', '-o', opts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; at: number }>((res) => child.on('exit', (code) => res({ code, at: Date.now() })));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  for (let i = 0; i < 200 && !(await isMounted(mnt)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await isMounted(mnt))) throw new Error(`foreground mount did not come up: ${err}`);
  return { daemon: { child, stderr: () => err, exited }, stall };
}


t.test('server gone at unmount: write-back gives up after two timeouts and reports the loss', async (t) => {
  const mnt = await makeMountPoint();
  const { daemon, stall } = await mountStallable(mnt);
  await holdWritten(t, path.join(mnt, dirName, 'lost.bin'), 1 << 20);
  stall();
  await run('fusermount', ['-uz', mnt]);
  // Detached with the file still open: the daemon serves it until it is
  // closed, or until SIGTERM ends the wait.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(daemon.child.exitCode, null, 'the daemon waits for the open file');
  const t0 = Date.now();
  daemon.child.kill('SIGTERM');
  const { code, at } = await daemon.exited;
  t.equal(code, 1, 'the daemon exits 1');
  t.ok(at - t0 < (2 * TIMEOUT_S + 6) * 1000, `within the bound (${at - t0} ms)`);
  t.match(daemon.stderr(), /could not write back 1048576 bytes within 6 s \(server gone or not answering\); they are lost/);
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
});

t.test('SIGTERM during a write-back that cannot finish: a second SIGTERM stops at once', async (t) => {
  const mnt = await makeMountPoint();
  const { daemon, stall } = await mountStallable(mnt);
  await holdWritten(t, path.join(mnt, dirName, 'stopped.bin'), 1 << 20);
  stall();
  daemon.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(daemon.child.exitCode, null, 'the first SIGTERM starts a write-back that is still waiting');
  const t0 = Date.now();
  daemon.child.kill('SIGTERM');
  const { code, at } = await daemon.exited;
  t.equal(code, 1, 'the daemon exits 1');
  t.ok(at - t0 < 2000, `at once (${at - t0} ms)`);
  t.match(daemon.stderr(), /SIGTERM again: stopping now; 1048576 bytes written through the mount were not written back/);
  await run('fusermount', ['-uz', mnt]).catch(() => {});
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
});

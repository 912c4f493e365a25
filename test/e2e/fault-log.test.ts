/**
 * Failures a person can act on are logged once with what to do, not once per
 * call (issue 12, item 3), seen in the `log_file=` of a background mount
 * that goes through a tampering proxy:
 *  - WRITE replies turned into STATUS_DISK_FULL: one "disk is full" line for
 *    several failed writes, and one more only after a write has succeeded;
 *  - replies swallowed (timeout=2): one "did not answer" line for several
 *    timed-out calls;
 *  - the connection cut (soft mount, the proxy gone): one "connection … lost;
 *    reconnecting" line for every call after, each failing with EIO.
 */
import t from 'tap';
import { open, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { NtStatus } from '../../transport/ntstatus.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { makeMountPoint, runCli, unmount } from '../helpers/mount.js';
import { frameHeader, startProxy } from '../helpers/proxy.js';
import { freshShareDir, localTempDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'fault-log';
await freshShareDir(t, samba.sharePath, dirName);
const tmp = await localTempDir(t, 'smbfuse-faultlog-');

let mode: 'pass' | 'full' | 'silent' = 'pass';
const proxy = await startProxy({
  host: samba.host,
  port: samba.port,
  toClient: (frame) => {
    const h = frameHeader(frame);
    if (!h) return undefined;
    if (mode === 'silent') return 'drop';
    if (mode === 'full' && h.command === Smb2Command.WRITE && h.status === NtStatus.STATUS_SUCCESS) frame.writeUInt32LE(NtStatus.STATUS_DISK_FULL, 8);
    return undefined;
  },
});
t.teardown(() => proxy.close());

const mnt = await makeMountPoint();
t.teardown(() => unmount(mnt));
const logFile = path.join(tmp, 'mount.log');
// soft: once the proxy is gone, calls fail (EIO) after retrans_timeout instead of waiting for the server.
const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, 'timeout=2', 'echo_interval=0', 'soft', 'retrans_timeout=1', `log_file=${logFile}`].join(',');
const mounted = await runCli([`//${samba.host}/test`, mnt, '-o', opts]);
t.equal(mounted.code, 0, `mounted: ${mounted.stderr}`);
const dir = path.join(mnt, dirName);

/** Write and fsync a file; the error code, or 'ok'. */
async function writeSynced(name: string): Promise<string> {
  try {
    const fh = await open(path.join(dir, name), 'w');
    try {
      await fh.write(Buffer.alloc(8192, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

const lines = async (re: RegExp) => (await readFile(logFile, 'utf8')).split('\n').filter((l) => re.test(l));

t.test('disk full on the server', async (t) => {
  mode = 'full';
  for (let i = 0; i < 3; i++) t.equal(await writeSynced(`full${i}`), 'ENOSPC', `write ${i} fails with ENOSPC`);
  const full = /the server's disk is full \(STATUS_DISK_FULL on WRITE\); writes fail with ENOSPC until space is freed on the server/;
  t.equal((await lines(full)).length, 1, 'logged once for three failed writes');
  mode = 'pass';
  t.equal(await writeSynced('fine'), 'ok');
  mode = 'full';
  t.equal(await writeSynced('full-again'), 'ENOSPC');
  t.equal((await lines(full)).length, 2, 'logged again after a write succeeded in between');
  t.match((await lines(full))[0], / smbfuse\[\d+\] err: \/\/127\.0\.0\.1\/test: /, 'an error-level line naming the share');
  mode = 'pass';
});

t.test('server not answering', async (t) => {
  mode = 'silent';
  for (let i = 0; i < 3; i++) {
    const code = await stat(path.join(dir, `silent${i}`)).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    t.equal(code, 'ETIMEDOUT', `call ${i} times out`);
  }
  const silent = /server 127\.0\.0\.1:\d+ did not answer [A-Z_]+ within 2 s; calls fail with ETIMEDOUT while it is silent: check that the server is up and reachable/;
  t.equal((await lines(silent)).length, 1, 'logged once for three timed-out calls');
  mode = 'pass';
});

t.test('connection lost', async (t) => {
  await proxy.close();
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < 3; i++) {
    const code = await stat(path.join(dir, `lost${i}`)).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    t.equal(code, 'EIO', `call ${i} fails with EIO`);
  }
  const lost = new RegExp(`connection to 127\\.0\\.0\\.1:${proxy.port} lost \\(.*\\); reconnecting`);
  t.equal((await lines(lost)).length, 1, `logged once: ${(await readFile(logFile, 'utf8')).slice(-600)}`);
  const stats = await runCli(['stats', mnt, '--json']);
  t.equal(stats.code, 0, 'stats still answer');
  const s = JSON.parse(stats.stdout);
  t.equal(s.smb.connected, false, 'connection shown as down');
  t.ok(s.smb.timeouts >= 3, `timeouts counted (${s.smb.timeouts})`);
  t.ok(s.smb.commands.find((c: { command: string }) => c.command === 'WRITE').errors >= 4, 'WRITE errors counted');
  t.notOk((await readFile(logFile, 'utf8')).includes(samba.pass), 'no password in the log');
});

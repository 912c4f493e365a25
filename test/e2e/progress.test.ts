/**
 * Progress of the waits a person sits through (issue 12, point 5), through
 * a proxy in front of the real Samba:
 *  - a background mount whose server holds back its NEGOTIATE reply for 6 s
 *    prints "still waiting for HOST:PORT to answer NEGOTIATE (5 s)" (sent by
 *    the daemon over the readiness pipe) and then succeeds;
 *  - a foreground unmount with 4 MiB written through the mount and not yet
 *    on the server (a process keeps the file open), whose WRITE replies are
 *    held back 6 s, says how much it is writing back, what is left while it
 *    waits, and that all of it was written.
 */
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cliPath, isMounted, makeMountPoint, runCli, unmount } from '../helpers/mount.js';
import { startProxy, frameHeader, type FrameHook } from '../helpers/proxy.js';
import { freshShareDir, holdWritten } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'progress';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);

const NEGOTIATE = 0x0000;
const WRITE = 0x0009;
const HOLD_MS = 6000;

/** toClient hook: hold replies to `command` back HOLD_MS while `on()` says so. */
function holdReplies(command: number, on: () => boolean): FrameHook {
  return (frame) => {
    const h = frameHeader(frame);
    return on() && h?.response && h.command === command ? { delayMs: HOLD_MS } : undefined;
  };
}

t.test('a mount waiting on a slow NEGOTIATE says what it waits for, then succeeds', async (t) => {
  const proxy = await startProxy({ host: samba.host, port: samba.port, toClient: holdReplies(NEGOTIATE, () => true) });
  t.teardown(() => proxy.close());
  const mnt = await makeMountPoint();
  t.teardown(() => unmount(mnt));
  const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`].join(',');
  const r = await runCli([`//${samba.host}/test`, mnt, '-o', opts]);
  t.equal(r.code, 0, `the mount succeeds: ${r.stderr}`);
  t.ok(r.ms >= HOLD_MS, `after the held reply (${r.ms} ms)`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const waiting = `smbfuse: still waiting for ${samba.host}:${proxy.port} to answer NEGOTIATE`;
  t.match(lines[0], new RegExp(`^${waiting.replace(/\./g, '\\.')} \\([56] s\\)$`), 'the waiting line, after about 5 s');
  t.ok(lines.length >= 1 && lines.every((l) => l.startsWith(waiting)), `only waiting lines: ${JSON.stringify(lines)}`);
  t.notMatch(r.stderr, samba.pass, 'no password');
  t.ok(await isMounted(mnt), 'mounted');
});

t.test('a foreground unmount with dirty data reports the write-back', async (t) => {
  let slow = false;
  const proxy = await startProxy({ host: samba.host, port: samba.port, toClient: holdReplies(WRITE, () => slow) });
  t.teardown(() => proxy.close());
  const mnt = await makeMountPoint();
  const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, 'echo_interval=0'].join(',');
  const child = spawn(process.execPath, [cliPath, `//${samba.host}/test`, mnt, '-f', '-o', opts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  for (let i = 0; i < 200 && !(await isMounted(mnt)); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(await isMounted(mnt), `foreground mount up: ${err}`);
  const holder = await holdWritten(t, path.join(mnt, dirName, 'dirty.bin'), 4 << 20);
  slow = true;
  await run('fusermount', ['-uz', mnt]);
  // Detached with the file still open, the daemon would serve it until its
  // last close; SIGTERM ends that wait and starts the write-back.
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'the daemon exits 0: everything written');
  holder.kill('SIGKILL');
  t.match(err, /unmounting: writing back 4\.0 MiB \(4194304 bytes\) written through the mount\n/, 'the amount being written back');
  t.match(err, /still writing back: [\d.]+ [KM]iB \(\d+ bytes\) left \(\d+\.\d s\)\n/, 'what is left, while it waits');
  const took = /wrote back 4\.0 MiB \(4194304 bytes\) in (\d+\.\d) s\n/.exec(err);
  t.ok(took, `all of it written: ${err}`);
  t.ok(Number(took?.[1]) >= HOLD_MS / 1000 - 0.1, `after the held WRITE replies (${took?.[1]} s)`);
  t.equal((await stat(path.join(serverDir, 'dirty.bin'))).size, 4 << 20, 'the server has it');
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
});


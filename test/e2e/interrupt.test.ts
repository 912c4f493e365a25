/**
 * FUSE INTERRUPT: a process blocked on a server that stopped answering (a
 * proxy that swallows every reply) and then sent SIGINT dies at once, as on
 * a local file system, instead of waiting out timeout= (here 20 s). Covers a
 * blocked open (`cat`) and a blocked read (a process that opened the file
 * before the server went silent). Once the server answers again the mount
 * works as before: the late replies to the abandoned requests do no harm.
 * Skipped when the fuse-native binary lacks the interrupt patch.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { interruptBinding } from '../../src/fuse-interrupt.js';
import { cliPath, isMounted, makeMountPoint } from '../helpers/mount.js';
import { startStallingProxy } from '../helpers/proxy.js';
import { freshShareDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'interrupt';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const data = Buffer.alloc(2 << 20, 0x5a);
await writeFile(path.join(serverDir, 'file.bin'), data);

const TIMEOUT_S = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Exit of a child: code and signal, and when. */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  return new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, at: Date.now() })));
}

const skip = interruptBinding() ? false : 'the fuse-native binary has no interrupt support (scripts/patch-fuse-native.mjs not applied)';

t.test('SIGINT ends a call blocked on a silent server at once', { skip }, async (t) => {
  const { proxy, stall, resume } = await startStallingProxy(samba);
  t.teardown(() => proxy.close());
  const mnt = await makeMountPoint();
  // cache=none: every read goes to the server; no echo to notice the silence first.
  const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, `timeout=${TIMEOUT_S}`, 'echo_interval=0', 'cache=none'].join(',');
  const daemon = spawn(process.execPath, [cliPath, `//${samba.host}/test`, mnt, '-f', '-o', opts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  daemon.stderr!.on('data', (d) => (err += d));
  const daemonExit = exited(daemon);
  t.teardown(async () => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await Promise.race([daemonExit, sleep(10_000)]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await rm(mnt, { recursive: false, force: true }).catch(() => {});
  });
  for (let i = 0; i < 200 && !(await isMounted(mnt)); i++) await sleep(50);
  t.ok(await isMounted(mnt), `mounted ${err}`);
  const file = path.join(mnt, dirName, 'file.bin');

  // A reader that has the file open before the server goes silent, then reads on a signal from us.
  const reader = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(process.argv[1],'r');
process.stdout.write('open\\n');process.stdin.once('data',()=>{fs.readSync(fd,Buffer.alloc(1<<20),0,1<<20,0);process.stdout.write('read returned\\n');});`, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void (reader.exitCode === null && reader.kill('SIGKILL')));
  const readerExit = exited(reader);
  let readerOut = '';
  let readerErr = '';
  reader.stderr!.on('data', (d) => (readerErr += d));
  await new Promise<void>((res) => reader.stdout!.on('data', (d) => ((readerOut += d), readerOut.includes('open') && res())));

  stall();
  const cat = spawn('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] });
  const catExit = exited(cat);
  reader.stdin!.write('go\n');
  await sleep(1000);
  t.equal(cat.exitCode, null, 'cat is blocked (open on a silent server)');
  t.equal(reader.exitCode, null, 'the reader is blocked (read on a silent server)');

  const t0 = Date.now();
  cat.kill('SIGINT');
  reader.kill('SIGINT');
  const c = await Promise.race([catExit, sleep(TIMEOUT_S * 1000).then(() => null)]);
  const r = await Promise.race([readerExit, sleep(TIMEOUT_S * 1000).then(() => null)]);
  t.equal(c?.signal, 'SIGINT', 'cat died of its SIGINT');
  t.ok(c && c.at - t0 < 3000, `cat at once (${c ? c.at - t0 : '-'} ms; timeout= is ${TIMEOUT_S} s)`);
  // Node's own SIGINT handler may let the read's EINTR surface first.
  t.ok(r?.signal === 'SIGINT' || /EINTR/.test(readerErr), `the reader's read was interrupted (${r?.signal ?? r?.code}) ${readerErr.split('\n').find((l) => /EINTR/.test(l)) ?? ''}`);
  t.ok(r && r.at - t0 < 3000, `the reader at once (${r ? r.at - t0 : '-'} ms)`);
  t.notMatch(readerOut, /read returned/, 'the read never returned data');

  resume();
  await sleep(200);
  const back = await readFile(file);
  t.ok(back.equals(data), 'with the server answering again the mount reads the file whole');
  t.equal(daemon.exitCode, null, 'the daemon is still running');
});

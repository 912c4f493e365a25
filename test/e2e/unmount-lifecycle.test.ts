/**
 * How a mount ends, through the real CLI and the real Samba:
 *  - SIGINT with data written and still open: written back, exit 0, unmounted;
 *  - `fusermount -u` while a writer is still writing fails (busy) and changes
 *    nothing; `fusermount -uz` detaches, the writer finishes, every byte
 *    reaches the server, and the daemon exits after the writer closes;
 *  - kill -9: with auto_unmount (the default) the mount point is a plain
 *    directory again within a bound; with noauto_unmount it stays ENOTCONN,
 *    and mounting smbfuse there again clears it, saying so;
 *  - an unmount followed at once by another FUSE mount on the same point
 *    still ends the daemon, which leaves that mount alone, also when that
 *    file system hangs; smbfuse mounted there again at once serves its
 *    statistics once the old daemon has ended;
 *  - a dead mount of another FUSE file system is refused with one line.
 */
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliPath, daemonsFor, isMounted, makeMountPoint, mountShare, runCli, unmount } from '../helpers/mount.js';
import { freshShareDir, holdWritten } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const run = promisify(execFile);
const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'unmount-lifecycle';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const fuseNull = fileURLToPath(new URL('../../scripts/fuse-null.mjs', import.meta.url));
const hungFuse = fileURLToPath(new URL('../helpers/hung-fuse.mjs', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** stat's error code for `p` ('' when it succeeds). */
async function statCode(p: string): Promise<string> {
  try {
    await stat(p);
    return '';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** Poll `cond` every 50 ms for up to `ms`; the ms it took, or -1. */
async function within(ms: number, cond: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await cond()) return Date.now() - t0;
    await sleep(50);
  }
  return -1;
}

/** Byte i of the slow writer's file. */
const patternByte = (i: number) => (i * 31 + (i >>> 12)) & 0xff;

/**
 * A process writing `chunks` MiB of the pattern to `file`, one MiB every
 * 100 ms; resolves `started` after the first MiB, `done` with its exit
 * status and stderr.
 */
function slowWriter(file: string, chunks: number): { child: ChildProcess; started: Promise<void>; done: Promise<{ code: number | null; err: string }> } {
  const code = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'w');const M=1<<20;
let i=0;const next=()=>{const b=Buffer.alloc(M);for(let j=0;j<M;j++){const k=i*M+j;b[j]=(k*31+(k>>>12))&255;}
fs.writeSync(fd,b);if(i===0)process.stdout.write('started\\n');if(++i<${chunks})setTimeout(next,100);else fs.closeSync(fd);};next();`;
  const child = spawn(process.execPath, ['-e', code, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const started = new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', () => rej(new Error(`writer died: ${err}`)));
  });
  const done = new Promise<{ code: number | null; err: string }>((res) => child.on('exit', (c) => res({ code: c, err })));
  return { child, started, done };
}

/** Whether `buf` holds the slow writer's pattern from byte 0. */
function holdsPattern(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== patternByte(i)) return false;
  return true;
}

/** Mount in the foreground (the daemon's stderr is ours to read). */
async function mountForeground(mnt: string, extra: string[] = []): Promise<{ child: ChildProcess; stderr: () => string; exited: Promise<number | null> }> {
  const opts = [`port=${samba.port}`, `username=${samba.user}`, `password=${samba.pass}`, ...extra].join(',');
  const child = spawn(process.execPath, [cliPath, `//${samba.host}/test`, mnt, '-f', '-o', opts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  if ((await within(10_000, () => isMounted(mnt))) < 0) throw new Error(`foreground mount did not come up: ${err}`);
  return { child, stderr: () => err, exited };
}

/**
 * Another FUSE file system (`script`: fuse-null, or hung-fuse) mounted on
 * `mnt`; killed, unmounted and `mnt` removed at teardown (killed first: a
 * hung one answers nothing until then).
 */
async function mountOther(t: Test, mnt: string, script = fuseNull): Promise<ChildProcess> {
  const other = spawn(process.execPath, [script, mnt], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(async () => {
    if (other.exitCode === null) other.kill('SIGKILL');
    await run('fusermount', ['-uz', mnt]).catch(() => {});
    await rm(mnt, { recursive: false, force: true }).catch(() => {});
  });
  await new Promise<void>((res, rej) => {
    other.stdout!.once('data', () => res());
    other.once('exit', () => rej(new Error(`${path.basename(script)} did not mount`)));
  });
  return other;
}

t.test('SIGINT with written data still open: written back, exit 0, unmounted', async (t) => {
  const mnt = await makeMountPoint();
  const d = await mountForeground(mnt);
  await holdWritten(t, path.join(mnt, dirName, 'sigint.bin'), 3 << 20);
  d.child.kill('SIGINT');
  t.equal(await d.exited, 0, `exit 0: ${d.stderr()}`);
  t.notOk(await isMounted(mnt), 'unmounted');
  const got = await readFile(path.join(serverDir, 'sigint.bin'));
  t.equal(got.length, 3 << 20, 'every byte on the server');
  t.ok(got.every((b) => b === 7), 'the bytes written');
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
});

t.test('fusermount -u during a write fails busy; -uz lets the writer finish, then the daemon exits', async (t) => {
  const mnt = await makeMountPoint();
  const d = await mountForeground(mnt);
  const chunks = 20;
  const w = slowWriter(path.join(mnt, dirName, 'inflight.bin'), chunks);
  await w.started;
  const plain = await run('fusermount', ['-u', mnt]).then(() => null, (e: { stderr?: string }) => e.stderr ?? 'failed');
  t.match(plain, /busy/i, 'fusermount -u refuses while the file is open');
  t.ok(await isMounted(mnt), 'still mounted');
  await run('fusermount', ['-uz', mnt]);
  t.notOk(await isMounted(mnt), 'detached');
  await sleep(1500); // past the daemon's one-second mount watch
  t.equal(d.child.exitCode, null, 'the daemon still serves the open file');
  const r = await w.done;
  t.equal(r.code, 0, `the writer finished without error ${r.err}`);
  const code = await Promise.race([d.exited, sleep(10_000).then(() => 'still running')]);
  t.equal(code, 0, `the daemon exited 0 after the last close: ${d.stderr()}`);
  const got = await readFile(path.join(serverDir, 'inflight.bin'));
  t.equal(got.length, chunks << 20, 'every byte on the server');
  t.ok(holdsPattern(got), 'the bytes written, in order');
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
});

t.test('fusermount -u and at once another FUSE mount on the same point: the daemon ends, exit 0, and leaves that mount alone', async (t) => {
  const mnt = await makeMountPoint();
  const d = await mountForeground(mnt);
  await run('fusermount', ['-u', mnt]);
  // Up within some 200 ms, before the daemon's next look at mountinfo (once a
  // second): the path is a mount point again, but not ours.
  const other = await mountOther(t, mnt);
  const code = await Promise.race([d.exited, sleep(10_000).then(() => 'still running')]);
  t.equal(code, 0, `the daemon exited 0: ${d.stderr()}`);
  t.equal(await statCode(path.join(mnt, 'big')), '', 'the other mount is still there and answers');
  t.equal(other.exitCode, null, 'and its daemon still runs');
});

t.test('fusermount -u and at once a hung FUSE mount on the same point: the daemon still ends, exit 0, within its bound', async (t) => {
  const mnt = await makeMountPoint();
  const d = await mountForeground(mnt);
  await run('fusermount', ['-u', mnt]);
  const hung = await mountOther(t, mnt, hungFuse);
  // Our connection has ended and a mount is there: the daemon asks whether it
  // is a dead one of its own, and the stat that asks never returns.
  const code = await Promise.race([d.exited, sleep(15_000).then(() => 'still running')]);
  t.equal(code, 0, `the daemon exited 0: ${d.stderr()}`);
  t.ok(await isMounted(mnt), 'the hung mount is still there');
  t.equal(hung.exitCode, null, 'and its process still runs');
});

t.test('fusermount -u and at once smbfuse again on the same point: the new mount serves its statistics once the old daemon has gone', async (t) => {
  const mnt = await makeMountPoint();
  const old = await mountForeground(mnt);
  await run('fusermount', ['-u', mnt]);
  const d = await mountForeground(mnt);
  t.teardown(() => unmount(mnt));
  const code = await Promise.race([old.exited, sleep(10_000).then(() => 'still running')]);
  t.equal(code, 0, `the old daemon exited 0: ${old.stderr()}`);
  let last = '';
  const ms = await within(5000, async () => {
    const r = await runCli(['stats', mnt]);
    last = r.stdout + r.stderr;
    return r.code === 0;
  });
  t.ok(ms >= 0, `smbfuse stats answers for the new mount: ${last}`);
  t.match(last, new RegExp(`on ${mnt} \\(pid ${d.child.pid},`), 'from the new daemon');
  t.notMatch(d.stderr(), /no statistics/, 'which never gave up on them');
});

t.test('kill -9 with auto_unmount (the default): the mount point is a plain directory again', async (t) => {
  const mnt = await mountShare(samba, 'test');
  t.teardown(() => unmount(mnt));
  const pids = await daemonsFor(mnt);
  t.equal(pids.length, 1, 'one daemon');
  process.kill(pids[0]!, 'SIGKILL');
  const ms = await within(3000, async () => !(await isMounted(mnt)) && (await statCode(mnt)) === '');
  t.ok(ms >= 0, `unmounted and usable as a directory within 3 s (${ms} ms)`);
});

t.test('kill -9 with noauto_unmount: ENOTCONN, cleared by mounting smbfuse there again', async (t) => {
  const mnt = await mountShare(samba, 'test', ['noauto_unmount']);
  t.teardown(() => unmount(mnt));
  for (const pid of await daemonsFor(mnt)) process.kill(pid, 'SIGKILL');
  await sleep(300);
  t.equal(await statCode(mnt), 'ENOTCONN', 'the mount stays, dead');
  const opts = [`port=${samba.port}`, `username=${samba.user}`, `password=${samba.pass}`].join(',');
  const r = await runCli([`//${samba.host}/test`, mnt, '-o', opts]);
  t.equal(r.code, 0, `mounted again: ${r.stderr}`);
  t.match(r.stderr, new RegExp(`smbfuse: ${mnt}: unmounting the dead smbfuse mount left there \\(its daemon is gone\\)`), 'says so');
  t.equal(await statCode(path.join(mnt, dirName)), '', 'the new mount works');
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.split(' ')[4] === mnt);
  t.equal(lines.length, 1, 'one mount there, not two stacked');
});

t.test('a dead mount of another FUSE file system is refused', async (t) => {
  const mnt = await makeMountPoint();
  const other = await mountOther(t, mnt);
  other.kill('SIGKILL');
  t.ok((await within(2000, async () => (await statCode(mnt)) === 'ENOTCONN')) >= 0, 'dead, ENOTCONN');
  const opts = [`port=${samba.port}`, `username=${samba.user}`, `password=${samba.pass}`].join(',');
  const r = await runCli([`//${samba.host}/test`, mnt, '-o', opts]);
  t.equal(r.code, 1, 'refused');
  t.equal(r.stderr, `smbfuse: mount point ${mnt} is busy: a dead fuse mount (its daemon is gone); unmount it first (fusermount -u ${mnt})\n`);
  t.equal(await statCode(mnt), 'ENOTCONN', 'left as it was');
});

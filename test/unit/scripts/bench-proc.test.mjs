// The bench's command runner: CPU of the commands a script runs, its stderr
// kept apart from the `times` line, a failing exit reported with its stderr,
// a timeout that kills the command and rejects, and the CPU of a server's
// processes found by the configuration file they were started with; the
// whole machine's busy CPU, and the touch of fresh memory before a bulk step.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { machineCpu, prefault, serverCpuSecs, sh, sleep } from '../../../scripts/bench/proc.mjs';

t.test('sh measures the CPU of the commands it runs and keeps their stderr', async (t) => {
  const r = await sh('head -c 200000000 /dev/zero | sha256sum; printf warn >&2', { timeoutS: 60 });
  t.match(r.stdout, /^[0-9a-f]{64} {2}-\n$/);
  t.equal(r.stderr, 'warn', 'stderr without a trailing newline, the times line left out');
  t.ok(r.cpu > 0, `children CPU counted (${r.cpu} s)`);
  t.ok(r.secs > 0);
});

t.test('a failing script is an error naming its exit status and stderr', async (t) => {
  await t.rejects(sh('echo oops >&2; exit 3', { timeoutS: 10 }), /exit 3: .*: oops/);
  const r = await sh('exit 1', { timeoutS: 10, okCodes: [0, 1] });
  t.equal(r.stderr, '', 'an allowed exit status is no error');
});

t.test('a script past its timeout is killed and rejected', async (t) => {
  const t0 = Date.now();
  await t.rejects(sh('sleep 30', { timeoutS: 1 }), /timed out after 1 s/);
  t.ok(Date.now() - t0 < 15_000, 'rejected well before the command would have ended');
});

t.test('a command without a timeout is refused', async (t) => {
  await t.rejects(async () => sh('true', {}), /no timeout/);
});

t.test("a server's CPU: its processes by configuration file, with the children they reaped", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in for smbd run with DIR/smb.conf: it forks a child that burns CPU and ends, and reaps it.
  const burn = "const c = require('child_process').spawnSync(process.execPath, ['-e', 'const e = Date.now() + 1000; while (Date.now() < e);']); process.stdin.once('data', () => process.exit(0));";
  const server = spawn(process.execPath, ['-e', burn, '--', `--configfile=${path.join(dir, 'smb.conf')}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.teardown(() => server.kill());
  const other = `${dir}-other`;
  const before = serverCpuSecs(dir);
  await sleep(2500);
  const after = serverCpuSecs(dir);
  t.ok(after - before >= 0.8, `the reaped child's CPU counts (${(after - before).toFixed(2)} s)`);
  t.equal(serverCpuSecs(other), 0, 'a directory no process was started with counts nothing');
  server.stdin.write('x');
});

t.test("the machine's busy CPU counts a process burning it", async (t) => {
  const before = machineCpu();
  await sh(`${process.execPath} -e 'const e = Date.now() + 1000; while (Date.now() < e);'`, { timeoutS: 30 });
  const after = machineCpu();
  t.ok(after.busy - before.busy >= 0.8, `a 1 s burn is busy time (${(after.busy - before.busy).toFixed(2)} s)`);
  t.ok(after.cores >= 1);
  t.ok(after.idle >= before.idle, 'idle time never goes back');
});

t.test('prefault touches memory in a process of its own and says when it cannot', async (t) => {
  const before = machineCpu();
  await prefault(64);
  t.ok(machineCpu().busy > before.busy, 'writing 64 MiB took CPU');
  await t.rejects(prefault(1e7), /touching 10000000 MiB failed/);
});

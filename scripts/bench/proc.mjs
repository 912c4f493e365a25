// Running the benchmark's commands: every one bounded by a timeout, killed by
// the process group we gave it; plus the /proc readers for a daemon's CPU and RSS.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

/** Single-quotes S for bash. */
export const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * Runs CMD ARGS in a process group of its own and resolves
 * { code, stdout, stderr, secs } (secs: wall time). Rejects when it runs past
 * timeoutS (the group is killed) or cannot start. A non-zero exit is not an
 * error here; `sh` below makes it one.
 */
const running = new Set(); // process groups of commands still running

/** Kills the process group of every command still running (on an interrupted run). */
export function killRunning() {
  for (const pid of running) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

export function run(cmd, args, { timeoutS, cwd, env } = {}) {
  if (!timeoutS) throw new Error(`no timeout for ${cmd}`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) running.add(child.pid);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    let timedOut = false;
    const fail = () => reject(new Error(`timed out after ${timeoutS} s: ${cmd} ${args.join(' ').slice(0, 200)}`));
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      // A process stuck in a FUSE request may not die at once: do not wait for it.
      setTimeout(fail, 10_000).unref();
    }, timeoutS * 1000);
    child.on('error', (e) => { clearTimeout(timer); running.delete(child.pid); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (timedOut) return fail();
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, secs });
    });
  });
}

/**
 * Runs SCRIPT with bash (pipefail) and resolves { stdout, stderr, secs, cpu }:
 * cpu is the user+system seconds of every process the script ran (bash's
 * `times`). Rejects on a non-zero exit unless OK_CODES has it.
 */
export async function sh(script, { timeoutS, cwd, okCodes = [0] } = {}) {
  // `times` after a marker line, so it cannot be mistaken for the script's own stderr;
  // its second line is the CPU of the script's children (it must run in this shell, not a subshell).
  const wrapped = `set -o pipefail\n${script}\nrc=$?\nprintf '\\n${MARK}\\n' >&2\ntimes >&2\nexit $rc`;
  const r = await run('bash', ['-c', wrapped], { timeoutS, cwd });
  const at = r.stderr.lastIndexOf(`\n${MARK}`);
  const stderr = at < 0 ? r.stderr : r.stderr.slice(0, at);
  if (!okCodes.includes(r.code)) {
    throw new Error(`exit ${r.code}: ${script.split('\n')[0].slice(0, 160)}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
  return { stdout: r.stdout, stderr, secs: r.secs, cpu: at < 0 ? 0 : parseTimes(r.stderr.slice(at).trimEnd().split('\n').pop() ?? '') };
}

const MARK = '@@bench-times';

/** Sums a bash `times` line such as "0m1.250s 0m0.040s" into seconds. */
export function parseTimes(line) {
  let total = 0;
  for (const m of line.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

const TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** User+system CPU seconds used so far by process PID (all its threads). */
export function cpuSecs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS; // fields 14 and 15: utime, stime
}

/**
 * User+system CPU seconds used so far by the Samba that samba-start.sh
 * started in DIR: every process run with DIR/smb.conf (the daemon, its
 * helpers and the child serving each connection), with the children each
 * has reaped: a connection's child that ended counts in its parent once
 * the parent has waited for it, a moment after it exits.
 */
export function serverCpuSecs(dir) {
  const arg = `--configfile=${path.join(dir, 'smb.conf')}\0`;
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(arg)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS; // utime, stime, cutime, cstime
    } catch { /* gone meanwhile */ }
  }
  return total;
}

/**
 * CPU seconds the whole machine has spent so far, summed over its cores:
 * `busy` (user, nice, system, irq, softirq: every process and the kernel's
 * work for them) and `idle` (idle, iowait). Steal, time the hypervisor gave
 * to someone else, is neither. `cores`: how many run at once. What a run
 * moving data spent in all (client, server, reader, kernel) is the busy
 * time across it; no client can move a GiB faster than cores ÷ that.
 */
export function machineCpu() {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [user, nice, system, idle, iowait, irq, softirq] = lines[0].trim().split(/\s+/).slice(1, 8).map(Number);
  // The first line sums the cpuN lines that follow: the cores counted are those.
  const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { busy: (user + nice + system + irq + softirq) / TICKS, idle: (idle + iowait) / TICKS, cores };
}

/**
 * Writes to every page of MIB MiB of fresh memory in a child process, which
 * then exits. Some virtual machines (this one) give a page back to the host
 * once it is free, and the next first touch of it costs many times a normal
 * page fault: whichever client fills the page cache first after an idle
 * spell pays that, the one after it far less (a 1 GiB read through FUSE
 * spent 1.2-3.7 s of the daemon's CPU cold against 0.8-0.9 s just after
 * such a touch). Done right before each client's timed bulk step, so that
 * every client meets the same memory.
 */
export async function prefault(mib) {
  const r = await run(process.execPath, ['-e', `Buffer.allocUnsafeSlow(${Math.ceil(mib)} * 1048576).fill(1)`], { timeoutS: Math.min(600, 60 + Math.ceil(mib / 20)) });
  if (r.code !== 0) throw new Error(`touching ${mib} MiB failed: ${r.stderr.trim().split('\n').pop()}`);
}

/** Peak resident set of process PID in MiB (VmHWM). */
export function peakRssMiB(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** True while DIR is a mount point (from /proc/mounts). */
export function isMounted(dir) {
  const esc = dir.replace(/ /g, '\\040');
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === esc);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Mounting through the real CLI for end-to-end tests: run `smbfuse` as a user
 * would (background mode, exit status when the mount is usable), and unmount
 * with `fusermount -u`, waiting for the daemon to finish its clean shutdown.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SambaServer } from './samba.js';

const run = promisify(execFile);
export const cliPath = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run the CLI with `args`, feeding nothing on stdin; resolves when it exits.
 * `env` NODE_OPTIONS '' runs it (and so its daemon) without tap's hooks:
 * tap's spawn wrapper puts its --import back into an empty NODE_OPTIONS, so
 * the variable is removed by env(1) between that wrapper and node.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30000): Promise<CliResult> {
  const t0 = Date.now();
  const argv = [cliPath, ...args];
  const [cmd, cmdArgs] = env.NODE_OPTIONS === '' ? ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...argv]] : [process.execPath, argv];
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PASSWD: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    // The daemon inherits nothing of ours past readiness, so 'exit' is enough.
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Whether `dir` is a mount point now. */
export async function isMounted(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === dir);
}

/** PIDs of smbfuse daemons serving `mnt` (their command line names it). */
export async function daemonsFor(mnt: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = (await readFile(`/proc/${p}/cmdline`, 'utf8')).split('\0');
      if (argv.some((a) => a.endsWith('main.js')) && argv.includes(mnt)) out.push(Number(p));
    } catch {
      // The process went away while we looked.
    }
  }
  return out;
}

/** A fresh empty mount point under the temp dir. */
export function makeMountPoint(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'smbfuse-mnt-'));
}

/**
 * Unmount `mnt` if it is mounted: `fusermount -u`, lazily if busy. A mount
 * whose daemon died is also unmounted by the fusermount that auto_unmount
 * leaves behind, which can win the race: a failure with the mount gone is none.
 */
export async function detach(mnt: string): Promise<void> {
  if (!(await isMounted(mnt))) return;
  await run('fusermount', ['-u', mnt])
    .catch(() => run('fusermount', ['-uz', mnt]))
    .catch(async (e: unknown) => {
      if (await isMounted(mnt)) throw e;
    });
}

/** Unmount and wait (bounded) for the daemon to exit; removes the mount point. */
export async function unmount(mnt: string): Promise<void> {
  const pids = await daemonsFor(mnt);
  await detach(mnt);
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && (await daemonsFor(mnt)).some((p) => pids.includes(p))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await rm(mnt, { recursive: false, force: true }).catch(() => {});
}

/** Mount `share` of the test server at a new mount point (`env` added to the CLI's); throws with the CLI's stderr on failure. */
export async function mountShare(samba: SambaServer, share: string, extraOpts: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const mnt = await makeMountPoint();
  const opts = [`port=${samba.port}`, `username=${samba.user}`, `password=${samba.pass}`, ...extraOpts].join(',');
  const r = await runCli([`//${samba.host}/${share}`, mnt, '-o', opts], env);
  if (r.code !== 0) {
    await rm(mnt, { recursive: false, force: true }).catch(() => {});
    throw new Error(`mount failed (${r.code}): ${r.stderr.trim()}`);
  }
  return mnt;
}

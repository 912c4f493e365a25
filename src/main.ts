#!/usr/bin/env node
/**
 * smbfuse CLI: `smbfuse //HOST/SHARE MOUNTPOINT [-o opts] [-f]`.
 *
 * Background mode (the default) — readiness protocol:
 *   1. The parent parses and validates everything it can (options,
 *      credentials file, mount point) and fails fast with one line.
 *   2. It re-executes itself (process.execPath, same execArgv and script,
 *      argv `UNC MOUNTPOINT -f`, env SMBFUSE_CHILD=1 with PASSWD removed),
 *      detached (own session), stdin a pipe, stdout/stderr ignored, fd 3 a
 *      pipe. The child sends what it would print to the log (src/log-sink.ts:
 *      syslog, or log_file=). The resolved config, password included, goes down stdin as
 *      JSON: the password never appears on a command line or in an
 *      environment.
 *   3. The child connects, authenticates, connects the tree, mounts, and once
 *      the kernel has sent FUSE INIT writes "ok\n" on fd 3 — or one error
 *      line — and closes it. Before that it may send progress lines
 *      ("progress " + the line: a slow server still awaited).
 *   4. The parent prints progress lines as they come, then prints the error
 *      line and exits 1, or exits 0 on "ok"; if nothing final arrives in 20 s
 *      it kills the child and says so.
 * Foreground (-f): the same steps in one process; errors go to stderr.
 *
 * Password: when none was given (password=, credentials=, PASSWD) and the
 * mount is not a guest one, the parent asks on the terminal without echo
 * (src/prompt.ts) before starting the child; with no terminal on stdin it
 * fails at once. The password is never logged and never part of an error
 * line (describeConnectError names the user only).
 *
 * Shutdown: SIGINT/SIGTERM, or the kernel unmounting us (fusermount -u),
 * write back dirty data, close open handles, disconnect the tree, log off,
 * and exit 0. `fusermount -u` with a file still open fails (EBUSY) and
 * changes nothing; after a lazy unmount (`fusermount -uz`, `umount -l`) the
 * files still open keep working until closed (the kernel keeps the mount
 * alive for them), so the daemon serves them first and shuts down after the
 * last close, or at SIGINT/SIGTERM.
 */
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, existsSync, readFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PageCache } from '../netfs/index.js';
import { connect, describeOutcome, smbFaultChannel, smbTraceChannel, type SmbClientStats, type SmbTraceEvent } from '../transport/index.js';
import { smb2CommandName } from '../transport/pdu/commands.js';
import { dialectName } from '../transport/session.js';
import type { SmbConnectOptions, SmbTree } from '../transport/types.js';
import { ConfigError, USAGE, parseArgs, type MountConfig } from './config.js';
import { startDemo, stopDemoServer } from './demo.js';
import { SmbFs } from './fs.js';
import { loadSmbFuse, MissingSystemLibrary } from './fuse-load.js';
import { Interrupts } from './fuse-interrupt.js';
import { bindingPatched } from './fuse-binding.js';
import { LentReads } from './read-lending.js';
import { makeFuseOps } from './fuse-ops.js';
import { FaultLog } from './fault-log.js';
import { afterInit, kernelReadaheadFor, raiseKernelReadahead } from './kernel-readahead.js';
import { checkLogFile, describeDestination, logDestination, openLogSink, type LogSink } from './log-sink.js';
import { checkMountPoint, mountFuse, staleMountNotice, type Mounted } from './mount.js';
import { mountStats } from './mount-stats.js';
import { netfsInodeFactory } from './netfs-inodes.js';
import { FSC_CLOSE_MS, fscacheFor, fscVolume, startFscache } from './fsc.js';
import { reportFlush, WaitReporter } from './progress.js';
import { PromptCancelled, passwordPrompt, readHidden } from './prompt.js';
import { runStats } from './stats-client.js';
import { startStatsServer } from './stats-server.js';

const CHILD_ENV = 'SMBFUSE_CHILD';
const READY_FD = 3;
const READY_TIMEOUT_MS = 20_000;
/** Prefix of a progress line on the readiness pipe (the final line is "ok" or an error). */
const PROGRESS = 'progress ';
/** Connect + login + tree connect must finish within this (bad input fails < 15 s). */
const CONNECT_DEADLINE_MS = 12_000;
/** How long a new mount waits for the last one on its mount point to give up the statistics socket. */
const STATS_TAKEOVER_MS = 10_000;

/** The client surface main needs (transport/client.ts SmbClient fits). */
interface Client {
  treeConnect(share: string): Promise<SmbTree>;
  close(): Promise<void>;
  stats(): SmbClientStats;
  readonly dialect: number;
  readonly connection: {
    lastReceiveAt: number;
    readonly isReady: boolean;
    on(ev: 'close', f: (e: Error | null) => void): unknown;
    on(ev: 'ready', f: () => void): unknown;
  };
}

/** A failure already phrased as the one line to print. */
class MountFailure extends Error {}

function version(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(here + rel, 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout (source vs dist)
    }
  }
  return 'unknown';
}

/** Walk an error and its causes for a Node system error code (ECONNREFUSED...). */
function sysCode(e: unknown): string | undefined {
  for (let x = e, i = 0; x && typeof x === 'object' && i < 5; i++) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z0-9_]+$/.test(c)) return c;
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

/** One line describing why connecting, logging in or tree connecting failed. */
export function describeConnectError(e: unknown, c: MountConfig): string {
  const head = `smbfuse: ${c.unc}:`;
  const hostPort = `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
  const err = e as { code?: unknown; statusName?: unknown; message?: unknown };
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  if (e instanceof MountFailure) return e.message;
  if (err?.code === 'SMB_ERR_STATUS') {
    const name = String(err.statusName);
    if (/LOGON_FAILURE|WRONG_PASSWORD|NO_SUCH_USER|ACCOUNT_(DISABLED|LOCKED_OUT|RESTRICTION)|PASSWORD_EXPIRED/.test(name)) {
      return `${head} login failed for user '${c.username}' (${name})`;
    }
    if (name === 'STATUS_BAD_NETWORK_NAME') return `${head} share '${c.share}' not found (${name})`;
    if (name === 'STATUS_ACCESS_DENIED') {
      // Keep the transport's explanation when it has one (e.g. a share that needs encryption).
      const why = msg.includes(': ') ? `: ${msg.slice(msg.indexOf(': ') + 2)}` : '';
      return `${head} access denied (${name})${why}`;
    }
    return `${head} ${msg}`;
  }
  if (err?.code === 'SMB_ERR_AUTH') return `${head} login failed for user '${c.username}': ${msg}`;
  if (err?.code === 'SMB_ERR_TIMEOUT') return `${head} no answer from ${hostPort} (timed out)`;
  switch (sysCode(e)) {
    case 'ECONNREFUSED': return `${head} connection refused by ${hostPort} (ECONNREFUSED)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return `${head} unknown host '${c.host}'`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return `${head} ${hostPort} is unreachable (${sysCode(e)})`;
    case 'ETIMEDOUT': return `${head} no answer from ${hostPort} (ETIMEDOUT)`;
    case 'ECONNRESET': return `${head} connection reset by ${hostPort} (ECONNRESET)`;
  }
  return `${head} ${msg}`;
}

/** Reject with a MountFailure if `p` takes longer than `ms`. */
/** Why this machine cannot mount FUSE filesystems (libfuse or fusermount missing), or null. */
async function fuseMissing(): Promise<string | null> {
  try {
    await loadSmbFuse();
  } catch (e) {
    if (e instanceof MissingSystemLibrary) return e.message;
    throw e;
  }
  const onPath = (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => d && existsSync(path.join(d, 'fusermount')));
  return onPath ? null : 'fusermount is not installed (Debian/Ubuntu: apt-get install fuse)';
}

/** How long an unmount may spend writing back and closing: two request timeouts. */
function shutdownDeadlineMs(timeoutMs: number): number {
  return 2 * timeoutMs;
}

function withDeadline<T>(p: Promise<T>, ms: number, line: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MountFailure(line)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** One debug line for a finished SMB request. */
function traceLine(ev: SmbTraceEvent): string {
  return `smb ${smb2CommandName(ev.command)} mid ${ev.messageId} -> ${describeOutcome(ev)} in ${ev.ms.toFixed(3)} ms`;
}

/**
 * Connect, tree connect and mount; call `ready(null)` once usable or
 * `ready(line)` on failure (then nothing is left mounted or connected).
 * `progress` gets the lines saying what a slow mount is waiting for.
 */
async function runMount(c: MountConfig, ready: (line: string | null) => void, progress: (line: string) => void): Promise<void> {
  let log: LogSink;
  try {
    log = openLogSink(logDestination(c), process.env[CHILD_ENV] === '1');
  } catch (e) {
    return ready(`smbfuse: cannot open the log ${describeDestination(logDestination(c))} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const mpErr = checkMountPoint(c.mountpoint);
  if (mpErr) return ready(mpErr);
  // Before any network traffic: a machine without libfuse or fusermount gets one line saying what to install.
  const fuseErr = await fuseMissing();
  if (fuseErr) return ready(`smbfuse: ${fuseErr}`);
  const copts: SmbConnectOptions = {
    host: c.host,
    port: c.port,
    username: c.username,
    password: c.password,
    domain: c.domain,
    guest: c.guest,
    ...(c.seal ? { seal: true } : {}),
    ...(c.sign ? { sign: true } : {}),
    // Per request; connecting as a whole is bounded by CONNECT_DEADLINE_MS below.
    timeoutMs: c.timeoutMs,
    echoIntervalMs: c.echoIntervalMs,
    // A lost connection is made again; hard: calls wait for it, soft: they fail after retrans_timeout.
    reconnect: { softTimeoutMs: c.soft ? c.retransTimeoutMs : 0 },
    ...(c.minDialect !== undefined ? { minDialect: c.minDialect } : {}),
    ...(c.maxDialect !== undefined ? { maxDialect: c.maxDialect } : {}),
  };
  // Refused replies (bad or missing signatures) are logged, one line each.
  diagnosticsChannel.subscribe('smbfuse:transport', (m) => log.write('warning', (m as { message: string }).message));
  // -o debug: every SMB command with its status and time (never names or data).
  if (c.debug) smbTraceChannel.subscribe((m) => log.write('debug', traceLine(m as SmbTraceEvent)));
  const hostPort = `${c.host}:${c.port}`;
  const waiting = new WaitReporter(hostPort, progress);
  copts.onStep = (step) => waiting.step(step);
  let client: Client | undefined;
  let tree: SmbTree;
  const startedAt = Date.now();
  try {
    const setup = (async () => {
      client = await connect(copts);
      waiting.step('TREE_CONNECT');
      return client.treeConnect(c.share);
    })();
    setup.catch(() => {});
    tree = await withDeadline(setup, CONNECT_DEADLINE_MS, `smbfuse: ${c.unc}: no answer from ${hostPort} within ${CONNECT_DEADLINE_MS / 1000} s`);
    // The root (or prefix) is opened before mounting, so a server whose
    // replies cannot be used (e.g. signatures that do not verify under `sign`)
    // fails the mount here instead of failing every call with EIO.
    waiting.step('CREATE');
    const st = await tree.stat(c.prefixPath);
    if (!st.isDirectory) throw new MountFailure(`smbfuse: ${c.unc}: not a directory`);
  } catch (e) {
    waiting.stop(); // no waiting lines while closing
    await client?.close().catch(() => {});
    const line = describeConnectError(e, c);
    // A background daemon's parent prints the line; the log keeps it too.
    if (log.where !== 'stderr') log.write('err', line);
    return ready(line);
  } finally {
    waiting.stop();
    copts.onStep = undefined;
  }
  const faults = new FaultLog((l) => log.write('err', l), { ...c, hostPort, timeoutMs: c.timeoutMs }, {
    lastReceiveAt: () => client!.connection.lastReceiveAt,
    bytesWritten: () => client!.stats().bytesWritten,
  });
  smbFaultChannel.subscribe((m) => faults.note(m as SmbTraceEvent));
  client!.connection.on('close', (e) => faults.connectionLost(e));
  const pageCache = new PageCache({ maxBytes: c.cacheSize });
  // Notices (names skipped in listings) go to the log: stderr in the foreground, syslog or log_file= in the background.
  const fsc = c.fsc ? await startFscache(c, (l) => log.write('warning', l)) : null;
  const fs = new SmbFs(tree, { ...c, log: (l) => log.write('warning', l) }, netfsInodeFactory(c, pageCache, fsc ? fscacheFor(fsc, fscVolume(c)) : undefined));
  const trace = c.debug ? (l: string) => log.write('debug', l) : undefined;
  const interrupts = new Interrupts();
  // hard: while the server is away (and one timeout after it is back, for the resent requests) callers wait.
  let backAt = 0;
  client!.connection.on('ready', () => (backAt = Date.now()));
  const waitForServer = () => !c.soft && (!client!.connection.isReady || Date.now() - backAt < c.timeoutMs);
  const lending = bindingPatched() ? LentReads.withBinding() : null;
  if (bindingPatched()) fs.attrEpoch.share();
  const ops = makeFuseOps(fs, { timeoutMs: c.timeoutMs, interrupts, waitForServer, ...(trace ? { trace } : {}), ...(lending ? { lending } : {}) });
  let mounted: Mounted | undefined;
  let stopping = false;
  /** Set while a detached mount waits for its last open files: ends the wait. */
  let endDetachedWait: (() => void) | undefined;
  let stats: { close(): void } | undefined;
  // Shutdown writes back every file's dirty data and closes every handle
  // (fs.closeAll) before the tree is disconnected and the session logged
  // off (client.close), so nothing written is lost. Every request is bounded
  // by timeout=, and the whole shutdown by a deadline after which what could
  // not be written is reported, never dropped silently. A second SIGINT or
  // SIGTERM during shutdown means "stop now".
  const shutdown = async (why: string) => {
    if (endDetachedWait && why !== 'unmounted by the kernel') {
      // A signal while a detached mount still serves open files: shut down now (bounded).
      trace?.(`shutting down (${why})`);
      endDetachedWait();
      endDetachedWait = undefined;
      return;
    }
    if (stopping) {
      if (why !== 'unmounted by the kernel') {
        process.stderr.write(`smbfuse: ${why} again: stopping now; ${fs.dirtyBytes} bytes written through the mount were not written back\n`);
        process.exit(1);
      }
      return;
    }
    stopping = true;
    // The mount point's name is no longer ours to serve statistics under (a new mount there may want it).
    stats?.close();
    if (why === 'unmounted by the kernel' && fs.openHandles > 0 && mounted?.connectionOpen() === true) await detachedWait();
    faults.stop();
    trace?.(`shutting down (${why})`);
    await mounted?.unmount().catch(() => {});
    const bound = shutdownDeadlineMs(c.timeoutMs);
    const flushDone = reportFlush(c.unc, () => fs.dirtyBytes, (l) => log.write('info', l));
    const flushed = await withDeadline(fs.closeAll().then(() => true), bound, '').catch(() => false);
    const lost = fs.dirtyBytes;
    flushDone(flushed && lost === 0);
    if (!flushed || lost > 0) {
      log.write('err', `${c.unc}: could not write back ${lost} bytes within ${bound / 1000} s (server gone or not answering); they are lost`);
    }
    await withDeadline(client!.close(), c.timeoutMs + 1000, '').catch(() => {});
    if (fsc) await withDeadline(fsc.close(), FSC_CLOSE_MS, '').catch(() => {});
    if (c.demoServerDir) stopDemoServer(c.demoServerDir);
    process.exit(flushed && lost === 0 ? 0 : 1);
  };
  // A lazy unmount with files still open: the kernel keeps serving them
  // through us until the last is closed, then ends the connection (a RELEASE
  // may be dropped on the way, so the connection's end counts too). Polled:
  // libfuse2 tells JavaScript nothing when the mount finally ends. A signal
  // ends the wait.
  const detachedWait = () => {
    log.write('info', `${c.unc}: ${c.mountpoint} was detached with ${fs.openHandles} files still open; shutting down after they are closed`);
    return new Promise<void>((resolve) => {
      const poll = setInterval(() => (fs.openHandles === 0 || mounted?.connectionOpen() === false) && endDetachedWait?.(), 200);
      endDetachedWait = () => {
        clearInterval(poll);
        endDetachedWait = undefined;
        resolve();
      };
    });
  };
  try {
    mounted = await mountFuse(
      ops,
      // Capped at the largest timer Node can hold (longer ones fire at once).
      // hard: no backstop in fuse-native (0: not even a timer armed per call), the handlers' own timer (waitForServer) decides.
      { ...c, opTimeoutMs: c.soft ? Math.min(c.timeoutMs + 5000, 2 ** 31 - 1) : 0, interrupts },
      () => void shutdown('unmounted by the kernel'),
    );
  } catch (e) {
    await client!.close().catch(() => {});
    return ready(`smbfuse: cannot mount ${c.unc} on ${c.mountpoint}: ${(e as Error).message}` +
      ((e as Error).message === 'fuse failed' ? ' (is /dev/fuse usable and fusermount installed?)' : ''));
  }
  const window = kernelReadaheadFor(c);
  if (window !== null) {
    const inited = await afterInit(c.mountpoint);
    const done = inited ? raiseKernelReadahead(c.mountpoint, window) : 'kernel readahead: left as it is (no answer to a first statfs)';
    if (c.debug) log.write('debug', done);
  }
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => {});
  const snapshot = () =>
    mountStats({ ...c, dialect: dialectName(client!.dialect), startedAt }, client!.stats(), pageCache.stats(), fsc?.stats(), lending?.stats(), fs.attrEpoch.answers());
  const served = await startStatsServer(c.mountpoint, snapshot);
  if (!('reason' in served)) stats = served;
  else if (!served.busy) log.write('warning', served.reason);
  else {
    // The last mount on this point still serves its statistics while it ends (a second or so): ours follow once it has.
    void startStatsServer(c.mountpoint, snapshot, STATS_TAKEOVER_MS).then((s) => {
      if ('reason' in s) log.write('warning', s.reason);
      else if (stopping) s.close();
      else stats = s;
    });
  }
  ready(null);
}

/** Child side of background mode: config from stdin, readiness on fd 3. */
async function runChild(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const ch of process.stdin) chunks.push(ch as Buffer);
  let open = true;
  const send = (line: string) => {
    if (!open) return;
    try {
      writeSync(READY_FD, line + '\n');
    } catch {
      open = false; // The parent is gone; nothing to tell.
    }
  };
  const report = (line: string) => {
    send(line);
    if (open) closeSync(READY_FD);
    open = false;
  };
  let c: MountConfig;
  try {
    c = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MountConfig;
  } catch {
    report('smbfuse: internal error: bad configuration from parent');
    process.exit(1);
  }
  process.chdir('/');
  await runMount(
    c,
    (line) => {
      if (line === null) return report('ok');
      report(line);
      process.exit(1);
    },
    (line) => send(PROGRESS + line),
  );
}

/** Parent side of background mode; resolves to the exit status. */
function runBackground(c: MountConfig): Promise<number> {
  const script = process.argv[1] ?? fileURLToPath(import.meta.url);
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: '1' };
  delete env['PASSWD'];
  const child = spawn(process.execPath, [...process.execArgv, script, c.unc, c.mountpoint, '-f'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    env,
    cwd: '/',
  });
  child.stdin!.on('error', () => {});
  child.stdin!.end(JSON.stringify(c));
  const status = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void };
  return new Promise<number>((resolve) => {
    let text = '';
    let settled = false;
    const finish = (code: number, line?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (line) process.stderr.write(line + '\n');
      status.destroy();
      child.unref();
      resolve(code);
    };
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      finish(1, `smbfuse: ${c.unc}: mount not ready after ${READY_TIMEOUT_MS / 1000} s`);
    }, READY_TIMEOUT_MS);
    status.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      for (let nl = text.indexOf('\n'); nl >= 0 && !settled; nl = text.indexOf('\n')) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line.startsWith(PROGRESS)) process.stderr.write(line.slice(PROGRESS.length) + '\n');
        else finish(line === 'ok' ? 0 : 1, line === 'ok' ? undefined : line);
      }
    });
    status.on('error', () => {});
    child.on('error', (e) => finish(1, `smbfuse: cannot start the mount process: ${e.message}`));
    child.on('exit', (code, sig) =>
      finish(1, `smbfuse: ${c.unc}: mount process exited (${sig ?? `status ${code}`}) before the mount was ready`),
    );
  });
}

/** No server given: start the demo share, mount it, say how to use it. */
async function runDemo(mountpoint?: string): Promise<void> {
  let demo;
  try {
    demo = startDemo(mountpoint);
  } catch (e) {
    process.stderr.write(`smbfuse: demo: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const parsed = parseArgs(demo.args);
  if (parsed.kind !== 'mount') throw new Error('demo arguments did not parse');
  const c = { ...parsed.config, demoServerDir: demo.dir };
  const mpErr = checkMountPoint(c.mountpoint);
  const code = mpErr ? (process.stderr.write(mpErr + '\n'), 1) : await runBackground(c);
  if (code !== 0) {
    stopDemoServer(demo.dir);
    process.exit(code);
  }
  process.stdout.write(
    [
      `smbfuse: demo share ${c.unc} (port ${c.port}) is mounted on ${c.mountpoint}`,
      `  try:     ls -lR ${c.mountpoint}; cat ${c.mountpoint}/README.txt`,
      `  finish:  fusermount -u ${c.mountpoint}   (the demo server stops with it)`,
      `  a real share: smbfuse //SERVER/SHARE MOUNTPOINT -o username=USER`,
      '',
    ].join('\n'),
  );
}

/**
 * A foreground mount is its own daemon: if the password came on our command
 * line (password=, user=name%pw), overwrite /proc/self/cmdline. Node's
 * process.title writes over the original argv memory (libuv), so the text
 * the kernel shows becomes the title, with the password masked. Background
 * mounts need none of this: the child's argv never holds the password.
 */
function hidePasswordFromCmdline(argv: readonly string[], password: string): void {
  if (password === '' || !argv.some((a) => a.includes(password))) return;
  const shown = argv.map((a) => a.split(password).join('********'));
  try {
    process.title = [process.argv0, process.argv[1] ?? 'smbfuse', ...shown].join(' ');
  } catch {
    // No way to change the title here; nothing more we can do.
  }
}

/**
 * No password was given: ask on the terminal (no echo) when stdin is one,
 * else fail; a pipe or /dev/null on stdin must never hang or be read.
 */
async function askPassword(c: MountConfig): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    process.stderr.write('smbfuse: no password given (use password=, credentials= or PASSWD)\n');
    process.exit(1);
  }
  const out = process.stderr.isTTY || !process.stdout.isTTY ? process.stderr : process.stdout;
  try {
    return await readHidden(passwordPrompt(c.username, c.unc), stdin, out);
  } catch (e) {
    if (e instanceof PromptCancelled) {
      process.stderr.write(`smbfuse: ${e.message}\n`);
      process.exit(e.how === 'interrupt' ? 130 : 1);
    }
    throw e;
  }
}

async function main(argv: string[]): Promise<void> {
  if (process.env[CHILD_ENV] === '1') return runChild();
  if (argv.length === 0 || argv[0] === '--demo') return runDemo(argv[1]);
  if (argv[0] === 'stats') process.exit(await runStats(argv.slice(1)));
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      process.exit(e.exitCode);
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`smbfuse ${version()}\n`);
    return;
  }
  for (const w of parsed.warnings) process.stderr.write(w + '\n');
  const c = parsed.config;
  const mpErr = checkMountPoint(c.mountpoint);
  if (mpErr) {
    process.stderr.write(mpErr + '\n');
    process.exit(1);
  }
  const stale = staleMountNotice(c.mountpoint);
  if (stale) process.stderr.write(stale + '\n');
  const logErr = c.logFile ? checkLogFile(c.logFile) : null;
  if (logErr) {
    process.stderr.write(logErr + '\n');
    process.exit(1);
  }
  if (parsed.needsPassword) c.password = await askPassword(c);
  else if (c.foreground) hidePasswordFromCmdline(argv, c.password);
  if (!c.foreground && c.debug) process.stderr.write(`smbfuse: debug messages go to ${describeDestination(logDestination(c))}\n`);
  if (!c.foreground) process.exit(await runBackground(c));
  await runMount(
    c,
    (line) => {
      if (line === null) return;
      process.stderr.write(line + '\n');
      process.exit(1);
    },
    (line) => process.stderr.write(line + '\n'),
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`smbfuse: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});

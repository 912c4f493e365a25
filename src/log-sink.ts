/**
 * Where a mount's messages go, and the one function that writes them.
 *
 *  - `log_file=PATH`: appended to PATH (created mode 0600), foreground or not;
 *  - foreground (-f) without log_file: stderr, as before;
 *  - background without log_file: syslog through `logger` (util-linux), which
 *    journald also receives, when /dev/log is a socket; otherwise a file:
 *    /var/log/smbfuse/smbfuse.log for root, else
 *    $XDG_STATE_HOME/smbfuse/smbfuse.log (~/.local/state/smbfuse/).
 *
 * A background daemon's lines written to process.stderr (every `smbfuse: …`
 * message, including a crash report) are sent there too, so nothing a
 * detached daemon says is lost; in the foreground they stay on stderr. Writes to files are
 * synchronous, so the last lines before process.exit() are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type LogLevel = 'err' | 'warning' | 'info' | 'debug';

/** syslog severities (RFC 5424) of our levels; facility user (1). */
const SEVERITY: Record<LogLevel, number> = { err: 3, warning: 4, info: 6, debug: 7 };
const FACILITY_USER = 1;

export type LogDestination = { kind: 'stderr' } | { kind: 'file'; path: string } | { kind: 'syslog' };

export interface LogSink {
  /** Log one message (no trailing newline, no 'smbfuse: ' prefix needed). */
  write(level: LogLevel, line: string): void;
  /** Where lines go, for a person ("syslog", a file path, "stderr"). */
  readonly where: string;
}

/** The fallback log file of a background daemon without syslog. */
export function defaultLogFile(uid: number, env: NodeJS.ProcessEnv): string {
  if (uid === 0) return '/var/log/smbfuse/smbfuse.log';
  const state = env['XDG_STATE_HOME'] || path.join(env['HOME'] || os.homedir(), '.local', 'state');
  return path.join(state, 'smbfuse', 'smbfuse.log');
}

/** Whether /dev/log (syslog or journald) is there to take messages. */
function syslogAvailable(): boolean {
  try {
    return statSync('/dev/log').isSocket();
  } catch {
    return false;
  }
}

/** Choose the destination for a mount (see the header). */
export function logDestination(c: { logFile?: string; foreground: boolean }): LogDestination {
  if (c.logFile) return { kind: 'file', path: c.logFile };
  if (c.foreground) return { kind: 'stderr' };
  if (syslogAvailable()) return { kind: 'syslog' };
  return { kind: 'file', path: defaultLogFile(process.getuid?.() ?? 0, process.env) };
}

/** A person-readable name of a destination. */
export function describeDestination(d: LogDestination): string {
  return d.kind === 'file' ? d.path : d.kind;
}

/**
 * Check that `file` can be opened for appending (the parent does this
 * before starting a daemon); one line saying why not, or null.
 */
export function checkLogFile(file: string): string | null {
  try {
    closeSync(openLogFile(file, false));
    return null;
  } catch (e) {
    return `smbfuse: cannot open log_file=${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** Open for appending; `makeDir` only for the default files (a log_file's directory must exist). */
function openLogFile(file: string, makeDir: boolean): number {
  if (makeDir) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return openSync(file, 'a', 0o600);
}

/** One line, safe for a log: no line breaks or other control characters. */
function clean(line: string): string {
  return line.replace(/^smbfuse: /, '').replace(/[\x00-\x1f\x7f]/g, ' ');
}

function stderrSink(): LogSink {
  return { where: 'stderr', write: (_level, line) => void process.stderr.write(`smbfuse: ${line.replace(/^smbfuse: /, '')}\n`) };
}

function fileSink(file: string, makeDir: boolean): LogSink {
  const fd = openLogFile(file, makeDir);
  return {
    where: file,
    write(level, line) {
      try {
        writeSync(fd, `${new Date().toISOString()} smbfuse[${process.pid}] ${level}: ${clean(line)}\n`);
      } catch {
        // A full or vanished disk must not stop the mount.
      }
    },
  };
}

/**
 * syslog through a long-lived `logger` reading lines on stdin, each with
 * its <priority> prefix, tagged smbfuse[OUR PID]. If logger cannot run or
 * dies, lines go to `fallback` from then on.
 */
function syslogSink(fallback: string): LogSink {
  let child: ChildProcess | null = spawn('logger', ['-t', 'smbfuse', `--id=${process.pid}`, '--prio-prefix'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  let file: LogSink | null = null;
  const fail = () => {
    child = null;
    if (!file) {
      try {
        file = fileSink(fallback, true);
        file.write('warning', `logger (syslog) stopped; logging to ${fallback}`);
      } catch {
        // Nowhere left to log.
      }
    }
  };
  child.on('error', fail);
  child.on('exit', fail);
  child.stdin!.on('error', fail);
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    where: 'syslog',
    write(level, line) {
      if (child) child.stdin!.write(`<${FACILITY_USER * 8 + SEVERITY[level]}>${clean(line)}\n`);
      else file?.write(level, line);
    },
  };
}

/**
 * Open the sink for `dest`. A background daemon (`detached`), whose stderr
 * goes nowhere, has process.stderr routed into it as well. Throws only for a
 * log file that cannot be opened.
 */
export function openLogSink(dest: LogDestination, detached: boolean): LogSink {
  if (dest.kind === 'stderr') return stderrSink();
  const uid = process.getuid?.() ?? 0;
  const sink = dest.kind === 'file' ? fileSink(dest.path, dest.path === defaultLogFile(uid, process.env)) : syslogSink(defaultLogFile(uid, process.env));
  if (detached) routeStderr(sink);
  return sink;
}

/** Send whole lines written to process.stderr to `sink` (level warning). */
function routeStderr(sink: LogSink): void {
  let partial = '';
  const write = (chunk: string | Uint8Array, enc?: unknown, cb?: unknown): boolean => {
    partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l !== '') sink.write(l.includes('internal error') ? 'err' : 'warning', l);
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  process.stderr.write = write as typeof process.stderr.write;
}

/**
 * impacket's example SMB server (Debian's python3-impacket) as a second
 * server implementation for interop tests.
 *
 * `startImpacket()` starts a private `smbserver.py -smb2support` on a free
 * 127.0.0.1 port, serving a fresh temp dir as share `SHARE` to one user with a
 * password, and waits until it accepts connections. `stop()` ends it by its
 * PID and removes the temp dir; a crashed test file still kills it on exit.
 * A missing package is an error, never a skip (.ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Debian's copy of the example; the `impacket` module lives under Debian's own python3. */
const SCRIPT = '/usr/share/doc/python3-impacket/examples/smbserver.py';
const PYTHON = '/usr/bin/python3';
const READY_TIMEOUT_MS = 20_000;

export interface ImpacketServer {
  host: string;
  port: number;
  user: string;
  pass: string;
  /** The share name (impacket upper-cases it). */
  share: string;
  /** Local directory behind the share. */
  sharePath: string;
  pid: number;
  /** The server's own output, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (asked of the kernel). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to the port succeeds; rejects if the child exits or time runs out. */
async function waitListening(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`impacket smbserver exited (${child.exitCode ?? child.signalCode}) before listening:\n${log()}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
      c.setTimeout(1000, () => {
        c.destroy();
        resolve(false);
      });
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`impacket smbserver not listening on 127.0.0.1:${port} after ${READY_TIMEOUT_MS} ms:\n${log()}`);
}

/** Starts a private impacket SMB2 server; see the file comment. */
export async function startImpacket(): Promise<ImpacketServer> {
  if (!existsSync(SCRIPT) || !existsSync(PYTHON)) {
    throw new Error(`${SCRIPT} not found: install python3-impacket (apt-get install python3-impacket)`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'smbfuse-impacket-'));
  const sharePath = path.join(dir, 'share');
  await mkdir(sharePath);
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  const user = 'interop';
  const pass = 'Imp4cket-pw';
  const out = openSync(logFile, 'w');
  const child = spawn(
    PYTHON,
    [SCRIPT, '-smb2support', '-ip', '127.0.0.1', '-port', String(port), '-username', user, '-password', pass, 'SHARE', sharePath],
    { cwd: dir, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  const log = () => {
    try {
      // The log holds NTLM hashes of each logon: keep only the lines that say what happened.
      return readFileSync(logFile, 'latin1').split('\n').filter((l) => !l.includes('::')).slice(-40).join('\n');
    } catch {
      return '';
    }
  };
  let stopped = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Last resort: never leave the server behind when a test file crashes.
  process.once('exit', () => {
    if (!stopped) {
      kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  try {
    await waitListening(child, port, log);
  } catch (e) {
    kill();
    throw e;
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    pass,
    share: 'SHARE',
    sharePath,
    pid: child.pid!,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 5000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

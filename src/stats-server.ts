/**
 * The daemon's side of `smbfuse stats`: a unix socket (path from
 * stats-socket.ts, mode 0600 in a 0700 directory) that answers each
 * connection with one JSON snapshot and closes it. It reads nothing from
 * the client, so there is nothing to parse or trust. The socket is removed
 * when the server is closed and when the process exits.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import * as path from 'node:path';
import { prepareSocketDir, statsSocketPath } from './stats-socket.js';

/** How long a reader may hold its connection before it is dropped. */
const CLIENT_BOUND_MS = 5000;
/** How often a socket another daemon still serves is looked at again (startStatsServer's waitMs). */
const BUSY_POLL_MS = 250;

export interface StatsServer {
  readonly path: string;
  close(): void;
}

/** Whether something answers on the socket at `p` (a live daemon owns it). */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const t = setTimeout(() => (s.destroy(), resolve(true)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}

/** Why there is no server: one line for the log; `busy` when another daemon serves the socket. */
export interface StatsRefused {
  reason: string;
  busy: boolean;
}

/**
 * Serve `snapshot()` for `mountpoint`. While another daemon serves the
 * socket (the last mount on the same point, still ending), wait up to
 * `waitMs` for it to go. Resolves to the server, or to why there is none;
 * never throws.
 */
export async function startStatsServer(mountpoint: string, snapshot: () => unknown, waitMs = 0): Promise<StatsServer | StatsRefused> {
  const uid = process.getuid?.() ?? 0;
  const sock = statsSocketPath(mountpoint, uid, process.env);
  const bad = prepareSocketDir(path.dirname(sock), uid);
  if (bad) return { reason: `no statistics for ${mountpoint}: ${bad}`, busy: false };
  const until = Date.now() + waitMs;
  while (await answers(sock)) {
    if (Date.now() >= until) return { reason: `no statistics for ${mountpoint}: another smbfuse serves ${sock}`, busy: true };
    await new Promise((r) => setTimeout(r, BUSY_POLL_MS));
  }
  try {
    unlinkSync(sock); // left by a daemon that did not exit cleanly
  } catch {
    // not there
  }
  const server = net.createServer((conn) => {
    conn.on('error', () => {});
    conn.setTimeout(CLIENT_BOUND_MS, () => conn.destroy());
    let text: string;
    try {
      text = JSON.stringify(snapshot()) + '\n';
    } catch (e) {
      text = JSON.stringify({ error: (e as Error).message }) + '\n';
    }
    conn.end(text);
  });
  server.on('error', () => {});
  const listening = await new Promise<string | null>((resolve) => {
    server.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    server.listen(sock, () => resolve(null));
  });
  if (listening) return { reason: `no statistics for ${mountpoint}: cannot listen on ${sock} (${listening})`, busy: false };
  chmodSync(sock, 0o600);
  server.unref();
  const remove = () => {
    try {
      unlinkSync(sock);
    } catch {
      // already gone
    }
  };
  process.once('exit', remove);
  return {
    path: sock,
    close() {
      // The name goes first: a daemon mounted here next finds it gone, or
      // still answered, never a name it made that this one then removes.
      remove();
      server.close();
      process.removeListener('exit', remove);
    },
  };
}

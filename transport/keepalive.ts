/**
 * Liveness of a connection, part of its state machine (connection.ts): when
 * a ready connection has received nothing for `intervalMs`, probe the server
 * with an ECHO (MS-SMB2 2.2.28), as the kernel client does. When nothing at
 * all arrives within two intervals of the probe, the server is declared
 * dead: the connection drops, and then reconnects (when the client set a
 * reconnect policy) or closes, so waiters never hang on a silent peer.
 */
import type { SmbConnection } from './connection.js';
import { SmbTransportError } from './errors.js';
import { SmbMessage } from './message.js';
import { Smb2Command } from './pdu/header.js';
import { decodeEchoResponse, encodeEchoRequest } from './pdu/misc.js';
import { expectStatus } from './session.js';

/** Send one ECHO on `conn` (sessionId is optional for ECHO) and check the reply. */
export async function echo(conn: SmbConnection, sessionId = 0n): Promise<void> {
  const m = new SmbMessage(Smb2Command.ECHO, encodeEchoRequest());
  m.sessionId = sessionId;
  m.urgent = true;
  const r = await conn.request(m);
  expectStatus(r);
  decodeEchoResponse(r.msg);
}

/**
 * Start watching `conn`; returns a function that stops it. It stops by
 * itself when the connection closes for good. `sessionId` may be a getter,
 * since a reconnect makes a new session.
 */
export function startKeepalive(conn: SmbConnection, intervalMs: number, sessionId: bigint | (() => bigint) = 0n): () => void {
  const sid = typeof sessionId === 'function' ? sessionId : () => sessionId;
  /** When the unanswered probe went out (0: none). */
  let probeAt = 0;
  const timer = setInterval(() => {
    if (conn.isClosed) return stop();
    if (!conn.isReady) {
      probeAt = 0;
      return;
    }
    const now = Date.now();
    if (probeAt && conn.lastReceiveAt >= probeAt) probeAt = 0;
    if (probeAt && now - probeAt >= 2 * intervalMs) {
      probeAt = 0;
      conn.declareDead(new SmbTransportError(`server did not answer ECHO within ${2 * intervalMs} ms`));
      return;
    }
    if (!probeAt && now - conn.lastReceiveAt >= intervalMs) {
      probeAt = now;
      // A failed probe says nothing more than silence does: the check above decides.
      echo(conn, sid()).catch(() => {});
    }
  }, Math.max(10, Math.floor(intervalMs / 2)));
  timer.unref();
  const stop = () => clearInterval(timer);
  conn.once('close', stop);
  return stop;
}

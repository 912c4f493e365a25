/**
 * Keepalive: when a connection has received nothing for `intervalMs`, probe
 * the server with an ECHO (MS-SMB2 2.2.28), as the kernel client does. A server
 * that does not answer within the request timeout is treated as gone: the
 * connection is closed, so waiters fail instead of hanging.
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

/** Start probing an idle connection; returns a function that stops it. */
export function startKeepalive(conn: SmbConnection, intervalMs: number, sessionId = 0n): () => void {
  let probing = false;
  const timer = setInterval(() => {
    if (probing || conn.isClosed || Date.now() - conn.lastReceiveAt < intervalMs) return;
    probing = true;
    echo(conn, sessionId)
      .catch((e: Error) => {
        if (!conn.isClosed) conn.close(new SmbTransportError(`server did not answer ECHO: ${e.message}`, { cause: e }));
      })
      .finally(() => {
        probing = false;
      });
  }, intervalMs);
  timer.unref();
  conn.once('close', () => clearInterval(timer));
  return () => clearInterval(timer);
}

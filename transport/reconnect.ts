/**
 * The client's half of the connection state machine: when the connection
 * drops, make it again with backoff (0.1 s doubling to 5 s, for as long as
 * the client is open), NEGOTIATE the same dialect with the same ClientGuid,
 * set the session up with the same credentials, connect every tree again,
 * take back the durable opens, and let the connection resend what it parked.
 *
 * A server that comes back with another dialect, refuses the credentials or
 * fails negotiate validation is not retried: the connection closes and every
 * waiter fails.
 */
import type { SmbConnection } from './connection.js';
import { SmbAuthError, SmbProtocolError, SmbStatusError } from './errors.js';
import { NtStatus } from './ntstatus.js';
import { dialectName, negotiate, sessionSetup, type Negotiated, type SessionState } from './session.js';
import type { Tree } from './tree.js';
import { Dialect, type SmbConnectOptions } from './types.js';
import { needsValidateNegotiate, SmbDowngradeError, validateNegotiate } from './validate-negotiate.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;

/** Statuses that say the credentials are refused: retrying would only lock the account. */
const AUTH_REFUSED = new Set<number>([
  NtStatus.STATUS_LOGON_FAILURE,
  NtStatus.STATUS_WRONG_PASSWORD,
  NtStatus.STATUS_ACCOUNT_DISABLED,
  NtStatus.STATUS_ACCOUNT_LOCKED_OUT,
  NtStatus.STATUS_ACCOUNT_EXPIRED,
  NtStatus.STATUS_PASSWORD_EXPIRED,
]);

/** What a reconnect works on: the client's live state, updated in place. */
export interface ReconnectTarget {
  conn: SmbConnection;
  opts: SmbConnectOptions;
  negotiated: Negotiated;
  session: SessionState;
  trees: Iterable<Tree>;
}

/** The outcome of one successful reconnect. */
export interface Reconnected {
  /** From the drop to the connection being ready again. */
  ms: number;
  attempts: number;
  reclaimed: number;
  reopened: number;
  lost: number;
}

/** An error after which trying again is pointless. */
function isFatal(e: unknown): boolean {
  if (e instanceof SmbAuthError || e instanceof SmbDowngradeError) return true;
  if (e instanceof SmbStatusError) return AUTH_REFUSED.has(e.status);
  return e instanceof SmbProtocolError && /dialect/.test(e.message);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reconnect until it works or the connection is closed; null if it was closed. */
export async function reconnect(t: ReconnectTarget): Promise<Reconnected | null> {
  const { conn } = t;
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    if (conn.isClosed) return null;
    try {
      const r = await attemptOnce(t);
      return { ms: Date.now() - conn.droppedAt, attempts: attempt, ...r };
    } catch (e) {
      if (conn.isClosed) return null;
      if (isFatal(e)) {
        conn.close(e as Error);
        return null;
      }
      // Drop whatever this attempt left open; the parked requests stay parked.
      conn.declareDead(e as Error);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

async function attemptOnce(t: ReconnectTarget): Promise<{ reclaimed: number; reopened: number; lost: number }> {
  const { conn, opts } = t;
  await conn.redial();
  const neg = await negotiate(conn, opts, t.negotiated.sent.clientGuid);
  if (neg.dialect !== t.negotiated.dialect) {
    throw new SmbProtocolError(`server came back with dialect SMB ${dialectName(neg.dialect)} instead of SMB ${dialectName(t.negotiated.dialect)}; not reconnecting`);
  }
  const oldSession = t.session.sessionId;
  const session = await sessionSetup(conn, neg, opts);
  if (session.sessionId !== oldSession) {
    conn.setSigner(oldSession, null);
    conn.setEncryption(oldSession, null, false);
  }
  // Trees and their cores hold these very objects: everything sent from now on uses the new session.
  Object.assign(t.negotiated, neg);
  Object.assign(t.session, session);
  const treeIds = new Map<number, number>();
  let validated = false;
  for (const tree of t.trees) {
    const old = await tree.reconnect();
    treeIds.set(old, tree.treeId);
    if (!validated && needsValidateNegotiate(neg, t.session)) await validateNegotiate(conn, neg, t.session, tree.treeId);
    validated = true;
  }
  const out = { reclaimed: 0, reopened: 0, lost: 0 };
  for (const tree of t.trees) {
    const r = await tree.reopenDurables();
    out.reclaimed += r.reclaimed;
    out.reopened += r.reopened;
    out.lost += r.lost;
  }
  conn.resume({ oldSessionId: oldSession, sessionId: t.session.sessionId, treeIds, replayFlag: neg.dialect >= Dialect.SMB3_0 });
  return out;
}

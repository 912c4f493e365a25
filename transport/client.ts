/**
 * The SMB client: one connection, one authenticated session, and the trees
 * connected through it.
 */
import { SmbConnection } from './connection.js';
import { SmbMessage } from './message.js';
import { NtStatus } from './ntstatus.js';
import { Smb2Command } from './pdu/header.js';
import { encodeLogoffRequest } from './pdu/misc.js';
import { expectStatus, negotiate, sessionSetup, type Negotiated, type SessionState } from './session.js';
import { echo, startKeepalive } from './keepalive.js';
import { reconnect, type Reconnected } from './reconnect.js';
import type { SmbStatsSnapshot } from './stats.js';
import { Tree } from './tree.js';
import { needsValidateNegotiate, validateNegotiate } from './validate-negotiate.js';
import { Dialect, type SmbConnectOptions } from './types.js';
import { transportChannel, type TransportEvent } from './connection.js';

export interface SmbClientStats extends SmbStatsSnapshot {
  creditsInFlight: number;
  creditsAvailable: number;
  connected: boolean;
  reconnects: number;
  /** Drop to ready of the last reconnect, in ms (0: none yet). */
  lastReconnectMs?: number;
}

export class SmbClient {
  private readonly trees = new Set<Tree>();
  /** FSCTL_VALIDATE_NEGOTIATE_INFO has run (after the first TREE_CONNECT). */
  private validated = false;
  private reconnects = 0;
  private lastReconnect: Reconnected | null = null;
  private reconnecting: Promise<Reconnected | null> | null = null;

  private constructor(
    private readonly conn: SmbConnection,
    private readonly opts: SmbConnectOptions,
    readonly negotiated: Negotiated,
    readonly session: SessionState,
  ) {
    if (!opts.reconnect) return;
    conn.replayAllowed = negotiated.dialect >= Dialect.SMB3_0;
    conn.enableReconnect({ softTimeoutMs: opts.reconnect.softTimeoutMs });
    conn.on('disconnected', (e) => this.onDisconnected(e));
  }

  /** The connection dropped: reconnect in the background (once at a time). */
  private onDisconnected(e: Error): void {
    note(`connection to ${this.opts.host}:${this.opts.port} lost (${e.message}); reconnecting`);
    if (this.reconnecting) return;
    this.reconnecting = reconnect({ conn: this.conn, opts: this.opts, negotiated: this.negotiated, session: this.session, trees: this.trees });
    void this.reconnecting.then((r) => {
      this.reconnecting = null;
      if (!r) return;
      this.reconnects++;
      this.lastReconnect = r;
      const handles = r.reclaimed + r.reopened + r.lost > 0 ? `; open files: ${r.reclaimed} reclaimed, ${r.reopened} reopened, ${r.lost} lost` : '';
      note(`reconnected to ${this.opts.host}:${this.opts.port} after ${r.ms} ms (${r.attempts} attempt${r.attempts > 1 ? 's' : ''})${handles}`);
    });
  }

  /** The last reconnect (null: none yet). */
  get lastReconnected(): Reconnected | null {
    return this.lastReconnect;
  }

  get dialect(): Dialect {
    return this.negotiated.dialect;
  }

  /** The connection's events (close, server notifications). */
  get connection(): SmbConnection {
    return this.conn;
  }

  /** The connection's statistics (transport/stats.ts) with its credits, state and reconnects. */
  stats(): SmbClientStats {
    return {
      ...this.conn.stats.snapshot(),
      creditsInFlight: this.conn.credits.inFlight,
      creditsAvailable: this.conn.credits.available,
      connected: this.conn.isReady,
      reconnects: this.reconnects,
      lastReconnectMs: this.lastReconnect?.ms ?? 0,
    };
  }

  /** Probe the server with an ECHO round trip. */
  echo(): Promise<void> {
    return echo(this.conn, this.session.sessionId);
  }

  /** Connect, negotiate and authenticate. */
  static async connect(opts: SmbConnectOptions): Promise<SmbClient> {
    const timeout = opts.timeoutMs ?? 30000;
    opts.onStep?.('TCP');
    const conn = await SmbConnection.open(opts.host, opts.port, timeout);
    try {
      opts.onStep?.('NEGOTIATE');
      const neg = await negotiate(conn, opts);
      opts.onStep?.('SESSION_SETUP');
      const session = await sessionSetup(conn, neg, opts);
      if ((opts.echoIntervalMs ?? 60000) > 0) startKeepalive(conn, opts.echoIntervalMs ?? 60000, () => session.sessionId);
      return new SmbClient(conn, opts, neg, session);
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  async treeConnect(share: string): Promise<Tree> {
    const t = await Tree.connect(this.conn, this.negotiated, this.session, this.opts.host, share);
    if (!this.validated && needsValidateNegotiate(this.negotiated, this.session)) {
      try {
        await validateNegotiate(this.conn, this.negotiated, this.session, t.treeId);
      } catch (e) {
        this.conn.close(e as Error);
        throw e;
      }
    }
    this.validated = true;
    this.trees.add(t);
    return t;
  }

  /** Disconnect every tree, log off and close the socket; never throws. */
  async close(): Promise<void> {
    // Closing while the server is away: nothing to log off from, and nothing may wait for it.
    if (!this.conn.isReady) {
      this.trees.clear();
      this.conn.close();
      return;
    }
    for (const t of this.trees) await t.disconnect().catch(() => {});
    this.trees.clear();
    if (!this.conn.isClosed) {
      try {
        const m = new SmbMessage(Smb2Command.LOGOFF, encodeLogoffRequest());
        m.sessionId = this.session.sessionId;
        const r = await this.conn.request(m);
        expectStatus(r, [NtStatus.STATUS_SUCCESS, NtStatus.STATUS_USER_SESSION_DELETED]);
      } catch {
        // Logging off is a courtesy; the socket closes either way.
      }
    }
    this.conn.close();
  }
}

/** Connect, negotiate and authenticate (see SmbClient.connect). */
export function connect(opts: SmbConnectOptions): Promise<SmbClient> {
  return SmbClient.connect(opts);
}

/** One line on the 'smbfuse:transport' channel (the mount logs it). */
function note(message: string): void {
  if (transportChannel.hasSubscribers) transportChannel.publish({ event: 'reconnect', command: 0, messageId: 0n, message } satisfies TransportEvent);
}

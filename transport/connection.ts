/**
 * One TCP connection to an SMB server: framing, message ids and credits, the
 * outstanding-request map, signing hooks, and the one-write-per-message send
 * path. Each request (or compound) goes to the socket as a single gathered
 * write: cork, write the prefix+header+body and each payload slice, uncork.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Credits } from './credits.js';
import { SmbProtocolError, SmbTimeoutError, SmbTransportError } from './errors.js';
import type { SmbMessage, SmbResponse } from './message.js';
import { fileIdOf, isSetup, replayClass, rewriteFileId } from './replay.js';
import { NtStatus } from './ntstatus.js';
import { decodeHeader, encodeHeader, Smb2Command, Smb2Flags, SMB2_HEADER_SIZE, type Smb2Header } from './pdu/header.js';
import { decodeReadResponseFixed, READ_RESPONSE_FIXED_END } from './pdu/read.js';
import { WRITE_REQUEST_FIXED } from './pdu/write.js';
import { Receiver, type DecantedRead, type DecantTarget } from './receiver.js';
import { SmbStats } from './stats.js';
import type { SessionCipher, TransformOpener } from './transform.js';

/** Per-session signing, registered by the session once its keys exist. */
export interface Signer {
  /** Every request is signed and every response must verify. */
  required: boolean;
  /** Write the signature into fragments[0] (the header) at offset 48. */
  sign(fragments: Buffer[]): void;
  /** Check the signature of a received message given as fragments. */
  verify(fragments: Buffer[]): boolean;
}

/** An unsolicited server message (oplock or lease break). */
export interface ServerNotification {
  header: Smb2Header;
  msg: Buffer;
}

const UNSOLICITED_MID = 0xffffffffffffffffn;

/** A request on the wire, waiting for its reply. */
interface Outstanding {
  msg: SmbMessage;
  /** First member of its compound (the unit that is resent after a reconnect). */
  head: SmbMessage;
  /** Credits it spent (returned to the window when it is answered or given up). */
  charge: number;
  timer: NodeJS.Timeout | null;
  sealed: boolean;
  /** When it was sent (SmbStats.sent), for its latency. */
  startedAt: number;
}

/** Encryption of one session: its cipher, and where it applies. */
interface SessionSeal {
  cipher: SessionCipher;
  /** Every message of the session (SESSION_FLAG_ENCRYPT_DATA or `seal`). */
  all: boolean;
  /** Trees whose share requires encryption (SHI1005_FLAGS_ENCRYPT_DATA). */
  trees: Set<number>;
}

/**
 * Security events of the transport ({ event: 'bad-signature' | 'unsigned-reply' |
 * 'session-mismatch', command, messageId, message }): a reply refused for its
 * signature or for naming another session than its request. The connection is
 * reset right after the event.
 */
export const transportChannel = diagnosticsChannel.channel('smbfuse:transport');
export interface TransportEvent {
  event: 'bad-signature' | 'unsigned-reply' | 'session-mismatch' | 'handle-lost' | 'reconnect';
  command: number;
  messageId: bigint;
  message: string;
}

export interface ConnectionEvents {
  notification: [ServerNotification];
  /** Closed for good: no reconnect follows. */
  close: [Error | null];
  /** The socket dropped; requests wait while the client reconnects (only with a reconnect policy). */
  disconnected: [Error];
  /** Back in service after a reconnect. */
  ready: [];
}

/**
 * connecting → negotiating → ready → (disconnected → reconnecting → negotiating → ready);
 * closed at the end. Only setup requests (NEGOTIATE, SESSION_SETUP, TREE_CONNECT and
 * those marked `setup`) are sent while negotiating after a reconnect.
 */
export type ConnectionState = 'connecting' | 'negotiating' | 'ready' | 'disconnected' | 'reconnecting' | 'closed';

/** How a connection behaves while its server is away (set by the client once it is set up). */
export interface ReconnectPolicy {
  /** 0: hard (wait until the server is back); else soft: a waiting call fails after this many ms. */
  softTimeoutMs: number;
}

/** Internal: a credit waiter whose connection dropped goes back to the gate. */
const RESEND = new SmbTransportError('connection dropped while waiting for credits');

/** Bytes a WRITE request carries: its payload, or the data inline after its fixed part (a compound member's). */
function writeLength(m: SmbMessage): number {
  return m.payloadLength > 0 ? m.payloadLength : Math.max(0, m.body.length - WRITE_REQUEST_FIXED);
}

interface GateWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class SmbConnection extends EventEmitter<ConnectionEvents> {
  readonly credits = new Credits();
  /** false for 2.0.2: CreditCharge is sent as 0 and every request costs one id. */
  multiCredit = false;
  private readonly outstanding = new Map<bigint, Outstanding>();
  private readonly signers = new Map<bigint, Signer>();
  private readonly seals = new Map<bigint, SessionSeal>();
  /** Messages sent encrypted and transform frames decrypted (tests, diagnostics). */
  readonly sealStats = { sealed: 0, opened: 0 };
  private closed: Error | null = null;
  /** Received bytes that verified badly or broke the framing end the connection. */
  lastFatal: Error | null = null;
  /** Requests signed and replies whose signature verified (tests, diagnostics). */
  readonly signStats = { signed: 0, verified: 0 };
  /** When bytes last arrived (for the keepalive's idle check). */
  lastReceiveAt = Date.now();
  /** Requests, errors, bytes and latency per command (transport/stats.ts). */
  readonly stats = new SmbStats();

  state: ConnectionState = 'connecting';
  private socket: net.Socket | null = null;
  /** The socket corked until the check phase (writeGathered), if any. */
  private corked: net.Socket | null = null;
  /** Bumped on every new socket: events of an older one are ignored. */
  private epoch = 0;
  private policy: ReconnectPolicy | null = null;
  /** State-changing requests may be replayed (3.x: SMB2_FLAGS_REPLAY_OPERATION); set by the client. */
  replayAllowed = false;
  /** Compounds (by their first member) that wait to be resent after a reconnect. */
  private parked: SmbMessage[] = [];
  private parkTimer: NodeJS.Timeout | null = null;
  private readonly gateWaiters = new Set<GateWaiter>();
  /** FileIds the last reconnect replaced (old hex → new id), applied to requests built before it. */
  private readonly fileIdMap = new Map<string, Buffer>();
  /** Session ids of earlier connections → the current session and tree ids. */
  private readonly staleIds = new Map<bigint, { session: bigint; trees: Map<number, number> }>();
  /** Requests from before a reconnect (parked and sent again, or held at the gate): FileIds they name are rewritten. */
  private readonly resent = new WeakSet<SmbMessage>();
  /** FileIds that could not be reopened after a reconnect: requests on them fail with this error. */
  private readonly lostHandles = new Map<string, Error>();
  /** When the last drop happened (reconnect-time measurements). */
  droppedAt = 0;

  private constructor(
    readonly host: string,
    readonly port: number,
    readonly timeoutMs: number,
  ) {
    super();
  }

  /** Open the TCP connection (no SMB traffic yet). */
  static async open(host: string, port: number, timeoutMs: number): Promise<SmbConnection> {
    const c = new SmbConnection(host, port, timeoutMs);
    await c.dial();
    return c;
  }

  /**
   * Make a new TCP connection and attach it. The receiver exists before the
   * socket, because net asks it for the first read buffer at once; reads land
   * where the receiver says: READ payloads straight in their chain.
   */
  private dial(): Promise<void> {
    const { host, port, timeoutMs } = this;
    const epoch = ++this.epoch;
    const live = () => this.epoch === epoch;
    const receiver = new Receiver({
      decantTarget: (h, len) => (live() ? this.decantTarget(h, len) : null),
      onFrame: (f, sealedBy) => void (live() && this.onFrame(f, sealedBy)),
      openTransform: (h, n) => this.openTransform(h, n),
      onDecanted: (r) => void (live() && this.onDecanted(r)),
      onBadDecant: (h, e) => void (live() && this.failMid(h, e)),
      onFatal: (e) => void (live() && this.destroy(e)),
    });
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host,
        port,
        onread: {
          buffer: () => receiver.readBuffer(),
          callback: (n: number) => {
            if (live()) this.lastReceiveAt = Date.now();
            receiver.filled(n);
            return true;
          },
        },
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SmbTimeoutError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new SmbTransportError(`cannot connect to ${host}:${port}: ${e.code ?? e.message}`, { cause: e }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        if (!live() || this.state === 'closed') {
          socket.destroy();
          reject(this.closed ?? new SmbTransportError('connection replaced'));
          return;
        }
        socket.setNoDelay(true);
        socket.on('error', (e) => void (live() && this.destroy(new SmbTransportError(`connection error: ${e.message}`, { cause: e }))));
        socket.on('close', () => void (live() && this.destroy(new SmbTransportError('connection closed by server'))));
        this.socket = socket;
        this.lastReceiveAt = Date.now();
        this.state = 'negotiating';
        resolve();
      });
    });
  }

  /**
   * From now on a drop does not close: requests wait (or, soft, fail after
   * the policy's bound) and 'disconnected' asks the client to reconnect.
   */
  enableReconnect(policy: ReconnectPolicy): void {
    this.policy = policy;
    if (this.state === 'negotiating') this.state = 'ready';
  }

  /** Reconnect step 1: a new TCP connection (state negotiating: only setup requests go out). */
  async redial(): Promise<void> {
    if (this.closed) throw this.closed;
    this.state = 'reconnecting';
    this.credits.reset();
    try {
      await this.dial();
    } catch (e) {
      if (this.state === 'reconnecting') this.state = 'disconnected';
      throw e;
    }
  }

  /**
   * Reconnect done: parked requests go out again on the new session and
   * trees (ids remapped by the caller), with FileIds a reopen replaced and,
   * where `replayFlag` (3.x), SMB2_FLAGS_REPLAY_OPERATION on the ones that
   * are not idempotent. Then every waiting sender goes on.
   */
  resume(remap: { oldSessionId: bigint; sessionId: bigint; treeIds: Map<number, number>; replayFlag: boolean }): void {
    if (this.state !== 'negotiating') return;
    this.state = 'ready';
    // Requests built before the drop name the old session and trees: send() rewrites them.
    for (const e of this.staleIds.values()) {
      e.session = remap.sessionId;
      for (const [k, v] of e.trees) e.trees.set(k, remap.treeIds.get(v) ?? v);
    }
    if (remap.oldSessionId !== remap.sessionId) this.staleIds.set(remap.oldSessionId, { session: remap.sessionId, trees: new Map(remap.treeIds) });
    if (this.parkTimer) clearTimeout(this.parkTimer);
    this.parkTimer = null;
    for (const head of this.parked.splice(0)) {
      const members = head.members();
      for (const m of members) this.resent.add(m);
      if (remap.replayFlag && members.some((m) => replayClass(m) === 'replay')) for (const m of members) m.flags |= Smb2Flags.REPLAY_OPERATION;
      void this.send(head).catch((e: Error) => {
        for (const m of members) m.fail(e);
      });
    }
    for (const w of this.gateWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve();
    }
    this.gateWaiters.clear();
    this.emit('ready');
  }

  /** Point a request built before a reconnect at the session, tree and handle that replaced its own. */
  private refresh(m: SmbMessage): void {
    const e = this.staleIds.get(m.sessionId);
    if (e) {
      m.sessionId = e.session;
      m.treeId = e.trees.get(m.treeId) ?? m.treeId;
    }
    // Only requests from before the reconnect: a new open may be given an id an old one had.
    if (e || this.resent.has(m)) rewriteFileId(m, this.fileIdMap);
  }

  /** A reconnect replaced `oldId` with `newId` (parked requests are rewritten on resume). */
  mapFileId(oldId: Buffer, newId: Buffer): void {
    if (oldId.equals(newId)) return;
    const to = Buffer.from(newId);
    // A reconnect that took several attempts replaces an id more than once:
    // requests parked since the first must go to the last.
    for (const [k, v] of this.fileIdMap) if (v.equals(oldId)) this.fileIdMap.set(k, to);
    this.fileIdMap.set(oldId.toString('hex'), to);
  }

  /** Requests on `fileId` fail with `why` from now on (a handle that could not be reopened). */
  markHandleLost(fileId: Buffer, why: Error): void {
    this.lostHandles.set(fileId.toString('hex'), why);
    if (transportChannel.hasSubscribers) {
      transportChannel.publish({ event: 'handle-lost', command: Smb2Command.CREATE, messageId: 0n, message: why.message } satisfies TransportEvent);
    }
  }

  /** The handle was closed: forget that it was lost. */
  forgetHandle(fileId: Buffer): void {
    this.lostHandles.delete(fileId.toString('hex'));
  }

  /** The server is gone (no ECHO answer, no reply in time): drop, then reconnect or close. */
  declareDead(why: Error): void {
    this.destroy(why);
  }

  /** Bytes a READ or WRITE can carry without waiting: 64 KiB a credit in hand (any size on 2.0.2, one credit each). */
  get transferBudget(): number {
    return this.multiCredit ? Math.max(1, this.credits.available) * 65536 : Number.MAX_SAFE_INTEGER;
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  /** Up and usable now (not closed, not between connections). */
  get isReady(): boolean {
    return this.state === 'ready' || (this.policy === null && this.state === 'negotiating');
  }

  setSigner(sessionId: bigint, signer: Signer | null): void {
    if (signer) this.signers.set(sessionId, signer);
    else this.signers.delete(sessionId);
  }

  /**
   * Encrypt the session's traffic with `cipher`: every message when `all`,
   * else only messages to trees added by sealTree(). null removes it.
   */
  setEncryption(sessionId: bigint, cipher: SessionCipher | null, all: boolean): void {
    if (cipher) this.seals.set(sessionId, { cipher, all, trees: new Set() });
    else this.seals.delete(sessionId);
  }

  /** Messages to this tree are encrypted (a share that requires encryption). */
  sealTree(sessionId: bigint, treeId: number): void {
    const s = this.seals.get(sessionId);
    if (!s) throw new SmbProtocolError(`tree 0x${treeId.toString(16)} requires encryption but the session has no keys`);
    s.trees.add(treeId);
  }

  /** The cipher a message (or compound) must be sent with, or null for plain. */
  private sealFor(members: SmbMessage[]): SessionCipher | null {
    const s = this.seals.get(members[0]!.sessionId);
    if (!s) return null;
    if (s.all || members.some((m) => s.trees.has(m.treeId))) return s.cipher;
    return null;
  }

  /**
   * Send one message or a compound (linked by `next`). Resolves when it is on
   * the wire; each member's response arrives on its own `done`. An encrypted
   * message is one transform buffer (length prefix included): still one write.
   */
  async send(first: SmbMessage): Promise<void> {
    const members = first.members();
    for (;;) {
      const held = this.gate(first);
      if (held) {
        await held;
        // Built before the reconnect it waited for: a FileId it names may have been replaced.
        for (const m of members) this.resent.add(m);
      }
      // After any wait: the reconnect this waited for may have replaced or lost its handle.
      if (this.staleIds.size > 0 || this.fileIdMap.size > 0) for (const m of members) this.refresh(m);
      for (const m of members) {
        const lost = this.lostHandleOf(m);
        if (lost) throw lost;
      }
      const epoch = this.epoch;
      const charges = members.map((m) => (this.multiCredit ? m.creditCharge : 1));
      const total = charges.reduce((a, b) => a + b, 0);
      // One deadline covers the wait for credits and the wait for the reply.
      const deadline = this.timeoutMs > 0 ? Date.now() + this.timeoutMs : 0;
      let mid: bigint;
      try {
        mid = await this.credits.acquire(total, { timeoutMs: this.timeoutMs, urgent: first.urgent });
      } catch (e) {
        if (e === RESEND) continue;
        throw e;
      }
      if (this.closed) {
        this.credits.settle(total);
        throw this.closed;
      }
      // The connection was replaced while this waited: its ids are void, start over.
      if (epoch !== this.epoch || !this.socket || !this.passes(first)) continue;
      if (this.staleIds.size > 0 || this.fileIdMap.size > 0) for (const m of members) this.refresh(m);
      for (const m of members) {
        if (!m.tree) continue;
        m.sessionId = m.tree.session.sessionId;
        m.treeId = m.tree.treeId;
      }
      const seal = this.sealFor(members);
      const frags: Buffer[] = [];
      let frameLen = 0;
      members.forEach((m, i) => {
        m.messageId = mid;
        mid += BigInt(charges[i]!);
        const parts = this.frameMember(m, i === members.length - 1, charges[i]!, total, seal !== null);
        for (const p of parts) frameLen += p.length;
        frags.push(...parts);
        this.track(m, first, charges[i]!, seal !== null, deadline);
      });
      if (seal) {
        const out = seal.seal(frags, 4);
        this.sealStats.sealed++;
        out.writeUInt32BE(out.length - 4, 0);
        this.writeGathered(this.socket, [out]);
        return;
      }
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeUInt32BE(frameLen, 0);
      this.writeGathered(this.socket, [prefix, ...frags]);
      return;
    }
  }

  /** Whether `first` may go out now (setup requests only while a reconnect negotiates). */
  private passes(first: SmbMessage): boolean {
    if (this.policy === null || this.state === 'ready') return true;
    return this.state === 'negotiating' && isSetup(first);
  }

  /**
   * Wait until the connection can carry `first`: at once when it is up;
   * otherwise until a reconnect completes, or (soft) at most the policy's
   * bound. A setup request never waits: it belongs to the reconnect that failed.
   */
  private gate(first: SmbMessage): Promise<void> | void {
    if (this.closed) throw this.closed;
    if (this.passes(first)) return;
    if (isSetup(first)) throw new SmbTransportError(`connection to ${this.host}:${this.port} lost during setup`, this.lastFatal ?? undefined);
    const soft = this.policy?.softTimeoutMs ?? 0;
    return new Promise((resolve, reject) => {
      const w: GateWaiter = { resolve, reject, timer: null };
      if (soft > 0) {
        w.timer = setTimeout(() => {
          this.gateWaiters.delete(w);
          reject(this.softError());
        }, soft);
      }
      this.gateWaiters.add(w);
    });
  }

  /** What a soft mount's call fails with while the server is away. */
  private softError(): SmbTransportError {
    const s = (this.policy?.softTimeoutMs ?? 0) / 1000;
    const e = new SmbTransportError(`server ${this.host}:${this.port} unreachable for ${s} s (soft mount)`, this.lastFatal ?? undefined);
    e.final = true;
    return e;
  }

  /** The error for a request on a handle that a reconnect could not bring back, or null. */
  private lostHandleOf(m: SmbMessage): Error | null {
    if (this.lostHandles.size === 0) return null;
    const id = fileIdOf(m);
    return (id && this.lostHandles.get(id.toString('hex'))) || null;
  }

  /** Send and wait for the final response of a single message. */
  async request(msg: SmbMessage): Promise<SmbResponse> {
    await this.send(msg);
    return msg.done;
  }

  /** Close for good (no reconnect); every waiter fails (with `why` when given). */
  close(why: Error = new SmbTransportError('connection closed')): void {
    this.policy = null;
    this.destroy(why);
  }

  /**
   * Encode one member: header, body, padding to 8 bytes unless last, then
   * payload slices (only a last member may carry payload). Signs if needed.
   */
  private frameMember(m: SmbMessage, last: boolean, charge: number, totalCharge: number, sealed: boolean): Buffer[] {
    const payloadLen = m.payloadLength;
    if (payloadLen > 0 && !last) throw new Error('payload only allowed on the last compound member');
    const len = SMB2_HEADER_SIZE + m.body.length + payloadLen;
    const pad = last ? 0 : (8 - (len % 8)) % 8;
    const signer = this.signers.get(m.sessionId);
    // An encrypted message is not signed: the AEAD tag covers it.
    const sign = !sealed && signer !== undefined && (signer.required || m.forceSign) && m.sessionId !== 0n;
    let flags = m.flags;
    if (m.related) flags |= Smb2Flags.RELATED_OPERATIONS;
    if (sign) flags |= Smb2Flags.SIGNED;
    const head = Buffer.alloc(SMB2_HEADER_SIZE + m.body.length + pad);
    encodeHeader(
      {
        creditCharge: this.multiCredit ? charge : 0,
        status: 0,
        command: m.command,
        creditRequest: m.creditRequest || this.credits.askFor(totalCharge),
        flags,
        nextCommand: last ? 0 : len + pad,
        messageId: m.messageId,
        asyncId: 0n,
        treeId: m.treeId,
        sessionId: m.sessionId,
        signature: Buffer.alloc(16),
      },
      head,
      0,
    );
    m.body.copy(head, SMB2_HEADER_SIZE);
    const parts = [head, ...m.payload];
    if (sign) {
      signer.sign(parts);
      this.signStats.signed++;
    }
    m.wire = parts;
    return parts;
  }

  /**
   * Queue every fragment of one message for the socket. The socket stays
   * corked until the event loop's check phase, so every message sent in
   * this turn of the loop (calls from several callers, replies that release
   * the next requests) leaves in one writev: one system call and one
   * wake-up of the server for all of them, each message still whole and in
   * order.
   */
  private writeGathered(s: net.Socket, frags: Buffer[]): void {
    if (this.corked !== s) {
      this.corked = s;
      s.cork();
      setImmediate(() => {
        if (this.corked === s) this.corked = null;
        s.uncork();
      });
    }
    for (const f of frags) s.write(f);
  }

  private track(m: SmbMessage, head: SmbMessage, charge: number, sealed: boolean, deadline: number): void {
    const timer = deadline > 0 ? setTimeout(() => this.timeout(m), Math.max(1, deadline - Date.now())) : null;
    timer?.unref();
    this.outstanding.set(m.messageId, { msg: m, head, charge, timer, sealed, startedAt: this.stats.sent(m.command) });
  }

  private timeout(m: SmbMessage): void {
    const o = this.outstanding.get(m.messageId);
    if (o?.msg !== m) return;
    this.outstanding.delete(m.messageId);
    this.credits.settle(o.charge);
    this.stats.failed(m.command, m.messageId, 'timeout', o.startedAt);
    m.fail(new SmbTimeoutError(`no reply to command ${m.command} (mid ${m.messageId}) in ${this.timeoutMs} ms`));
  }

  /**
   * Decant only successful, non-compound READ replies to a message with a
   * destination, and only replies that can pass the checks deliver() makes
   * (same session, signed where required); the rest arrive whole and are
   * refused there.
   */
  private decantTarget(h: Smb2Header, _frameLen: number): DecantTarget | null {
    if (h.command !== Smb2Command.READ || h.status !== NtStatus.STATUS_SUCCESS) return null;
    const o = this.outstanding.get(h.messageId);
    if (!o || !o.msg.readDest) return null;
    // A plain reply where an encrypted one is due must not reach the chain.
    if (this.mustBeSealed(h, o.sealed)) return null;
    if (h.sessionId !== o.msg.sessionId && this.verifies(o.msg)) return null;
    if ((h.flags & Smb2Flags.SIGNED) === 0 && this.signers.get(o.msg.sessionId)?.required) return null;
    // A copy: the receiver advances it, and a READ resent after a reconnect must start over at the start.
    return { dest: o.msg.readDest.clone(), max: o.msg.readMax };
  }

  private onDecanted(r: DecantedRead): void {
    const h = r.header;
    this.credits.grant(h.creditRequest);
    const o = this.take(h);
    if (!o) return;
    const checked = this.checkReply(o, h, () => [r.head, ...r.destStart.clone().slices(r.dataLength), r.tail]);
    if (checked instanceof Error) {
      o.fail(checked);
      this.destroy(checked);
      return;
    }
    this.stats.bytesRead += r.dataLength;
    o.complete({ header: h, msg: r.head, decanted: r.dataLength, verified: checked });
  }

  /** A transform frame begins: the opener of its session, or a protocol error. */
  private openTransform(header: Buffer, bodyLength: number): TransformOpener {
    const sid = header.readBigUInt64LE(44);
    const s = this.seals.get(sid);
    if (!s) throw new SmbProtocolError(`server sent an encrypted frame for session 0x${sid.toString(16)}, which does not encrypt`);
    this.sealStats.opened++;
    return s.cipher.open(header, bodyLength);
  }

  /** A plain reply where encryption is due: the session or the request was encrypted. */
  private mustBeSealed(h: Smb2Header, requestSealed: boolean): boolean {
    if (requestSealed) return true;
    if (h.messageId === UNSOLICITED_MID) return false;
    const s = this.seals.get(h.sessionId);
    return s !== undefined && (s.all || s.trees.has(h.treeId));
  }

  /**
   * A whole frame: split compounds, absorb interim replies, deliver.
   * `sealedBy` is the session of the transform it was decrypted from.
   */
  private onFrame(frame: Buffer, sealedBy?: bigint): void {
    if (frame.readUInt32BE(0) !== 0xfe534d42) {
      const kind = frame[0] === 0xfd ? 'an encrypted (transform) frame, which this session did not negotiate' : 'a frame that is not SMB2';
      this.destroy(new SmbProtocolError(`server sent ${kind}`));
      return;
    }
    let off = 0;
    while (off < frame.length) {
      let h: Smb2Header;
      try {
        h = decodeHeader(frame, off);
      } catch (e) {
        this.destroy(e as Error);
        return;
      }
      const end = h.nextCommand ? off + h.nextCommand : frame.length;
      if (end > frame.length || (h.nextCommand && h.nextCommand < SMB2_HEADER_SIZE)) {
        this.destroy(new SmbProtocolError(`compound NextCommand ${h.nextCommand} runs past the frame`));
        return;
      }
      if (sealedBy !== undefined && h.sessionId !== sealedBy) {
        this.destroy(new SmbProtocolError(`decrypted message of session 0x${h.sessionId.toString(16)} came in a transform of session 0x${sealedBy.toString(16)}`));
        return;
      }
      if (sealedBy === undefined && this.mustBeSealed(h, this.outstanding.get(h.messageId)?.sealed ?? false)) {
        this.destroy(new SmbProtocolError(`unencrypted reply to command ${h.command} (mid ${h.messageId}) where encryption is required; connection reset`));
        return;
      }
      this.deliver(h, frame.subarray(off, end), sealedBy !== undefined);
      off = end;
    }
  }

  private deliver(h: Smb2Header, msg: Buffer, sealed = false): void {
    this.credits.grant(h.creditRequest);
    if (h.messageId === UNSOLICITED_MID && h.command === Smb2Command.OPLOCK_BREAK) {
      this.emit('notification', { header: h, msg });
      return;
    }
    const interim = h.status === NtStatus.STATUS_PENDING && (h.flags & Smb2Flags.ASYNC_COMMAND) !== 0;
    if (interim) {
      const o = this.outstanding.get(h.messageId);
      if (o) {
        o.msg.asyncId = h.asyncId;
        // The server is working on it: give it longer before giving up.
        if (o.timer) o.timer.refresh();
      }
      return;
    }
    const m = this.take(h);
    if (!m) return;
    if (sealed) {
      if (m.sessionId !== 0n && h.sessionId !== m.sessionId) {
        const e = this.sessionMismatch(m, h);
        m.fail(e);
        this.destroy(e);
        return;
      }
      // Authenticated by the AEAD tag; a READ's payload is decanted now, from the plaintext.
      if (m.readDest && h.command === Smb2Command.READ && h.status === NtStatus.STATUS_SUCCESS && h.nextCommand === 0) {
        this.decantPlain(m, h, msg);
        return;
      }
      this.countWholeRead(h, msg);
      m.complete({ header: h, msg, sealed: true });
      return;
    }
    const checked = this.checkReply(m, h, () => [msg]);
    if (checked instanceof Error) {
      m.fail(checked);
      this.destroy(checked);
      return;
    }
    this.countWholeRead(h, msg);
    m.complete({ header: h, msg, verified: checked });
  }

  /** Copy a decrypted READ reply's payload into the message's chain and complete it. */
  private decantPlain(m: SmbMessage, h: Smb2Header, msg: Buffer): void {
    try {
      const { dataOffset, dataLength } = decodeReadResponseFixed(msg);
      if (dataLength > 0 && dataOffset < READ_RESPONSE_FIXED_END) throw new SmbProtocolError(`READ DataOffset ${dataOffset} inside the fixed part`);
      if (dataLength > 0 && dataOffset + dataLength > msg.length) {
        throw new SmbProtocolError(`READ data (${dataOffset}+${dataLength}) runs past the message (${msg.length})`);
      }
      if (dataLength > m.readMax) throw new SmbProtocolError(`too much data read: ${dataLength} > ${m.readMax} asked`);
      if (dataLength > 0 && m.readDest!.copyIn(msg, dataOffset, dataLength) !== dataLength) {
        throw new SmbProtocolError('READ destination chain too short');
      }
      this.stats.bytesRead += dataLength;
      m.complete({ header: h, msg: msg.subarray(0, dataLength > 0 ? dataOffset : READ_RESPONSE_FIXED_END), decanted: dataLength, sealed: true });
    } catch (e) {
      m.fail(e instanceof SmbProtocolError ? e : new SmbProtocolError(String(e)));
    }
  }

  /** Remove the outstanding entry for a reply; undefined for unknown or late replies. */
  private take(h: Smb2Header): SmbMessage | undefined {
    const o = this.outstanding.get(h.messageId);
    if (!o) return undefined;
    this.outstanding.delete(h.messageId);
    if (o.timer) clearTimeout(o.timer);
    this.credits.settle(o.charge);
    this.stats.replied(o.msg.command, h.messageId, h.status, o.startedAt);
    // Bytes the server took: a WRITE it answered with success.
    if (o.msg.command === Smb2Command.WRITE && h.status === NtStatus.STATUS_SUCCESS) this.stats.bytesWritten += writeLength(o.msg);
    return o.msg;
  }

  /** A READ reply that arrives whole (a compound's, or one not decanted): count the data it carries. */
  private countWholeRead(h: Smb2Header, msg: Buffer): void {
    if (h.command !== Smb2Command.READ || h.status !== NtStatus.STATUS_SUCCESS || msg.length < READ_RESPONSE_FIXED_END) return;
    let fixed: { dataOffset: number; dataLength: number };
    try {
      fixed = decodeReadResponseFixed(msg);
    } catch {
      return; // malformed: its reader refuses it
    }
    const { dataOffset, dataLength } = fixed;
    // The reply's own word, held to what the frame holds: these are only statistics.
    this.stats.bytesRead += Math.max(0, Math.min(dataLength, msg.length - dataOffset));
  }

  /**
   * Whether the reply to `req` has its signature checked: where signing is
   * required (by the server or `sign`) or the request itself was signed
   * (3.1.1 TREE_CONNECT, VALIDATE_NEGOTIATE). MS-SMB2 3.2.5.1.3 verifies only
   * when Session.SigningRequired, and so does the Linux client
   * (smb2_check_receive runs only with server->sign). Elsewhere an unsigned
   * reply is accepted, so checking a signed one adds nothing, and it breaks
   * servers that sign compounded replies wrongly (impacket: before adding
   * NextCommand/padding).
   */
  private verifies(req: SmbMessage): boolean {
    const signer = this.signers.get(req.sessionId);
    return signer !== undefined && (signer.required || req.forceSign);
  }

  /**
   * Check a plain reply against the request it answers. A reply is matched by
   * MessageId alone, so its own SessionId is attacker-chosen: it never picks
   * the key (the request's session does), and where the signature is checked
   * it must name the request's session. Where nothing is verified the id is
   * not used (impacket answers LOGOFF with 0). Returns whether a signature
   * verified, or the error to fail with.
   */
  private checkReply(req: SmbMessage, h: Smb2Header, fragments: () => Buffer[]): boolean | Error {
    if (!this.verifies(req)) return false;
    // SESSION_SETUP's first request carries 0 and learns its id from the reply.
    if (req.sessionId !== 0n && h.sessionId !== req.sessionId) return this.sessionMismatch(req, h);
    const signer = this.signers.get(req.sessionId)!;
    const signed = (h.flags & Smb2Flags.SIGNED) !== 0;
    if (!signed) {
      // A request signed on purpose (3.1.1 TREE_CONNECT, VALIDATE_NEGOTIATE) gets a signed answer.
      const due = signer.required || (req.forceSign && h.status === NtStatus.STATUS_SUCCESS);
      if (!due || h.status === NtStatus.STATUS_PENDING) return false;
      return this.refused(h, 'unsigned-reply', `unsigned reply to command ${h.command} (mid ${h.messageId}) where a signature is required; connection reset`);
    }
    if (signer.verify(fragments())) {
      this.signStats.verified++;
      return true;
    }
    return this.refused(h, 'bad-signature', `bad signature on reply to command ${h.command} (mid ${h.messageId}); connection reset`);
  }

  private sessionMismatch(req: SmbMessage, h: Smb2Header): SmbProtocolError {
    return this.refused(
      h,
      'session-mismatch',
      `reply to command ${h.command} (mid ${h.messageId}) names session 0x${h.sessionId.toString(16)}, its request 0x${req.sessionId.toString(16)}; connection reset`,
    );
  }

  /** Log a refused reply on the 'smbfuse:transport' channel; the error to fail with. */
  private refused(h: Smb2Header, event: TransportEvent['event'], message: string): SmbProtocolError {
    if (transportChannel.hasSubscribers) {
      transportChannel.publish({ event, command: h.command, messageId: h.messageId, message } satisfies TransportEvent);
    }
    return new SmbProtocolError(message);
  }

  private failMid(h: Smb2Header, e: Error): void {
    this.credits.grant(h.creditRequest);
    this.take(h)?.fail(e);
  }

  /** A fatal event on the connection: with a reconnect policy a drop, else the end. */
  private destroy(e: Error): void {
    if (this.closed) return;
    if (this.policy) {
      this.disconnect(e);
      return;
    }
    this.closed = e;
    this.lastFatal = e;
    this.state = 'closed';
    this.epoch++;
    this.socket?.destroy();
    this.socket = null;
    const err = e instanceof SmbTransportError ? e : new SmbTransportError(e.message, { cause: e });
    for (const { msg, timer, startedAt } of this.outstanding.values()) {
      if (timer) clearTimeout(timer);
      this.stats.failed(msg.command, msg.messageId, 'lost', startedAt, e.message);
      msg.fail(err);
    }
    this.outstanding.clear();
    if (this.parkTimer) clearTimeout(this.parkTimer);
    for (const head of this.parked.splice(0)) for (const m of head.members()) m.fail(err);
    for (const w of this.gateWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.gateWaiters.clear();
    this.credits.failAll(err);
    this.emit('close', e);
  }

  /**
   * The socket is gone but the connection lives on: requests that may be
   * sent again are parked (whole compounds only), the rest fail; senders
   * waiting for credits go back to the gate; the client is told to reconnect.
   */
  private disconnect(e: Error): void {
    const wasReady = this.state === 'ready';
    this.lastFatal = e;
    this.epoch++;
    this.socket?.destroy();
    this.socket = null;
    this.state = 'disconnected';
    const lost = new SmbTransportError(`connection lost: ${e.message}`, e);
    const groups = new Map<SmbMessage, Outstanding[]>();
    for (const o of this.outstanding.values()) {
      if (o.timer) clearTimeout(o.timer);
      const g = groups.get(o.head);
      if (g) g.push(o);
      else groups.set(o.head, [o]);
    }
    this.outstanding.clear();
    for (const [head, os] of groups) {
      const members = head.members();
      const resendable = wasReady && os.length === members.length && members.every((m) => this.mayResend(m));
      for (const o of os) {
        if (resendable) this.stats.requeued();
        else this.stats.failed(o.msg.command, o.msg.messageId, 'lost', o.startedAt, e.message);
      }
      if (resendable) this.parked.push(head);
      else for (const o of os) o.msg.fail(lost);
    }
    this.credits.failAll(RESEND);
    this.credits.reset();
    if (!wasReady) return;
    // Every request released by the last reconnect has been rewritten by now.
    this.fileIdMap.clear();
    this.droppedAt = Date.now();
    const soft = this.policy?.softTimeoutMs ?? 0;
    if (soft > 0 && this.parked.length > 0) {
      this.parkTimer = setTimeout(() => {
        this.parkTimer = null;
        const err = this.softError();
        for (const head of this.parked.splice(0)) for (const m of head.members()) m.fail(err);
      }, soft);
    }
    this.emit('disconnected', e);
  }

  /** Resent after a reconnect: idempotent ones always, state-changing ones only where replay is allowed (3.x). */
  private mayResend(m: SmbMessage): boolean {
    const c = replayClass(m);
    return c === 'idempotent' || (c === 'replay' && this.replayAllowed);
  }
}

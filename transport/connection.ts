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
import { NtStatus } from './ntstatus.js';
import { decodeHeader, encodeHeader, Smb2Command, Smb2Flags, SMB2_HEADER_SIZE, type Smb2Header } from './pdu/header.js';
import { decodeReadResponseFixed, READ_RESPONSE_FIXED_END } from './pdu/read.js';
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
  event: 'bad-signature' | 'unsigned-reply' | 'session-mismatch';
  command: number;
  messageId: bigint;
  message: string;
}

export interface ConnectionEvents {
  notification: [ServerNotification];
  close: [Error | null];
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
  private readonly receiver: Receiver;
  private closed: Error | null = null;
  /** Received bytes that verified badly or broke the framing end the connection. */
  lastFatal: Error | null = null;
  /** Requests signed and replies whose signature verified (tests, diagnostics). */
  readonly signStats = { signed: 0, verified: 0 };
  /** When bytes last arrived (for the keepalive's idle check). */
  lastReceiveAt = Date.now();
  /** Requests, errors, bytes and latency per command (transport/stats.ts). */
  readonly stats = new SmbStats();

  private constructor(
    private readonly socket: net.Socket,
    readonly timeoutMs: number,
    receiver: Receiver,
    sink: { conn: SmbConnection | null },
  ) {
    super();
    this.receiver = receiver;
    sink.conn = this;
    socket.setNoDelay(true);
    socket.on('error', (e) => this.destroy(new SmbTransportError(`connection error: ${e.message}`, { cause: e })));
    socket.on('close', () => this.destroy(new SmbTransportError('connection closed by server')));
  }

  /** Open the TCP connection (no SMB traffic yet). */
  static open(host: string, port: number, timeoutMs: number): Promise<SmbConnection> {
    return new Promise((resolve, reject) => {
      // The receiver exists before the socket, because net asks it for the
      // first read buffer at once; it reaches the connection through `sink`.
      // Reads land where the receiver says: READ payloads straight in their chain.
      const sink: { conn: SmbConnection | null } = { conn: null };
      const receiver = new Receiver({
        decantTarget: (h, len) => sink.conn!.decantTarget(h, len),
        onFrame: (f, sealedBy) => sink.conn!.onFrame(f, sealedBy),
        openTransform: (h, n) => sink.conn!.openTransform(h, n),
        onDecanted: (r) => sink.conn!.onDecanted(r),
        onBadDecant: (h, e) => sink.conn!.failMid(h, e),
        onFatal: (e) => sink.conn!.destroy(e),
      });
      const socket = net.connect({
        host,
        port,
        onread: {
          buffer: () => receiver.readBuffer(),
          callback: (n: number) => {
            if (sink.conn) sink.conn.lastReceiveAt = Date.now();
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
        resolve(new SmbConnection(socket, timeoutMs, receiver, sink));
      });
    });
  }

  /** Bytes a READ or WRITE can carry without waiting: 64 KiB a credit in hand (any size on 2.0.2, one credit each). */
  get transferBudget(): number {
    return this.multiCredit ? Math.max(1, this.credits.available) * 65536 : Number.MAX_SAFE_INTEGER;
  }

  get isClosed(): boolean {
    return this.closed !== null;
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
    if (this.closed) throw this.closed;
    const members = first.members();
    const seal = this.sealFor(members);
    const charges = members.map((m) => (this.multiCredit ? m.creditCharge : 1));
    const total = charges.reduce((a, b) => a + b, 0);
    // One deadline covers the wait for credits and the wait for the reply.
    const deadline = this.timeoutMs > 0 ? Date.now() + this.timeoutMs : 0;
    let mid = await this.credits.acquire(total, { timeoutMs: this.timeoutMs, urgent: first.urgent });
    if (this.closed) {
      this.credits.settle(total);
      throw this.closed;
    }
    const frags: Buffer[] = [];
    let frameLen = 0;
    members.forEach((m, i) => {
      m.messageId = mid;
      mid += BigInt(charges[i]!);
      const parts = this.frameMember(m, i === members.length - 1, charges[i]!, total, seal !== null);
      for (const p of parts) frameLen += p.length;
      frags.push(...parts);
      this.track(m, charges[i]!, seal !== null, deadline);
    });
    if (seal) {
      const out = seal.seal(frags, 4);
      this.sealStats.sealed++;
      out.writeUInt32BE(out.length - 4, 0);
      this.socket.write(out);
      return;
    }
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32BE(frameLen, 0);
    this.writeGathered([prefix, ...frags]);
  }

  /** Send and wait for the final response of a single message. */
  async request(msg: SmbMessage): Promise<SmbResponse> {
    await this.send(msg);
    return msg.done;
  }

  /** Close the socket; every waiter fails (with `why` when given). */
  close(why: Error = new SmbTransportError('connection closed')): void {
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

  /** One gathered write of every fragment: the socket sees a single writev. */
  private writeGathered(frags: Buffer[]): void {
    const s = this.socket;
    s.cork();
    for (const f of frags) s.write(f);
    s.uncork();
  }

  private track(m: SmbMessage, charge: number, sealed: boolean, deadline: number): void {
    const timer = deadline > 0 ? setTimeout(() => this.timeout(m), Math.max(1, deadline - Date.now())) : null;
    timer?.unref();
    this.outstanding.set(m.messageId, { msg: m, charge, timer, sealed, startedAt: this.stats.sent(m.command) });
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
    return { dest: o.msg.readDest, max: o.msg.readMax };
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
      m.complete({ header: h, msg, sealed: true });
      return;
    }
    const checked = this.checkReply(m, h, () => [msg]);
    if (checked instanceof Error) {
      m.fail(checked);
      this.destroy(checked);
      return;
    }
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
    if (o.msg.command === Smb2Command.WRITE && h.status === NtStatus.STATUS_SUCCESS) this.stats.bytesWritten += o.msg.payloadLength;
    return o.msg;
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

  private destroy(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    this.lastFatal = e;
    this.socket.destroy();
    const err = e instanceof SmbTransportError ? e : new SmbTransportError(e.message, { cause: e });
    for (const { msg, timer, startedAt } of this.outstanding.values()) {
      if (timer) clearTimeout(timer);
      this.stats.failed(msg.command, msg.messageId, 'lost', startedAt, e.message);
      msg.fail(err);
    }
    this.outstanding.clear();
    this.credits.failAll(err);
    this.emit('close', e);
  }
}

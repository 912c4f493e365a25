/**
 * A tampering TCP proxy for tests: listens on 127.0.0.1 (random port) and
 * relays each client connection to a target server, cutting both directions
 * into frames at the 4-byte session-service length prefix, so a hook can
 * look at (and change) each SMB2 message before it is passed on.
 *
 * Hooks get the frame without its prefix and may edit it in place; the
 * length never changes. A hook may also hold a frame back (FrameHold): it is
 * sent later while the frames behind it pass, with extra frames sent to the
 * same side meanwhile (holdReply: a late reply after a forged interim one).
 * Frames are bounded (16 MiB + 64 KiB, as the
 * client's receiver); a larger length or a non-zero type byte ends that
 * connection. close() stops listening and destroys every relayed socket.
 */
import net from 'node:net';
import { Smb2Command } from '../../transport/pdu/header.js';

const MAX_FRAME = 16 * 1024 * 1024 + 65536;
const SMB2_MAGIC = 0xfe534d42;
const FLAG_RESPONSE = 0x1;
const FLAG_SIGNED = 0x8;

/** Which way a frame travels. */
export type Direction = 'toServer' | 'toClient';

/** Sends a frame (without its length prefix) on one relayed connection, as if its peer had sent it. */
export interface Relay {
  toClient(frame: Buffer): void;
  toServer(frame: Buffer): void;
  /** Several frames to the client in one write, so that it reads them together. */
  toClientJoined(frames: Buffer[]): void;
}

/**
 * Edits a frame in place (its length is fixed). `index` counts frames of this
 * direction over all connections. Returning 'drop' swallows the frame, a
 * FrameHold holds it back; `relay` lets the hook answer in the server's (or
 * client's) place.
 */
export type FrameHook = (frame: Buffer, index: number, relay: Relay) => void | 'drop' | FrameHold;

/** Send the frame `delayMs` from now; each of `extra` (frames without prefix) after its own delay. */
export interface FrameHold {
  delayMs: number;
  extra?: { afterMs: number; frame: Buffer }[];
}

export interface TamperProxy {
  host: string;
  port: number;
  /** Frames relayed per direction. */
  readonly counts: Record<Direction, number>;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections still open (neither side has closed). */
  readonly openConnections: number;
  close(): Promise<void>;
}

export interface ProxyOptions {
  host: string;
  port: number;
  toServer?: FrameHook;
  toClient?: FrameHook;
}

/** Cuts one byte stream into frames and hands each (prefix included) on. */
class Framer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly onFrame: (prefix: Buffer, frame: Buffer) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    for (;;) {
      if (this.size < 4) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [all];
      if (all[0] !== 0) return this.onError(new Error(`proxy: session message type ${all[0]}`));
      const len = all.readUIntBE(1, 3);
      if (len > MAX_FRAME) return this.onError(new Error(`proxy: frame of ${len} bytes`));
      if (this.size < 4 + len) return;
      const prefix = Buffer.from(all.subarray(0, 4));
      const frame = Buffer.from(all.subarray(4, 4 + len));
      const rest = all.subarray(4 + len);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      this.onFrame(prefix, frame);
    }
  }
}

/** Start the proxy in front of host:port. */
export function startProxy(opts: ProxyOptions): Promise<TamperProxy> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  /** Write `frame` (no prefix) to `to` after `ms`, unless the socket has gone by then. */
  const later = (to: net.Socket, ms: number, frame: Buffer) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!to.destroyed) to.write(withPrefix(frame));
    }, ms);
    timers.add(timer);
  };
  const counts: Record<Direction, number> = { toServer: 0, toClient: 0 };
  let connections = 0;
  const clients = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    const upstream = net.connect({ host: opts.host, port: opts.port });
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', () => {
        sockets.delete(s);
        end();
      });
    }
    const send = (to: net.Socket) => (frame: Buffer) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(frame.length, 0);
      to.write(Buffer.concat([prefix, frame]));
    };
    const inject: Relay = {
      toClient: send(client),
      toServer: send(upstream),
      toClientJoined: (frames) => void client.write(Buffer.concat(frames.map(withPrefix))),
    };
    const relay = (dir: Direction, to: net.Socket) =>
      new Framer((prefix, frame) => {
        const i = counts[dir]++;
        const hold = opts[dir]?.(frame, i, inject);
        if (hold === 'drop') return;
        if (!hold) return void to.write(Buffer.concat([prefix, frame]));
        for (const e of hold.extra ?? []) later(to, e.afterMs, e.frame);
        later(to, hold.delayMs, frame);
      }, end);
    const up = relay('toServer', upstream);
    const down = relay('toClient', client);
    client.on('data', (b: Buffer) => up.push(b));
    upstream.on('data', (b: Buffer) => down.push(b));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: '127.0.0.1',
        port: addr.port,
        counts,
        get connections() {
          return connections;
        },
        get openConnections() {
          return clients.size;
        },
        close: () =>
          new Promise<void>((res) => {
            for (const timer of timers) clearTimeout(timer);
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}

/** A frame with its 4-byte session-service length prefix. */
function withPrefix(frame: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(frame.length, 0);
  return Buffer.concat([prefix, frame]);
}

/** SMB2 header facts of a frame's first message, or null if it is not SMB2. */
export function frameHeader(frame: Buffer): { command: number; status: number; flags: number; response: boolean; signed: boolean; nextCommand: number } | null {
  if (frame.length < 64 || frame.readUInt32BE(0) !== SMB2_MAGIC) return null;
  const flags = frame.readUInt32LE(16);
  return {
    command: frame.readUInt16LE(12),
    status: frame.readUInt32LE(8),
    flags,
    response: (flags & FLAG_RESPONSE) !== 0,
    signed: (flags & FLAG_SIGNED) !== 0,
    nextCommand: frame.readUInt32LE(20),
  };
}


/** Each message of a (compound) frame: a view from its own header on, with that header; none if not plain SMB2. */
export function compoundMembers(frame: Buffer): { msg: Buffer; h: NonNullable<ReturnType<typeof frameHeader>> }[] {
  const out: { msg: Buffer; h: NonNullable<ReturnType<typeof frameHeader>> }[] = [];
  for (let at = 0; at < frame.length; ) {
    const msg = frame.subarray(at);
    const h = frameHeader(msg);
    if (!h) break;
    out.push({ msg, h });
    if (h.nextCommand === 0) break;
    at += h.nextCommand;
  }
  return out;
}
/**
 * toServer hook: in every NEGOTIATE request, replace dialect `from` with `to`
 * in the Dialects array (in place, so sizes and context offsets stay valid).
 * Returns the hook and a counter of rewritten requests.
 */
export function rewriteDialect(from = 0x0311, to = 0x0302): { hook: FrameHook; rewritten: () => number } {
  let n = 0;
  const hook: FrameHook = (frame) => {
    const h = frameHeader(frame);
    if (!h || h.response || h.command !== Smb2Command.NEGOTIATE) return;
    const count = frame.readUInt16LE(64 + 2);
    let hit = false;
    for (let i = 0; i < count; i++) {
      const off = 64 + 36 + 2 * i;
      if (off + 2 > frame.length) break;
      if (frame.readUInt16LE(off) === from) {
        frame.writeUInt16LE(to, off);
        hit = true;
      }
    }
    if (hit) n++;
  };
  return { hook, rewritten: () => n };
}

/**
 * toClient hook: flip bit `bit` of byte `at` of the payload of the `nth`
 * (0-based) signed, successful, single READ response carrying at least
 * at+1 bytes. `flipped()` tells whether it happened.
 */
export function flipReadPayload(nth = 0, at = 100, bit = 3): { hook: FrameHook; flipped: () => boolean } {
  let seen = 0;
  let done = false;
  const hook: FrameHook = (frame) => {
    if (done) return;
    const h = frameHeader(frame);
    if (!h || !h.response || !h.signed || h.command !== Smb2Command.READ || h.status !== 0 || h.nextCommand !== 0) return;
    const dataOffset = frame.readUInt8(64 + 2);
    const dataLength = frame.readUInt32LE(64 + 4);
    if (dataLength <= at) return;
    if (seen++ !== nth) return;
    frame[dataOffset + at]! ^= 1 << bit;
    done = true;
  };
  return { hook, flipped: () => done };
}

/**
 * toClient hook: flip one bit in the body (past the 64-byte header) of the
 * `nth` signed response of command `command` (any command when undefined).
 */
export function flipSignedBody(nth: number, command?: number, at = 2, bit = 0): { hook: FrameHook; flipped: () => boolean } {
  let seen = 0;
  let done = false;
  const hook: FrameHook = (frame) => {
    if (done) return;
    const h = frameHeader(frame);
    if (!h || !h.response || !h.signed || (command !== undefined && h.command !== command)) return;
    if (frame.length <= 64 + at) return;
    if (seen++ !== nth) return;
    frame[64 + at]! ^= 1 << bit;
    done = true;
  };
  return { hook, flipped: () => done };
}

const STATUS_PENDING = 0x00000103;
const FLAG_ASYNC = 0x2;

/**
 * The interim (STATUS_PENDING, async) reply a server sends for a request it
 * is still working on (MS-SMB2 3.3.4.2), built from the header of the final
 * reply: same command and MessageId, an AsyncId, no credits, unsigned; the
 * body is an empty ERROR response (2.2.2).
 */
export function interimFor(reply: Buffer, asyncId = 0x5a5an): Buffer {
  const out = Buffer.alloc(64 + 9);
  reply.copy(out, 0, 0, 64);
  out.writeUInt32LE(STATUS_PENDING, 8);
  out.writeUInt16LE(0, 14); // CreditResponse
  out.writeUInt32LE(((out.readUInt32LE(16) | FLAG_ASYNC | FLAG_RESPONSE) & ~FLAG_SIGNED) >>> 0, 16);
  out.writeUInt32LE(0, 20); // NextCommand
  out.writeBigUInt64LE(asyncId, 32);
  out.fill(0, 48, 64); // Signature
  out.writeUInt16LE(9, 64); // StructureSize of the ERROR response
  return out;
}

/**
 * Hold back the reply to the next request of `command` once arm() is called:
 * an interim reply goes to the client `interimAfterMs` after the real reply
 * arrived from the server (so the client's own timer starts over), the real
 * one `delayMs` after it. Hooks for both directions; `released()` resolves
 * once the held reply has been sent on.
 */
export function holdReply(command: number, interimAfterMs: number, delayMs: number) {
  let armed = false;
  let mid: bigint | null = null;
  let release!: () => void;
  const sent = new Promise<void>((r) => (release = r));
  const toServer: FrameHook = (frame) => {
    const h = frameHeader(frame);
    if (!armed || mid !== null || !h || h.response || h.command !== command) return;
    mid = frame.readBigUInt64LE(24);
    armed = false;
  };
  const toClient: FrameHook = (frame) => {
    const h = frameHeader(frame);
    if (mid === null || !h || !h.response || h.command !== command || frame.readBigUInt64LE(24) !== mid) return;
    if (h.status === STATUS_PENDING) return; // the server's own interim: pass it
    mid = null;
    setTimeout(release, delayMs + 50);
    return { delayMs, extra: [{ afterMs: interimAfterMs, frame: interimFor(frame) }] };
  };
  return {
    toServer,
    toClient,
    arm: () => {
      armed = true;
    },
    /** Resolves a little after the held reply went on (bounded by the delay). */
    released: () => sent,
  };
}

/** A proxy that swallows every reply between `stall()` and `resume()`: a server gone silent. */
export async function startStallingProxy(server: { host: string; port: number }): Promise<{ proxy: TamperProxy; stall: () => void; resume: () => void }> {
  let stalled = false;
  const proxy = await startProxy({
    host: server.host,
    port: server.port,
    toClient: (frame) => (stalled && frameHeader(frame) ? 'drop' : undefined),
  });
  return { proxy, stall: () => void (stalled = true), resume: () => void (stalled = false) };
}

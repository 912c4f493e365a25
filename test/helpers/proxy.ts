/**
 * A tampering TCP proxy for tests: listens on 127.0.0.1 (random port) and
 * relays each client connection to a target server, cutting both directions
 * into frames at the 4-byte session-service length prefix, so a hook can
 * look at (and change) each SMB2 message before it is passed on.
 *
 * Hooks get the frame without its prefix and may edit it in place; the
 * length never changes. Frames are bounded (16 MiB + 64 KiB, as the
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
}

/**
 * Edits a frame in place (its length is fixed). `index` counts frames of this
 * direction over all connections. Returning 'drop' swallows the frame; `relay`
 * lets the hook answer in the server's (or client's) place.
 */
export type FrameHook = (frame: Buffer, index: number, relay: Relay) => void | 'drop';

export interface TamperProxy {
  host: string;
  port: number;
  /** Frames relayed per direction. */
  readonly counts: Record<Direction, number>;
  /** Client connections accepted so far. */
  readonly connections: number;
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
  const counts: Record<Direction, number> = { toServer: 0, toClient: 0 };
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
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
    const inject: Relay = { toClient: send(client), toServer: send(upstream) };
    const relay = (dir: Direction, to: net.Socket) =>
      new Framer((prefix, frame) => {
        const i = counts[dir]++;
        if (opts[dir]?.(frame, i, inject) === 'drop') return;
        to.write(Buffer.concat([prefix, frame]));
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
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
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

/**
 * SmbMessage: the request descriptor that a PDU encoder builds and hands down
 * to the connection (after the cifs message-handling overhaul's smb_message).
 * It carries everything needed to send the request and to deliver its one
 * response: header fields, the encoded body, payload slices that stay in
 * their chain, a `next` link for compounds, an optional READ destination the
 * receiver decants into, and the single waiter its response completes.
 */
import type { BvecqPos } from '../netfs/bvecq.js';
import type { Smb2Header } from './pdu/header.js';

/** A response as delivered to the waiter. */
export interface SmbResponse {
  header: Smb2Header;
  /**
   * The whole response message from its SMB2 header on (one compound member).
   * For a READ decanted into a chain this holds only header + fixed part.
   */
  msg: Buffer;
  /** For a decanted READ: payload bytes written at the message's readDest. */
  decanted?: number;
  /** It came encrypted: its AEAD tag verified (it carries no signature). */
  sealed?: boolean;
  /** Its signature verified with the key of the request's session. */
  verified?: boolean;
}

export class SmbMessage {
  /** Set by the connection when the message is sent. */
  messageId = 0n;
  /** Async id from a STATUS_PENDING interim reply (for CANCEL). */
  asyncId = 0n;
  sessionId = 0n;
  treeId = 0;
  flags = 0;
  /** Credits asked for beyond the charge; the connection fills a default. */
  creditRequest = 0;
  /** Payload slices sent after the body without copying (WRITE data). */
  payload: Buffer[] = [];
  /** Next member of a compound; the connection sets offsets and padding. */
  next: SmbMessage | null = null;
  /** Sign even where the session does not require it (3.1.1 TREE_CONNECT). */
  forceSign = false;
  /** Take credits ahead of queued requests (ECHO: a probe must not wait behind bulk I/O). */
  urgent = false;
  /** Sent while a reconnect sets the connection up again (before it is ready). */
  setup = false;
  /**
   * The tree it is addressed to (tree-core.ts). The connection takes the
   * session and tree ids from it again just before sending: a request built
   * while a reconnect was under way may hold the new session's id but the
   * tree id of the old connection.
   */
  tree: { readonly session: { readonly sessionId: bigint }; readonly treeId: number } | null = null;
  /** How it may be resent after a reconnect (transport/replay.ts); undefined: decided by command. */
  replay: 'idempotent' | 'replay' | null | undefined = undefined;
  /** Mark this member as related to the previous one (RELATED_OPERATIONS). */
  related = false;
  /**
   * READ responses are decanted here (at most readMax bytes): memory the
   * daemon owns, never a buffer on loan (see DecantTarget).
   */
  readDest: BvecqPos | null = null;
  readMax = 0;
  /** Bytes actually put on the wire (length prefix excluded), for pre-auth hashing. */
  wire: Buffer[] = [];
  /** The response, once it has arrived. */
  response: SmbResponse | null = null;

  private settle!: { resolve: (r: SmbResponse) => void; reject: (e: Error) => void };
  /** Resolves with the final (non-interim) response; one waiter per message. */
  readonly done: Promise<SmbResponse>;

  constructor(
    public readonly command: number,
    /** Encoded body from StructureSize on (no header). */
    public readonly body: Buffer,
    /** CreditCharge: ceil(max(request, response payload) / 64 KiB), at least 1. */
    public creditCharge = 1,
  ) {
    this.done = new Promise<SmbResponse>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A rejected promise nobody awaits must not crash the process: callers
    // that care await `done`; the rest (compound members) are collected.
    this.done.catch(() => {});
  }

  get payloadLength(): number {
    let n = 0;
    for (const p of this.payload) n += p.length;
    return n;
  }

  /** Complete the waiter with a response (first completion wins). */
  complete(r: SmbResponse): void {
    this.response = r;
    this.settle.resolve(r);
  }

  /** Fail the waiter (first completion wins). */
  fail(e: Error): void {
    this.settle.reject(e);
  }

  /** All members of the compound that starts here, in order. */
  members(): SmbMessage[] {
    const out: SmbMessage[] = [];
    for (let m: SmbMessage | null = this; m; m = m.next) out.push(m);
    return out;
  }
}

/** CreditCharge for a transfer of `len` bytes (MS-SMB2 3.1.5.2). */
export function creditChargeFor(len: number): number {
  return Math.max(1, Math.ceil(len / 65536));
}

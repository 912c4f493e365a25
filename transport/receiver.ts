/**
 * The receive state machine: LEN → HEAD → (DECANT | WHOLE). It reads the
 * 4-byte session-service length, looks at the SMB2 header, and either
 * gathers the whole frame for parsing or, for a READ response the sink wants
 * decanted, keeps only header + fixed part and moves the payload straight
 * from the socket chunks into the waiting chain, chunk by chunk as they arrive.
 * A transform (encrypted) frame is decrypted chunk by chunk straight from the
 * queue (XFORM) and its verified plaintext handed on whole; a READ payload in
 * it is copied into the chain after decryption.
 *
 * A destination that cannot take the whole payload (shorter than the sink
 * said) costs only that reply: the rest of the payload is drained and
 * dropped, the sink hears of it through onBadDecant, and the stream goes on.
 */
import type { BvecqPos } from '../netfs/bvecq.js';
import { SmbProtocolError } from './errors.js';
import { decodeHeader, SMB2_HEADER_SIZE, SMB2_TRANSFORM_HEADER_SIZE, type Smb2Header } from './pdu/header.js';
import { decodeReadResponseFixed, READ_RESPONSE_FIXED_END } from './pdu/read.js';
import { RxQueue } from './rx-queue.js';
import type { TransformOpener } from './transform.js';

/** Largest frame accepted: 8 MiB payloads plus headers, compounds and transforms. */
export const MAX_FRAME = 16 * 1024 * 1024 + 65536;

/**
 * Where a decanted READ's bytes go. The socket may be handed a view of it
 * before the bytes arrive, and Node keeps that view's raw pointer until its
 * next read: the memory must belong to the daemon (a folio, a buffer of our
 * own), never to someone who can free it meanwhile (a FUSE request's buffer).
 */
export interface DecantTarget {
  dest: BvecqPos;
  max: number;
}

/** A decanted READ, handed to the sink once its payload has landed. */
export interface DecantedRead {
  header: Smb2Header;
  /** Bytes of the frame before the payload (header, fixed part, padding). */
  head: Buffer;
  /** Where the payload begins in the destination chain. */
  destStart: BvecqPos;
  dataLength: number;
  /** Bytes of the frame after the payload (normally none). */
  tail: Buffer;
  frameLength: number;
}

export interface ReceiverSink {
  /** Decide whether this READ response should be decanted, and where to. */
  decantTarget(header: Smb2Header, frameLength: number): DecantTarget | null;
  /**
   * A whole frame, contiguous (a view where it sat in one chunk); or, with
   * `sealedBy`, the plaintext of a transform frame of that session whose tag
   * has verified.
   */
  onFrame(frame: Buffer, sealedBy?: bigint): void;
  /**
   * Start decrypting a transform frame (52-byte header given, `bodyLength`
   * ciphertext bytes to follow). Throws SmbProtocolError when the session
   * has no keys. Without this hook transform frames go to onFrame whole.
   */
  openTransform?(header: Buffer, bodyLength: number): TransformOpener;
  onDecanted(read: DecantedRead): void;
  /**
   * A decant was refused as malformed, or its destination could not take the
   * payload; either way the frame was skipped or drained and dropped.
   */
  onBadDecant(header: Smb2Header, err: SmbProtocolError): void;
  /** The stream is unusable (bad length prefix, oversized frame). */
  onFatal(err: SmbProtocolError): void;
}

type State =
  | { s: 'len' }
  | { s: 'head'; frameLen: number }
  | { s: 'whole'; frameLen: number }
  | { s: 'skip'; left: number }
  | { s: 'xform'; left: number; opener: TransformOpener }
  | {
      s: 'decant';
      frameLen: number;
      header: Smb2Header;
      head: Buffer;
      /** null once the destination has run out: the rest is drained. */
      dest: BvecqPos | null;
      destStart: BvecqPos;
      left: number;
      dataLength: number;
      tailLen: number;
    }
  | { s: 'tail'; read: Omit<DecantedRead, 'tail'>; tailLen: number; dropped: boolean };

/** Size of the scratch buffers that socket reads land in outside payloads. */
const SCRATCH_SIZE = 256 * 1024;
/** Below this much room a new scratch buffer is started; also the most read at a frame start. */
const SCRATCH_MIN = 16 * 1024;
/** A payload view smaller than this is a short one (see readBuffer). */
const DIRECT_MIN = 4096;

export class Receiver {
  private readonly rx = new RxQueue();
  private state: State = { s: 'len' };
  private dead = false;
  private scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
  private scratchOff = 0;
  /** The last buffer handed out by readBuffer() is a view into a READ destination. */
  private direct = false;
  /** ... and it was a short one (under DIRECT_MIN, not the whole rest). */
  private lastShort = false;

  constructor(private readonly sink: ReceiverSink) {}

  /** Bytes queued but not yet consumed (tests). */
  get queued(): number {
    return this.rx.size;
  }

  /** Start over (after a reconnect). */
  reset(): void {
    this.rx.clear();
    this.state = { s: 'len' };
    this.dead = false;
  }

  /**
   * The buffer the socket should read into next (net's `onread`). While a
   * READ payload is being decanted and nothing else is queued, this is the
   * destination chain itself, so the kernel copies the payload straight into
   * the folio or caller buffer; otherwise a slice of a scratch buffer whose
   * filled bytes are queued as views (no copy).
   */
  readBuffer(): Buffer {
    const st = this.state;
    if (st.s === 'decant' && st.dest && st.left > 0 && this.rx.size === 0) {
      const v = st.dest.peekView(st.left);
      // A short view is normally the tail of a folio (socket reads end
      // anywhere): read just it, so the next read starts on a folio boundary,
      // instead of pulling up to SCRATCH_SIZE of payload through scratch (a
      // copy and, every few reads, a new scratch buffer). Two short views in
      // a row mean a chain of small buffers: those go through scratch.
      const short = v.length < DIRECT_MIN && v.length !== st.left;
      if (v.length > 0 && (!short || !this.lastShort)) {
        this.lastShort = short;
        this.direct = true;
        return v;
      }
    }
    this.lastShort = false;
    this.direct = false;
    if (this.scratch.length - this.scratchOff < SCRATCH_MIN) {
      this.scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
      this.scratchOff = 0;
    }
    // At a frame start, read only SCRATCH_MIN: a large READ reply's payload
    // then mostly lands in its destination, not in scratch to be copied.
    const end = st.s === 'len' && this.rx.size === 0 ? this.scratchOff + SCRATCH_MIN : this.scratch.length;
    return this.scratch.subarray(this.scratchOff, end);
  }

  /** The socket put `n` bytes into the buffer readBuffer() last returned. */
  filled(n: number): void {
    if (this.dead || n <= 0) return;
    const st = this.state;
    if (this.direct && st.s === 'decant' && st.dest) {
      st.dest.advance(n);
      st.left -= n;
      this.run();
      return;
    }
    const v = this.scratch.subarray(this.scratchOff, this.scratchOff + n);
    this.scratchOff += n;
    this.push(v);
  }

  /** Feed one chunk from the socket and run the machine as far as it goes. */
  push(chunk: Buffer): void {
    if (this.dead) return;
    this.rx.push(chunk);
    this.run();
  }

  /** Run the machine until it needs more bytes; a protocol error kills the stream. */
  private run(): void {
    try {
      while (this.step());
    } catch (e) {
      this.dead = true;
      this.sink.onFatal(e instanceof SmbProtocolError ? e : new SmbProtocolError(String(e)));
    }
  }

  /** One transition; false when more bytes are needed. */
  private step(): boolean {
    const st = this.state;
    const rx = this.rx;
    switch (st.s) {
      case 'len': {
        if (rx.size < 4) return false;
        const p = rx.take(4);
        if (p[0] !== 0) throw new SmbProtocolError(`bad session message type 0x${p[0]!.toString(16)}`);
        const frameLen = p.readUIntBE(1, 3);
        if (frameLen > MAX_FRAME) throw new SmbProtocolError(`frame of ${frameLen} bytes is too large`);
        if (frameLen < 4) throw new SmbProtocolError(`frame of ${frameLen} bytes is too short`);
        this.state = { s: 'head', frameLen };
        return true;
      }
      case 'head':
        return this.stepHead(st.frameLen);
      case 'whole': {
        if (rx.size < st.frameLen) return false;
        const frame = rx.take(st.frameLen);
        this.state = { s: 'len' };
        this.sink.onFrame(frame);
        return true;
      }
      case 'skip': {
        const k = Math.min(st.left, rx.size);
        rx.skip(k);
        st.left -= k;
        if (st.left > 0) return false;
        this.state = { s: 'len' };
        return true;
      }
      case 'xform': {
        // Decrypt chunk by chunk as the ciphertext sits in the queue; the
        // plaintext goes anywhere only after final() has verified the tag.
        if (st.left > 0) {
          st.left -= rx.consume(st.left, (v) => st.opener.update(v));
          if (st.left > 0) return false;
        }
        const plain = st.opener.final();
        this.state = { s: 'len' };
        this.sink.onFrame(plain, st.opener.header.sessionId);
        return true;
      }
      case 'decant': {
        if (st.left > 0) {
          if (rx.size === 0) return false;
          const k = Math.min(st.left, rx.size);
          if (!st.dest) rx.skip(k);
          else if (rx.decant(st.dest, k) < k) st.dest = null;
          st.left -= k;
          if (st.left > 0) return false;
        }
        const { header, head, destStart, dataLength, frameLen } = st;
        const read = { header, head, destStart, dataLength, frameLength: frameLen };
        this.state = { s: 'tail', read, tailLen: st.tailLen, dropped: st.dest === null };
        return true;
      }
      case 'tail': {
        if (rx.size < st.tailLen) return false;
        const tail = rx.take(st.tailLen);
        this.state = { s: 'len' };
        if (st.dropped) this.sink.onBadDecant(st.read.header, new SmbProtocolError(`READ destination too short for ${st.read.dataLength} bytes; reply dropped`));
        else this.sink.onDecanted({ ...st.read, tail });
        return true;
      }
    }
  }

  /** Look at the start of a frame: gather it whole, or set up a decant. */
  private stepHead(frameLen: number): boolean {
    const rx = this.rx;
    const want = Math.min(frameLen, READ_RESPONSE_FIXED_END);
    if (rx.size < Math.min(frameLen, SMB2_HEADER_SIZE)) return false;
    const magic = rx.peek(4);
    if (magic[0] === 0xfd && this.sink.openTransform) {
      if (frameLen < SMB2_TRANSFORM_HEADER_SIZE + SMB2_HEADER_SIZE) throw new SmbProtocolError(`transform frame of ${frameLen} bytes is too short`);
      // The 52-byte header is small: copy it out; the ciphertext stays in the chunks.
      const hdr = Buffer.from(rx.take(SMB2_TRANSFORM_HEADER_SIZE));
      const bodyLength = frameLen - SMB2_TRANSFORM_HEADER_SIZE;
      this.state = { s: 'xform', left: bodyLength, opener: this.sink.openTransform(hdr, bodyLength) };
      return true;
    }
    if (magic[0] !== 0xfe || frameLen < READ_RESPONSE_FIXED_END) {
      // Transforms, SMB1 and short frames are parsed whole by the sink.
      this.state = { s: 'whole', frameLen };
      return true;
    }
    const header = decodeHeader(rx.peek(SMB2_HEADER_SIZE));
    const target = header.nextCommand === 0 ? this.sink.decantTarget(header, frameLen) : null;
    if (!target) {
      this.state = { s: 'whole', frameLen };
      return true;
    }
    if (rx.size < want) return false;
    const fixedBytes = rx.peek(READ_RESPONSE_FIXED_END);
    let dataOffset: number;
    let dataLength: number;
    try {
      ({ dataOffset, dataLength } = decodeReadResponseFixed(fixedBytes));
      if (dataLength > 0 && dataOffset < READ_RESPONSE_FIXED_END)
        throw new SmbProtocolError(`READ DataOffset ${dataOffset} inside the fixed part`);
      if (dataLength > 0 && dataOffset + dataLength > frameLen)
        throw new SmbProtocolError(`READ data (${dataOffset}+${dataLength}) runs past the frame (${frameLen})`);
      if (dataLength > target.max)
        throw new SmbProtocolError(`too much data read: ${dataLength} > ${target.max} asked`);
    } catch (e) {
      this.state = { s: 'skip', left: frameLen };
      this.sink.onBadDecant(header, e instanceof SmbProtocolError ? e : new SmbProtocolError(String(e)));
      return true;
    }
    const headLen = dataLength > 0 ? dataOffset : READ_RESPONSE_FIXED_END;
    if (rx.size < Math.min(headLen, frameLen)) return false;
    // The head is small and kept for signature checks; copy it out of the chunks.
    const head = Buffer.from(rx.take(headLen));
    this.state = {
      s: 'decant',
      frameLen,
      header,
      head,
      dest: target.dest,
      destStart: target.dest.clone(),
      left: dataLength,
      dataLength,
      tailLen: frameLen - headLen - dataLength,
    };
    return true;
  }
}

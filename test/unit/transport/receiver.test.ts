/**
 * The receive state machine: frames split at every byte position, fed one
 * byte at a time, two frames per chunk, READ payloads decanted into the right
 * chain slots (through push() and through the direct onread path), and
 * malformed frames rejected.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Bvecq } from '../../../netfs/bvecq.js';
import { encodeHeader, Smb2Command, type Smb2Header } from '../../../transport/pdu/header.js';
import { Receiver, type DecantedRead, type ReceiverSink } from '../../../transport/receiver.js';

function header(command: number, mid: bigint, status = 0): Buffer {
  const h: Smb2Header = {
    creditCharge: 1, status, command, creditRequest: 1, flags: 1, nextCommand: 0,
    messageId: mid, asyncId: 0n, treeId: 1, sessionId: 7n, signature: Buffer.alloc(16),
  };
  const b = Buffer.alloc(64);
  encodeHeader(h, b, 0);
  return b;
}

/** A READ response frame (with its 4-byte length prefix) carrying `data` at DataOffset 0x50. */
function readFrame(mid: bigint, data: Buffer, dataOffset = 0x50): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt16LE(17, 0);
  fixed.writeUInt8(dataOffset, 2);
  fixed.writeUInt32LE(data.length, 4);
  const pad = Buffer.alloc(dataOffset - 80);
  const msg = Buffer.concat([header(Smb2Command.READ, mid), fixed, pad, data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

/** A small non-READ frame (ECHO response). */
function echoFrame(mid: bigint): Buffer {
  const body = Buffer.from([4, 0, 0, 0]);
  const msg = Buffer.concat([header(Smb2Command.ECHO, mid), body]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

class Sink implements ReceiverSink {
  frames: Buffer[] = [];
  reads: DecantedRead[] = [];
  bad: string[] = [];
  fatal: string[] = [];
  constructor(public readonly chains: Map<bigint, Bvecq>) {}
  decantTarget(h: Smb2Header) {
    const c = this.chains.get(h.messageId);
    return c ? { dest: c.start(), max: c.length } : null;
  }
  onFrame(f: Buffer) {
    this.frames.push(Buffer.from(f));
  }
  onDecanted(r: DecantedRead) {
    this.reads.push(r);
  }
  onBadDecant(_h: Smb2Header, e: Error) {
    this.bad.push(e.message);
  }
  onFatal(e: Error) {
    this.fatal.push(e.message);
  }
}

/** A chain of odd-sized slots so payloads cross slot and segment edges. */
function oddChain(len: number): Bvecq {
  const bufs: Buffer[] = [];
  for (let off = 0, i = 0; off < len; i++) {
    const n = Math.min(len - off, 1 + ((i * 7919) % 997));
    bufs.push(Buffer.alloc(n));
    off += n;
  }
  return Bvecq.fromBuffers(bufs);
}

const payload = randomBytes(5000);
const stream = Buffer.concat([echoFrame(1n), readFrame(2n, payload), echoFrame(3n)]);

t.test('every split point of a two-chunk delivery', async (t) => {
  let failures = 0;
  for (let cut = 0; cut <= stream.length; cut++) {
    const chain = oddChain(payload.length);
    const sink = new Sink(new Map([[2n, chain]]));
    const rx = new Receiver(sink);
    rx.push(stream.subarray(0, cut));
    rx.push(stream.subarray(cut));
    const ok =
      sink.frames.length === 2 &&
      sink.reads.length === 1 &&
      sink.reads[0]!.dataLength === payload.length &&
      chain.toBuffer().equals(payload) &&
      sink.fatal.length === 0 &&
      rx.queued === 0;
    if (!ok) failures++;
  }
  t.equal(failures, 0, `all ${stream.length + 1} split points deliver 2 frames and the decanted payload`);
});

t.test('one byte at a time, and all frames in one chunk', async (t) => {
  for (const step of [1, stream.length]) {
    const chain = oddChain(payload.length);
    const sink = new Sink(new Map([[2n, chain]]));
    const rx = new Receiver(sink);
    for (let i = 0; i < stream.length; i += step) rx.push(stream.subarray(i, i + step));
    t.equal(sink.frames.length, 2, `frames (step ${step})`);
    t.ok(chain.toBuffer().equals(payload), `payload (step ${step})`);
    t.equal(sink.reads[0]?.head.length, 80, 'head is header + fixed part');
  }
});

t.test('direct reads: the socket fills the chain itself', async (t) => {
  // Slots large enough for direct reads (small views go through scratch).
  const payload = randomBytes(40000);
  const stream = Buffer.concat([echoFrame(1n), readFrame(2n, payload), echoFrame(3n)]);
  const chain = Bvecq.fromBuffers([Buffer.alloc(30000), Buffer.alloc(payload.length - 30000)]);
  const sink = new Sink(new Map([[2n, chain]]));
  const rx = new Receiver(sink);
  // Simulate net's onread: ask for a buffer, copy at most its size into it, report.
  let off = 0;
  let directBytes = 0;
  const slotMemory = new Set<ArrayBufferLike>();
  for (let seg = chain.head; seg; seg = seg.next) for (const b of seg.slots) slotMemory.add(b.buffer);
  while (off < stream.length) {
    const buf = rx.readBuffer();
    const n = Math.min(buf.length, stream.length - off, 1500);
    stream.copy(buf, 0, off, off + n);
    if (slotMemory.has(buf.buffer)) directBytes += n;
    rx.filled(n);
    off += n;
  }
  t.equal(sink.frames.length, 2);
  t.ok(chain.toBuffer().equals(payload), 'payload intact');
  t.ok(directBytes > 0, 'some bytes went straight into the chain');
});

t.test('direct reads that end short of a slot end: the tail is read alone, then direct again', async (t) => {
  // Folio-sized slots and socket reads of 65483 bytes (loopback segments) that
  // never line up with them: without reading slot tails on their own, most of
  // the payload would go through scratch.
  const SLOT = 65536;
  const payload = randomBytes(4 * SLOT);
  const stream = Buffer.concat([readFrame(2n, payload), echoFrame(3n)]);
  const chain = Bvecq.fromBuffers([0, 1, 2, 3].map(() => Buffer.alloc(SLOT)));
  const sink = new Sink(new Map([[2n, chain]]));
  const rx = new Receiver(sink);
  const slotMemory = new Set<ArrayBufferLike>();
  for (let seg = chain.head; seg; seg = seg.next) for (const b of seg.slots) slotMemory.add(b.buffer);
  let off = 0;
  let scratchBytes = 0;
  let shortReads = 0;
  while (off < stream.length) {
    const buf = rx.readBuffer();
    const n = Math.min(buf.length, stream.length - off, 65483);
    stream.copy(buf, 0, off, off + n);
    if (!slotMemory.has(buf.buffer)) scratchBytes += n;
    else if (buf.length < 4096) shortReads++;
    rx.filled(n);
    off += n;
  }
  t.ok(chain.toBuffer().equals(payload), 'payload intact');
  t.equal(sink.frames.length, 1, 'the frame after it too');
  t.ok(scratchBytes <= 2 * 65483, `only the first read (header and the start of the payload) and the frame after it through scratch (${scratchBytes} bytes)`);
  t.ok(shortReads <= 4, `at most one short read per slot (${shortReads})`);
});

t.test('a chain of small buffers: no two short direct reads in a row', async (t) => {
  const payload = randomBytes(20000);
  const stream = readFrame(2n, payload);
  const chain = oddChain(payload.length);
  const sink = new Sink(new Map([[2n, chain]]));
  const rx = new Receiver(sink);
  const slotMemory = new Set<ArrayBufferLike>();
  for (let seg = chain.head; seg; seg = seg.next) for (const b of seg.slots) slotMemory.add(b.buffer);
  let off = 0;
  let prevShort = false;
  let twice = 0;
  while (off < stream.length) {
    const buf = rx.readBuffer();
    const n = Math.min(buf.length, stream.length - off);
    const short = slotMemory.has(buf.buffer) && buf.length < 4096;
    if (short && prevShort) twice++;
    prevShort = short;
    stream.copy(buf, 0, off, off + n);
    rx.filled(n);
    off += n;
  }
  t.ok(chain.toBuffer().equals(payload), 'payload intact');
  t.equal(twice, 0, 'short views alternate with scratch reads');
});

t.test('padding before the payload is skipped', async (t) => {
  const chain = oddChain(100);
  const sink = new Sink(new Map([[9n, chain]]));
  const data = randomBytes(100);
  new Receiver(sink).push(readFrame(9n, data, 0x58));
  t.ok(chain.toBuffer().equals(data));
  t.equal(sink.reads[0]?.head.length, 0x58);
});

t.test('too much data read is refused and the frame skipped', async (t) => {
  const chain = oddChain(10);
  const sink = new Sink(new Map([[4n, chain]]));
  const rx = new Receiver(sink);
  rx.push(Buffer.concat([readFrame(4n, randomBytes(20)), echoFrame(5n)]));
  t.match(sink.bad[0], /too much data/);
  t.equal(sink.frames.length, 1, 'the next frame still arrives');
  t.equal(sink.fatal.length, 0);
});

/** Feed `stream` as net's onread would: a buffer from readBuffer(), at most `step` bytes into it. */
function feedDirect(rx: Receiver, stream: Buffer, step: number): void {
  for (let off = 0; off < stream.length; ) {
    const buf = rx.readBuffer();
    const n = Math.min(buf.length, stream.length - off, step);
    stream.copy(buf, 0, off, off + n);
    rx.filled(n);
    off += n;
  }
}

t.test('a destination that cannot take the payload costs only that reply', async (t) => {
  // A late reply whose destination has gone: here a buffer detached after the
  // decant was set up (as fuse-native detaches a FUSE buffer once answered),
  // and a chain that is simply shorter than the payload.
  const payload = randomBytes(40000);
  const stream = Buffer.concat([readFrame(2n, payload), echoFrame(3n), readFrame(4n, payload.subarray(0, 100))]);
  for (const feed of ['push', 'direct'] as const) {
    for (const kind of ['detached', 'short'] as const) {
      const name = `${kind}, ${feed}`;
      const ab = new ArrayBuffer(payload.length);
      const chain = Bvecq.fromBuffers(kind === 'short' ? [Buffer.alloc(30000)] : [Buffer.from(ab)]);
      const after = oddChain(100);
      const sink = new Sink(new Map([[2n, chain], [4n, after]]));
      sink.decantTarget = (h: Smb2Header) => {
        const c = sink.chains.get(h.messageId);
        return c ? { dest: c.start(), max: payload.length } : null;
      };
      const rx = new Receiver(sink);
      const cut = 10000;
      if (feed === 'push') rx.push(stream.subarray(0, cut));
      else feedDirect(rx, stream.subarray(0, cut), 1500);
      if (kind === 'detached') structuredClone(ab, { transfer: [ab] });
      t.equal(ab.byteLength, kind === 'detached' ? 0 : payload.length, `${name}: set up`);
      if (feed === 'push') rx.push(stream.subarray(cut));
      else feedDirect(rx, stream.subarray(cut), 1500);
      t.same(sink.fatal, [], `${name}: the stream lives on`);
      t.equal(sink.bad.length, 1, `${name}: the reply is refused`);
      t.match(sink.bad[0], /destination too short/);
      t.equal(sink.frames.length, 1, `${name}: the next frame arrives`);
      t.equal(sink.reads.length, 1, `${name}: the next READ is decanted`);
      t.equal(sink.reads[0]?.header.messageId, 4n);
      t.ok(after.toBuffer().equals(payload.subarray(0, 100)), `${name}: into its own chain`);
      if (kind === 'short') t.ok(chain.toBuffer().equals(payload.subarray(0, 30000)), `${name}: what fitted is there`);
      t.equal(rx.queued, 0);
    }
  }
});

t.test('a bad length prefix or a runt frame kills the stream', async (t) => {
  const sink = new Sink(new Map());
  new Receiver(sink).push(Buffer.from([0x85, 0, 0, 0]));
  t.match(sink.fatal[0], /session message type/);
  const sink2 = new Sink(new Map());
  new Receiver(sink2).push(Buffer.from([0, 0, 0, 2, 0xfe, 0x53]));
  t.match(sink2.fatal[0], /too short/);
});

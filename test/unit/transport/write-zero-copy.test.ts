/**
 * A WRITE goes to the socket as ONE gathered write (cork, write fragments,
 * uncork → a single _writev) whose payload chunks are the caller's own
 * buffers: same object, same memory, never copied. Checked on a real
 * loopback socket whose peer records the frame.
 */
import t from 'tap';
import net from 'node:net';
import { SmbConnection } from '../../../transport/connection.js';
import { Smb2Command, SMB2_HEADER_SIZE } from '../../../transport/pdu/header.js';
import { WRITE_DATA_OFFSET } from '../../../transport/pdu/write.js';
import { TreeCore } from '../../../transport/tree-core.js';
import { writeMsg } from '../../../transport/tree-io.js';
import type { Negotiated, SessionState } from '../../../transport/session.js';
import { FILE_ID } from '../../helpers/bytes.js';

t.test('one socket write per WRITE, payload not copied', async (t) => {
  const received: Buffer[] = [];
  let gotAll: () => void = () => {};
  const server = net.createServer((s) => s.on('data', (d) => {
    received.push(d);
    gotAll();
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const conn = await SmbConnection.open('127.0.0.1', port, 5000);
  t.teardown(() => conn.close());
  conn.multiCredit = true;
  conn.credits.grant(100);

  const socket = (conn as unknown as { socket: net.Socket }).socket;
  const calls: { kind: string; chunks: Buffer[] }[] = [];
  const s = socket as unknown as {
    _writev: (chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void) => void;
    _write: (chunk: Buffer, enc: string, cb: (e?: Error | null) => void) => void;
  };
  const origWritev = s._writev.bind(socket);
  const origWrite = s._write.bind(socket);
  s._writev = (chunks, cb) => {
    calls.push({ kind: 'writev', chunks: chunks.map((c) => c.chunk) });
    origWritev(chunks, cb);
  };
  s._write = (chunk, enc, cb) => {
    calls.push({ kind: 'write', chunks: [chunk] });
    origWrite(chunk, enc, cb);
  };

  const neg = { maxWriteSize: 1 << 20 } as Negotiated;
  const session = { sessionId: 0n } as SessionState;
  const core = new TreeCore(conn, neg, session, 7);
  // Caller data: three views into one larger ArrayBuffer.
  const backing = Buffer.alloc(300000);
  for (let i = 0; i < backing.length; i++) backing[i] = i & 0xff;
  const data = [backing.subarray(10, 70000), backing.subarray(70000, 200000), backing.subarray(200000, 299990)];
  const len = data.reduce((a, b) => a + b.length, 0);
  const m = writeMsg(core, FILE_ID, 4096, data);
  t.equal(m.creditCharge, Math.ceil(len / 65536), 'CreditCharge = ceil(len / 64 KiB)');
  const all = new Promise<void>((r) => {
    gotAll = () => {
      if (received.reduce((a, b) => a + b.length, 0) >= 4 + WRITE_DATA_OFFSET + len) r();
    };
  });
  await conn.send(m);
  await all;

  t.equal(calls.length, 1, 'exactly one socket write');
  t.equal(calls[0]!.kind, 'writev', 'a single gathered writev');
  const chunks = calls[0]!.chunks;
  t.equal(chunks.length, 2 + data.length, 'prefix, header+body, then each payload slice');
  data.forEach((d, i) => {
    const c = chunks[2 + i]!;
    t.equal(c, d, `slice ${i} is the caller's Buffer object`);
    t.equal(c.buffer, backing.buffer, `slice ${i} shares the caller's ArrayBuffer`);
    t.equal(c.byteOffset, d.byteOffset, `slice ${i} at the caller's offset`);
  });

  const frame = Buffer.concat(received);
  t.equal(frame.readUInt32BE(0), WRITE_DATA_OFFSET + len, 'frame length');
  const msg = frame.subarray(4);
  t.equal(msg.readUInt16LE(12), Smb2Command.WRITE);
  t.equal(msg.readUInt16LE(SMB2_HEADER_SIZE + 2), WRITE_DATA_OFFSET, 'DataOffset');
  t.equal(msg.readUInt32LE(SMB2_HEADER_SIZE + 4), len, 'Length');
  t.equal(Number(msg.readBigUInt64LE(SMB2_HEADER_SIZE + 8)), 4096, 'Offset');
  t.ok(msg.subarray(WRITE_DATA_OFFSET).equals(Buffer.concat(data)), 'payload bytes on the wire');
});

t.test('WRITE larger than MaxWriteSize is refused before sending', async (t) => {
  const core = new TreeCore({} as SmbConnection, { maxWriteSize: 65536 } as Negotiated, { sessionId: 1n } as SessionState, 1);
  t.throws(() => writeMsg(core, FILE_ID, 0, [Buffer.alloc(65537)]), RangeError);
  t.throws(() => writeMsg(core, FILE_ID, -1, [Buffer.alloc(1)]), RangeError);
});

t.test('messages sent in one turn of the event loop leave in one writev, whole and in order', async (t) => {
  const received: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d) => received.push(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const conn = await SmbConnection.open('127.0.0.1', (server.address() as net.AddressInfo).port, 5000);
  t.teardown(() => conn.close());
  conn.multiCredit = true;
  conn.credits.grant(100);
  const s = (conn as unknown as { socket: { _writev: (c: { chunk: Buffer }[], cb: (e?: Error | null) => void) => void } }).socket;
  const batches: Buffer[][] = [];
  const origWritev = s._writev.bind(s);
  s._writev = (chunks, cb) => {
    batches.push(chunks.map((c) => c.chunk));
    origWritev(chunks, cb);
  };
  const core = new TreeCore(conn, { maxWriteSize: 1 << 20 } as Negotiated, { sessionId: 0n } as SessionState, 7);
  const [a, b, c] = [Buffer.alloc(1000, 0xaa), Buffer.alloc(2000, 0xbb), Buffer.alloc(3000, 0xcc)];
  await Promise.all([conn.send(writeMsg(core, FILE_ID, 0, [a])), conn.send(writeMsg(core, FILE_ID, 1000, [b]))]);
  await new Promise((r) => setImmediate(r));
  await conn.send(writeMsg(core, FILE_ID, 3000, [c]));
  await new Promise((r) => setTimeout(r, 50));

  t.equal(batches.length, 2, 'two writevs: one for the two sent together, one for the later');
  t.same(batches[0]!.map((x) => x.length), [4, WRITE_DATA_OFFSET, 1000, 4, WRITE_DATA_OFFSET, 2000], 'both messages in the first, each whole');
  t.equal(batches[0]![2], a, 'the first payload is the caller buffer');
  t.equal(batches[0]![5], b, 'then the second');
  t.equal(batches[1]![2], c, 'the later message alone in the second');
  const wire = Buffer.concat(received);
  const offsets: number[] = [];
  for (let at = 0; at < wire.length; at += 4 + wire.readUInt32BE(at)) offsets.push(Number(wire.readBigUInt64LE(at + 4 + SMB2_HEADER_SIZE + 8)));
  t.same(offsets, [0, 1000, 3000], 'three frames on the wire, in the order sent');
});

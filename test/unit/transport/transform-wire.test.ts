/**
 * Encryption on a real loopback socket with a scripted peer: an encrypted
 * request (a WRITE with payload slices) leaves as ONE socket write of one
 * buffer (length prefix + transform), unsigned, and decrypts to the plain
 * message; an encrypted READ reply trickling in as many small TCP segments
 * is decrypted from the receive queue and its payload lands in the chain; a
 * reply with a flipped bit, or a plain reply where encryption is due, is
 * never delivered and resets the connection. And `seal` parses as an option.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { Bvecq } from '../../../netfs/bvecq.js';
import { SmbConnection } from '../../../transport/connection.js';
import { SmbMessage } from '../../../transport/message.js';
import { Smb2Command, Smb2Flags, SMB2_HEADER_SIZE } from '../../../transport/pdu/header.js';
import { WRITE_DATA_OFFSET } from '../../../transport/pdu/write.js';
import { encodeReadRequest } from '../../../transport/pdu/read.js';
import { TreeCore } from '../../../transport/tree-core.js';
import { writeMsg } from '../../../transport/tree-io.js';
import { Cipher, SessionCipher } from '../../../transport/transform.js';
import type { Negotiated, SessionState } from '../../../transport/session.js';
import { parseArgs } from '../../../src/config.js';
import { FILE_ID, responseHeader } from '../../helpers/bytes.js';

const SID = 0x4400000001n;
const K1 = Buffer.alloc(16, 0xa1);
const K2 = Buffer.alloc(16, 0xb2);

/** A connection to a peer that records what it receives and can write back. */
async function pair(t: Test) {
  const received: Buffer[] = [];
  let peer!: net.Socket;
  let onData: () => void = () => {};
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (d) => {
      received.push(d);
      onData();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const conn = await SmbConnection.open('127.0.0.1', (server.address() as net.AddressInfo).port, 5000);
  t.teardown(() => conn.close());
  await new Promise((r) => setImmediate(r));
  conn.multiCredit = true;
  conn.credits.grant(200);
  const frameOf = (need: number) =>
    new Promise<Buffer>((r) => {
      onData = () => {
        const all = Buffer.concat(received);
        if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0) && all.length >= need) r(all);
      };
      onData();
    });
  return { conn, received, frameOf, peer: () => peer };
}

t.test('an encrypted WRITE is one socket write of one buffer, unsigned, and decrypts to the message', async (t) => {
  const { conn, frameOf, received } = await pair(t);
  for (const id of [Cipher.AES_128_GCM, Cipher.AES_128_CCM]) {
    received.length = 0;
    const client = new SessionCipher(id, SID, K1, K2);
    const server = new SessionCipher(id, SID, K2, K1);
    conn.setEncryption(SID, client, true);
    // A signer that must not be used: the AEAD replaces signing.
    conn.setSigner(SID, { required: true, sign: () => t.fail('signed an encrypted message'), verify: () => true });
    const socket = (conn as unknown as { socket: net.Socket }).socket as unknown as {
      _writev: (c: { chunk: Buffer }[], cb: (e?: Error | null) => void) => void;
      _write: (c: Buffer, e: string, cb: (e?: Error | null) => void) => void;
    };
    const calls: Buffer[][] = [];
    const ow = socket._write.bind(socket);
    const owv = socket._writev.bind(socket);
    socket._write = (c, e, cb) => (calls.push([c]), ow(c, e, cb));
    socket._writev = (cs, cb) => (calls.push(cs.map((c) => c.chunk)), owv(cs, cb));
    const core = new TreeCore(conn, { maxWriteSize: 1 << 20 } as Negotiated, { sessionId: SID } as SessionState, 9);
    const data = [Buffer.alloc(70000, 1), Buffer.alloc(100000, 2), Buffer.alloc(33, 3)];
    const len = 170033;
    const m = writeMsg(core, FILE_ID, 8192, data);
    const got = frameOf(4 + 52 + WRITE_DATA_OFFSET + len);
    await conn.send(m);
    const all = await got;
    t.equal(calls.length, 1, 'one socket write');
    t.equal(calls[0]!.length, 1, 'of one buffer');
    const frame = all.subarray(4, 4 + all.readUInt32BE(0));
    t.equal(frame.length, 52 + WRITE_DATA_OFFSET + len, 'length prefix covers the transform');
    t.equal(frame.readUInt32LE(0), 0x424d53fd, 'transform ProtocolId');
    const plain = server.openFrame(frame);
    t.equal(plain.readUInt16LE(12), Smb2Command.WRITE);
    t.equal(plain.readUInt32LE(16) & Smb2Flags.SIGNED, 0, 'not signed');
    t.ok(plain.subarray(48, 64).equals(Buffer.alloc(16)), 'no signature');
    t.ok(plain.subarray(WRITE_DATA_OFFSET).equals(Buffer.concat(data)), 'payload');
    socket._write = ow;
    socket._writev = owv;
    // Forget the outstanding WRITE (no reply will come).
    m.fail(new Error('done'));
  }
});

/** Build a READ reply message carrying `data` for message id `mid`. */
function readReply(mid: bigint, data: Buffer): Buffer {
  const h = responseHeader(Smb2Command.READ, 0, { messageId: mid, treeId: 9, sessionId: SID }).toBuffer();
  const fixed = Buffer.alloc(16);
  fixed.writeUInt16LE(17, 0);
  fixed[2] = 80;
  fixed.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, fixed, data]);
}

async function readThrough(t: Test, mutate: (frame: Buffer) => Buffer | null, plainReply = false) {
  const { conn, frameOf, peer } = await pair(t);
  const client = new SessionCipher(Cipher.AES_128_GCM, SID, K1, K2);
  const server = new SessionCipher(Cipher.AES_128_GCM, SID, K2, K1);
  conn.setEncryption(SID, client, true);
  const m = new SmbMessage(Smb2Command.READ, encodeReadRequest({ padding: 0x50, flags: 0, length: 300000, offset: 0, fileId: FILE_ID, minimumCount: 0, channel: 0, remainingBytes: 0 }), 5);
  m.sessionId = SID;
  m.treeId = 9;
  const dest = Buffer.alloc(300000);
  m.readDest = Bvecq.fromBuffers([dest.subarray(0, 100000), dest.subarray(100000)], 0).start();
  m.readMax = 300000;
  const req = frameOf(60);
  await conn.send(m);
  const reqFrame = (await req).subarray(4);
  const mid = server.openFrame(reqFrame).readBigUInt64LE(24);
  const data = Buffer.alloc(300000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const reply = readReply(mid, data);
  let body = plainReply ? reply : server.seal([reply], 0);
  body = mutate(body) ?? body;
  const wire = Buffer.alloc(4 + body.length);
  wire.writeUInt32BE(body.length, 0);
  body.copy(wire, 4);
  // Trickle it in: many small segments.
  const p = peer();
  for (let off = 0; off < wire.length; off += 7000) {
    p.write(wire.subarray(off, Math.min(wire.length, off + 7000)));
    if (off % 70000 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  return { conn, m, dest, data };
}

t.test('an encrypted READ reply in many segments is decrypted, then decanted into the chain', async (t) => {
  const { conn, m, dest, data } = await readThrough(t, () => null);
  const r = await m.done;
  t.equal(r.decanted, data.length, 'payload decanted');
  t.equal(r.sealed, true, 'marked as encrypted');
  t.ok(dest.equals(data), 'chain holds the plaintext payload');
  t.equal(r.msg.length, 80, 'msg is header + fixed part');
  t.ok(conn.sealStats.opened >= 1);
});

t.test('a flipped bit in an encrypted READ reply: nothing delivered, connection reset', async (t) => {
  const { conn, m, dest } = await readThrough(t, (f) => {
    f[52 + 200000] = f[52 + 200000]! ^ 0x04;
    return f;
  });
  await t.rejects(m.done, /does not verify/);
  t.ok(dest.equals(Buffer.alloc(dest.length)), 'no byte of the reply reached the chain');
  t.ok(conn.isClosed, 'connection reset');
});

t.test('a plain READ reply where encryption is due: refused, connection reset', async (t) => {
  const { conn, m, dest } = await readThrough(t, () => null, true);
  await t.rejects(m.done, /unencrypted reply/);
  t.ok(dest.equals(Buffer.alloc(dest.length)), 'nothing decanted');
  t.ok(conn.isClosed);
});

t.test('seal is a mount option', async (t) => {
  const pe = { env: { PASSWD: 'x' }, readFile: () => '', fileMode: () => 0o600, cwd: '/', uid: 0, gid: 0 };
  const r = parseArgs(['//h/s', '/mnt', '-o', 'seal,username=u'], pe);
  t.equal(r.kind, 'mount');
  if (r.kind === 'mount') t.equal(r.config.seal, true);
  const r2 = parseArgs(['//h/s', '/mnt', '-o', 'username=u'], pe);
  if (r2.kind === 'mount') t.equal(r2.config.seal, false, 'off by default');
});

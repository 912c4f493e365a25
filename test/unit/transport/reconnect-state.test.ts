/**
 * The connection state machine without a server: the peer is a loopback TCP
 * listener that records the frames it gets and can drop the socket (the
 * transport's socket is real, only the far end is a stand-in). What is
 * checked: a drop parks what may be resent and fails the rest; new requests
 * wait at the gate; resume sends the parked ones again with the new session,
 * tree and file ids (REPLAY_OPERATION on state-changing ones); soft bounds
 * fail waiters; without a policy a drop still closes; an unanswered ECHO
 * drops the connection. And the replay classes of transport/replay.ts.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { SmbConnection } from '../../../transport/connection.js';
import { startKeepalive } from '../../../transport/keepalive.js';
import { SmbMessage } from '../../../transport/message.js';
import { Smb2Command, Smb2Flags } from '../../../transport/pdu/header.js';
import { replayClass } from '../../../transport/replay.js';

interface Seen {
  socket: number;
  command: number;
  flags: number;
  treeId: number;
  sessionId: bigint;
  body: Buffer;
}

/** A peer that accepts connections and records every frame, never answering. */
async function recorder(t: { teardown(fn: () => unknown): void }) {
  const sockets: net.Socket[] = [];
  const seen: Seen[] = [];
  const srv = net.createServer((s) => {
    const index = sockets.push(s) - 1;
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const f = buf.subarray(4, 4 + buf.readUInt32BE(0));
        buf = buf.subarray(4 + f.length);
        seen.push({ socket: index, command: f.readUInt16LE(12), flags: f.readUInt32LE(16), treeId: f.readUInt32LE(36), sessionId: f.readBigUInt64LE(40), body: Buffer.from(f.subarray(64)) });
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return { port: (srv.address() as net.AddressInfo).port, sockets, seen };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await sleep(5);
  return cond();
}
const state = (p: Promise<unknown>) => Promise.race([p.then(() => 'done', () => 'failed'), sleep(50).then(() => 'pending')]);

const FILE_A = Buffer.alloc(16, 0xa1);
const FILE_B = Buffer.alloc(16, 0xb2);

function msg(command: number, bodyLen: number, fileIdAt: number | null, session = 5n, tree = 7): SmbMessage {
  const body = Buffer.alloc(bodyLen);
  if (fileIdAt !== null) FILE_A.copy(body, fileIdAt);
  const m = new SmbMessage(command, body);
  m.sessionId = session;
  m.treeId = tree;
  return m;
}

t.test('a drop parks what may be resent; resume sends it with the new ids', async (t) => {
  const peer = await recorder(t);
  const conn = await SmbConnection.open('127.0.0.1', peer.port, 5000);
  t.teardown(() => conn.close());
  conn.enableReconnect({ softTimeoutMs: 0 });
  conn.replayAllowed = true;
  conn.credits.grant(16);
  t.equal(conn.state, 'ready');
  const read = msg(Smb2Command.READ, 49, 16);
  const list = msg(Smb2Command.QUERY_DIRECTORY, 33, 8);
  const rename = msg(Smb2Command.SET_INFO, 33, 16);
  rename.body[3] = 10; // FileRenameInformation
  for (const m of [read, list, rename]) await conn.send(m);
  t.ok(await until(() => peer.seen.length === 3), 'three requests on the wire');

  const dropped = once(conn, 'disconnected');
  peer.sockets[0]!.destroy();
  await dropped;
  t.equal(conn.state, 'disconnected');
  await t.rejects(list.done, { code: 'SMB_ERR_TRANSPORT' }, 'a listing cannot be resent: it fails');
  t.equal(await state(read.done), 'pending', 'a READ waits');
  t.equal(await state(rename.done), 'pending', 'a rename waits (replay allowed)');
  const late = msg(Smb2Command.READ, 49, 16);
  const lateSent = conn.send(late);
  t.equal(await state(lateSent), 'pending', 'a new request waits at the gate');

  await conn.redial();
  t.equal(conn.state, 'negotiating');
  conn.credits.grant(16);
  t.equal(await state(lateSent), 'pending', 'still waiting while the reconnect negotiates');
  conn.mapFileId(FILE_A, FILE_B);
  conn.resume({ oldSessionId: 5n, sessionId: 9n, treeIds: new Map([[7, 8]]), replayFlag: true });
  t.equal(conn.state, 'ready');
  t.ok(await until(() => peer.seen.filter((s) => s.socket === 1).length === 3), 'three requests on the new connection');
  const again = peer.seen.filter((s) => s.socket === 1);
  for (const s of again) {
    t.equal(s.sessionId, 9n, 'new session id');
    t.equal(s.treeId, 8, 'new tree id');
  }
  const reads = again.filter((s) => s.command === Smb2Command.READ);
  t.equal(reads.length, 2, 'the parked READ and the late one');
  for (const r of reads) {
    t.same(r.body.subarray(16, 32), FILE_B, 'READ names the reopened handle');
    t.equal(r.flags & Smb2Flags.REPLAY_OPERATION, 0, 'an idempotent request is not flagged as a replay');
  }
  const set = again.find((s) => s.command === Smb2Command.SET_INFO)!;
  t.ok(set.flags & Smb2Flags.REPLAY_OPERATION, 'the rename goes out flagged as a replay');
  t.same(set.body.subarray(16, 32), FILE_B);
  conn.close();
  await t.rejects(read.done, { code: 'SMB_ERR_TRANSPORT' }, 'closing fails what is still waiting');
});

t.test('soft: waiting requests fail after the bound, the connection lives on', async (t) => {
  const peer = await recorder(t);
  const conn = await SmbConnection.open('127.0.0.1', peer.port, 5000);
  t.teardown(() => conn.close());
  conn.enableReconnect({ softTimeoutMs: 200 });
  conn.credits.grant(4);
  const read = msg(Smb2Command.READ, 49, 16);
  await conn.send(read);
  await until(() => peer.seen.length === 1);
  const t0 = Date.now();
  peer.sockets[0]!.destroy();
  await once(conn, 'disconnected');
  const late = conn.request(msg(Smb2Command.QUERY_INFO, 41, 24));
  await t.rejects(read.done, { code: 'SMB_ERR_TRANSPORT', message: /soft mount/ });
  await t.rejects(late, { code: 'SMB_ERR_TRANSPORT', message: /soft mount/ });
  const ms = Date.now() - t0;
  t.ok(ms >= 150 && ms < 2000, `both failed after the 200 ms bound (${ms} ms)`);
  t.notOk(conn.isClosed, 'the connection is not closed: a reconnect may still bring it back');
});

t.test('without a reconnect policy a drop closes and fails everything', async (t) => {
  const peer = await recorder(t);
  const conn = await SmbConnection.open('127.0.0.1', peer.port, 5000);
  conn.credits.grant(4);
  const read = msg(Smb2Command.READ, 49, 16);
  await conn.send(read);
  await until(() => peer.seen.length === 1);
  const closed = once(conn, 'close');
  peer.sockets[0]!.destroy();
  await closed;
  t.ok(conn.isClosed);
  await t.rejects(read.done, { code: 'SMB_ERR_TRANSPORT' });
  await t.rejects(conn.send(msg(Smb2Command.READ, 49, 16)), { code: 'SMB_ERR_TRANSPORT' });
});

t.test('an unanswered ECHO drops a connection that reconnects, instead of closing it', async (t) => {
  const peer = await recorder(t);
  const conn = await SmbConnection.open('127.0.0.1', peer.port, 5000);
  t.teardown(() => conn.close());
  conn.enableReconnect({ softTimeoutMs: 0 });
  conn.credits.grant(4);
  const t0 = Date.now();
  const stop = startKeepalive(conn, 100);
  t.teardown(stop);
  const [why] = (await once(conn, 'disconnected')) as [Error];
  t.match(why.message, /did not answer ECHO within 200 ms/);
  t.ok(peer.seen.some((s) => s.command === Smb2Command.ECHO), 'an ECHO probe went out first');
  t.ok(Date.now() - t0 < 2000, `detected in ${Date.now() - t0} ms`);
  t.notOk(conn.isClosed);
});

t.test('replay classes', async (t) => {
  const create = (disposition: number, options = 0) => {
    const m = new SmbMessage(Smb2Command.CREATE, Buffer.alloc(57));
    m.body.writeUInt32LE(disposition, 36);
    m.body.writeUInt32LE(options, 40);
    return m;
  };
  t.equal(replayClass(create(1)), 'idempotent', 'FILE_OPEN');
  t.equal(replayClass(create(3)), 'idempotent', 'FILE_OPEN_IF');
  t.equal(replayClass(create(2)), null, 'FILE_CREATE would collide with itself');
  t.equal(replayClass(create(1, 0x1000)), null, 'DELETE_ON_CLOSE removes the file');
  const setInfo = (cls: number) => {
    const m = new SmbMessage(Smb2Command.SET_INFO, Buffer.alloc(33));
    m.body[3] = cls;
    return m;
  };
  t.equal(replayClass(setInfo(20)), 'idempotent', 'end of file');
  t.equal(replayClass(setInfo(4)), 'idempotent', 'times');
  t.equal(replayClass(setInfo(10)), 'replay', 'rename');
  t.equal(replayClass(setInfo(13)), 'replay', 'delete-on-close');
  for (const c of [Smb2Command.READ, Smb2Command.WRITE, Smb2Command.QUERY_INFO, Smb2Command.FLUSH, Smb2Command.CLOSE]) {
    t.equal(replayClass(new SmbMessage(c, Buffer.alloc(49))), 'idempotent', `command ${c}`);
  }
  for (const c of [Smb2Command.QUERY_DIRECTORY, Smb2Command.IOCTL, Smb2Command.LOCK, Smb2Command.ECHO, Smb2Command.SESSION_SETUP]) {
    t.equal(replayClass(new SmbMessage(c, Buffer.alloc(49))), null, `command ${c}`);
  }
  const marked = create(2);
  marked.replay = 'replay';
  t.equal(replayClass(marked), 'replay', 'a CREATE with a CreateGuid says so itself');
});

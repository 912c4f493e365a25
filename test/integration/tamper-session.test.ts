/**
 * An on-path attacker between the client and Samba (test/helpers/proxy.ts)
 * who rewrites the SessionId and SIGNED flag of replies, or answers in the
 * server's place:
 *  - a READ reply moved to SessionId 0 with its signature stripped and its
 *    payload forged: refused (the reply must name its request's session, and
 *    that session's key verifies it), no forged byte reaches the chain;
 *  - the same for a CREATE reply (whole-message path, not decanted);
 *  - the session kept but the signature stripped: refused on a signing mount;
 *  - a dialect rewrite whose VALIDATE_NEGOTIATE_INFO the attacker answers
 *    itself (SessionId 0 or the real one, SIGNED flag, garbage signature):
 *    the tree connect fails with "downgrade detected", the connection closes.
 */
import t from 'tap';
import diagnosticsChannel from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { connect, Dialect, SmbProtocolError, type SmbConnectOptions } from '../../transport/index.js';
import type { TransportEvent } from '../../transport/connection.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { FSCTL_VALIDATE_NEGOTIATE_INFO } from '../../transport/pdu/ioctl.js';
import { frameHeader, rewriteDialect, startProxy, type FrameHook } from '../helpers/proxy.js';
import { freshShareDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'tamper-session';
const base = await freshShareDir(t, samba.sharePath, dirName);
const content = randomBytes(1024 * 1024);
await writeFile(path.join(base, 'data.bin'), content);

const events: TransportEvent[] = [];
const onEvent = (m: unknown) => void events.push(m as TransportEvent);
diagnosticsChannel.subscribe('smbfuse:transport', onEvent);
t.teardown(() => diagnosticsChannel.unsubscribe('smbfuse:transport', onEvent));

const FLAG_SIGNED = 0x8;
const FORGED = 0x5a;

function opts(port: number, extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return { host: '127.0.0.1', port, username: samba.user, password: samba.pass, domain: '', guest: false, timeoutMs: 10000, echoIntervalMs: 0, ...extra };
}

async function proxied(hooks: { toServer?: FrameHook; toClient?: FrameHook }) {
  const proxy = await startProxy({ host: samba.host, port: samba.port, ...hooks });
  t.teardown(() => proxy.close());
  return proxy;
}

/** Strip the signature of a reply: SIGNED flag off, signature zeroed; optionally move it to session `sid`. */
function strip(frame: Buffer, sid: bigint | null): void {
  frame.writeUInt32LE(frame.readUInt32LE(16) & ~FLAG_SIGNED, 16);
  frame.fill(0, 48, 64);
  if (sid !== null) frame.writeBigUInt64LE(sid, 40);
}

/** toClient hook: the `nth` successful READ reply is stripped (and moved to `sid`) and its payload forged. */
function forgeRead(nth: number, sid: bigint | null): { hook: FrameHook; done: () => boolean } {
  let seen = 0;
  let done = false;
  const hook: FrameHook = (frame) => {
    const h = frameHeader(frame);
    if (done || !h?.response || h.command !== Smb2Command.READ || h.status !== 0 || h.nextCommand !== 0) return;
    if (seen++ !== nth) return;
    const off = frame.readUInt8(64 + 2);
    const len = frame.readUInt32LE(64 + 4);
    frame.fill(FORGED, off, off + len);
    strip(frame, sid);
    done = true;
  };
  return { hook, done: () => done };
}

const dialects: [string, Dialect][] = [
  ['2.1', Dialect.SMB2_1],
  ['3.0.2', Dialect.SMB3_0_2],
  ['3.1.1', Dialect.SMB3_1_1],
];

for (const [name, d] of dialects) {
  t.test(`sign, ${name}: a READ reply moved to SessionId 0, unsigned, with forged data is refused`, async (t) => {
    const forge = forgeRead(1, 0n);
    const proxy = await proxied({ toClient: forge.hook });
    const client = await connect(opts(proxy.port, { sign: true, minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const f = await tree.open(`${dirName}\\data.bin`);
    const chunk = 64 * 1024;
    const chain = Bvecq.fromBuffers([Buffer.alloc(4 * chunk)], 0);
    const before = events.length;
    const results: (number | Error)[] = [];
    for (let i = 0; i < 4; i++) {
      results.push(await tree.read(f.fileId, i * chunk, chunk, chain.at(i * chunk)).catch((e: Error) => e));
      if (results[i] instanceof Error) break;
    }
    t.ok(forge.done(), 'the proxy forged the second READ reply');
    t.equal(results[0], chunk, 'the first READ was delivered');
    const err = results[1];
    t.ok(err instanceof SmbProtocolError, 'the forged READ fails');
    t.match((err as Error).message, /names session 0x0, its request 0x[0-9a-f]+/);
    const flat = Buffer.alloc(4 * chunk);
    chain.at(0).copyOut(flat, 0, flat.length);
    t.ok(flat.subarray(0, chunk).equals(content.subarray(0, chunk)), 'the genuine bytes are there');
    t.notOk(flat.subarray(chunk).includes(Buffer.alloc(64, FORGED)), 'no forged byte reached the chain');
    t.ok(client.connection.isClosed, 'the connection was reset');
    t.same(events.slice(before).map((e) => e.event), ['session-mismatch'], 'one session-mismatch event');
  });
}

t.test('sign: a CREATE reply moved to SessionId 0 and unsigned is refused', async (t) => {
  let forged = false;
  const proxy = await proxied({
    toClient: (frame) => {
      const h = frameHeader(frame);
      if (forged || !h?.response || h.command !== Smb2Command.CREATE || h.status !== 0) return;
      strip(frame, 0n);
      forged = true;
    },
  });
  const client = await connect(opts(proxy.port, { sign: true }));
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const err = await tree.open(`${dirName}\\data.bin`).catch((e: unknown) => e);
  t.ok(forged, 'the proxy forged the CREATE reply');
  t.ok(err instanceof SmbProtocolError, 'the open fails');
  t.match((err as Error).message, /names session 0x0/);
  t.ok(client.connection.isClosed, 'the connection was reset');
});

t.test('sign: a READ reply of the right session with its signature stripped is refused', async (t) => {
  const forge = forgeRead(0, null);
  const proxy = await proxied({ toClient: forge.hook });
  const client = await connect(opts(proxy.port, { sign: true }));
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const f = await tree.open(`${dirName}\\data.bin`);
  const chain = Bvecq.fromBuffers([Buffer.alloc(65536)], 0);
  const err = await tree.read(f.fileId, 0, 65536, chain.at(0)).catch((e: unknown) => e);
  t.ok(forge.done());
  t.ok(err instanceof SmbProtocolError);
  t.match((err as Error).message, /unsigned reply to command 8 .* where a signature is required/);
  const flat = Buffer.alloc(65536);
  chain.at(0).copyOut(flat, 0, flat.length);
  t.ok(flat.every((b) => b === 0), 'nothing was decanted');
});

/**
 * toServer + toClient hooks for the downgrade: the NEGOTIATE request loses
 * 3.1.1 (the server picks 3.0.2), and the client's VALIDATE_NEGOTIATE_INFO
 * IOCTL is swallowed and answered by the proxy with what the client expects
 * to see, SIGNED flag set, signature garbage, session `sid` (null: the real one).
 */
function forgeValidate(sid: bigint | null) {
  const rw = rewriteDialect(0x0311, 0x0302);
  let negotiated: Buffer | null = null;
  let answered = false;
  const toClient: FrameHook = (frame) => {
    const h = frameHeader(frame);
    if (h?.response && h.command === Smb2Command.NEGOTIATE) negotiated = Buffer.from(frame.subarray(64, 64 + 64));
  };
  const toServer: FrameHook = (frame, i, relay) => {
    rw.hook(frame, i, relay);
    const h = frameHeader(frame);
    if (!h || h.response || h.command !== Smb2Command.IOCTL || frame.readUInt32LE(64 + 4) !== FSCTL_VALIDATE_NEGOTIATE_INFO || !negotiated) return;
    const reply = Buffer.alloc(64 + 48 + 24);
    frame.copy(reply, 0, 0, 64);
    reply.writeUInt32LE(0, 8); // STATUS_SUCCESS
    reply.writeUInt16LE(1, 14); // one credit
    reply.writeUInt32LE(frame.readUInt32LE(16) | 0x1 | FLAG_SIGNED, 16);
    if (sid !== null) reply.writeBigUInt64LE(sid, 40);
    randomBytes(16).copy(reply, 48);
    reply.writeUInt16LE(49, 64);
    reply.writeUInt32LE(FSCTL_VALIDATE_NEGOTIATE_INFO, 68);
    reply.fill(0xff, 72, 88);
    reply.writeUInt32LE(112, 96); // OutputOffset
    reply.writeUInt32LE(24, 100); // OutputCount
    reply.writeUInt32LE(negotiated.readUInt32LE(24), 112); // Capabilities
    negotiated.copy(reply, 116, 8, 24); // ServerGuid
    reply.writeUInt16LE(negotiated.readUInt16LE(2), 132); // SecurityMode
    reply.writeUInt16LE(negotiated.readUInt16LE(4), 134); // Dialect (the downgraded one)
    relay.toClient(reply);
    answered = true;
    return 'drop';
  };
  return { toServer, toClient, answered: () => answered, rewritten: rw.rewritten };
}

for (const [name, sid] of [['SessionId 0', 0n], ['the real SessionId', null]] as const) {
  t.test(`downgrade to 3.0.2 with the validate reply forged (${name}, SIGNED flag, garbage signature): refused`, async (t) => {
    const forge = forgeValidate(sid);
    const proxy = await proxied({ toServer: forge.toServer, toClient: forge.toClient });
    const client = await connect(opts(proxy.port, { minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_1_1 }));
    t.teardown(() => client.close());
    t.equal(forge.rewritten(), 1, 'the NEGOTIATE request was rewritten');
    t.equal(client.dialect, Dialect.SMB3_0_2, 'the negotiation landed on 3.0.2');
    const err = await client.treeConnect('test').catch((e: unknown) => e);
    t.ok(forge.answered(), "the proxy swallowed the client's IOCTL and answered it");
    t.ok(err instanceof SmbProtocolError, 'the tree connect fails');
    t.match((err as Error).message, /^downgrade detected: /);
    t.comment((err as Error).message);
    t.ok(client.connection.isClosed, 'the connection is closed: no mount');
  });
}

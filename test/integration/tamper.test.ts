/**
 * A tampering proxy between the client and Samba (test/helpers/proxy.ts):
 *  - one bit flipped in the payload of a signed READ reply: the read fails,
 *    the connection is reset, the event is published on 'smbfuse:transport',
 *    and through netfs the wrong bytes never reach the reader's buffer;
 *  - 3.1.1 rewritten to 3.0.2 in the NEGOTIATE request's dialect list:
 *    `vers=3.1.1` is refused (the server answers a dialect not offered);
 *    a 3.0–3.1.1 range lands on 3.0.2 and FSCTL_VALIDATE_NEGOTIATE_INFO
 *    catches the rewrite, failing the tree connect with "downgrade detected".
 */
import t from 'tap';
import diagnosticsChannel from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { NetfsInode, PageCache } from '../../netfs/index.js';
import { SmbNetfsOps } from '../../src/smb-netfs-ops.js';
import { connect, Dialect, SmbProtocolError, type SmbConnectOptions } from '../../transport/index.js';
import type { TransportEvent } from '../../transport/connection.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { flipReadPayload, frameHeader, rewriteDialect, startProxy, type FrameHook } from '../helpers/proxy.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'tamper';
const base = path.join(samba.sharePath, dirName);
await rm(base, { recursive: true, force: true });
await mkdir(base, { recursive: true });
const content = randomBytes(2 * 1024 * 1024);
await writeFile(path.join(base, 'data.bin'), content);
t.teardown(() => rm(base, { recursive: true, force: true }));

const events: TransportEvent[] = [];
const onEvent = (m: unknown) => void events.push(m as TransportEvent);
diagnosticsChannel.subscribe('smbfuse:transport', onEvent);
t.teardown(() => diagnosticsChannel.unsubscribe('smbfuse:transport', onEvent));

async function proxied(hooks: { toServer?: FrameHook; toClient?: FrameHook }) {
  const proxy = await startProxy({ host: samba.host, port: samba.port, ...hooks });
  t.teardown(() => proxy.close());
  return proxy;
}

function opts(port: number, extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return {
    host: '127.0.0.1',
    port,
    username: samba.user,
    password: samba.pass,
    domain: '',
    guest: false,
    timeoutMs: 10000,
    echoIntervalMs: 0,
    ...extra,
  };
}

const signedDialects: [string, Dialect][] = [
  ['2.1 (HMAC-SHA256)', Dialect.SMB2_1],
  ['3.0.2 (AES-CMAC)', Dialect.SMB3_0_2],
  ['3.1.1 (negotiated)', Dialect.SMB3_1_1],
];

for (const [name, d] of signedDialects) {
  t.test(`sign, ${name}: a bit flipped in a READ reply's payload fails the read and resets the connection`, async (t) => {
    const flip = flipReadPayload(2, 4321, 5);
    const proxy = await proxied({ toClient: flip.hook });
    const client = await connect(opts(proxy.port, { sign: true, minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const f = await tree.open(`${dirName}\\data.bin`);
    const before = events.length;
    const chunk = 64 * 1024;
    const chain = Bvecq.fromBuffers([Buffer.alloc(content.length)], 0);
    const results = await Promise.allSettled(
      Array.from({ length: content.length / chunk }, (_, i) => tree.read(f.fileId, i * chunk, chunk, chain.at(i * chunk))),
    );
    t.ok(flip.flipped(), 'the proxy flipped a bit');
    const bad = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Error);
    t.ok(bad.length >= 1, 'at least the tampered read failed');
    t.ok(
      bad.some((e) => e instanceof SmbProtocolError && /bad signature on reply to command 8/.test(e.message)),
      'the tampered READ fails with a bad-signature SmbProtocolError',
    );
    t.ok(client.connection.isClosed, 'the connection was reset');
    const ev = events.slice(before);
    t.equal(ev.length, 1, 'one event on smbfuse:transport');
    t.equal(ev[0]?.event, 'bad-signature');
    t.equal(ev[0]?.command, Smb2Command.READ);
    // Reads that completed before the tamper are intact; none after it.
    const okCount = results.filter((r) => r.status === 'fulfilled').length;
    t.ok(okCount < results.length, `${okCount} of ${results.length} reads completed before the reset`);
    await t.rejects(tree.stat(`${dirName}\\data.bin`), 'nothing more goes over the reset connection');
  });
}

t.test('sign through netfs: the reader gets EIO and never the tampered bytes; the folios are not cached', async (t) => {
  const flip = flipReadPayload(0, 70000, 1);
  const proxy = await proxied({ toClient: flip.hook });
  const client = await connect(opts(proxy.port, { sign: true }));
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const f = await tree.open(`${dirName}\\data.bin`);
  const cache = new PageCache({ maxBytes: 64 * 1024 * 1024, folioSize: 64 * 1024 });
  const inode = new NetfsInode({ key: 'tamper', size: content.length, ops: new SmbNetfsOps(tree, 256 * 1024, 256 * 1024, f.fileId), cache, readaheadMax: 0 });
  const dst = Buffer.alloc(512 * 1024);
  const err = await inode.read(0, dst.length, dst).catch((e: unknown) => e);
  t.ok(flip.flipped(), 'the proxy flipped a bit in the first READ reply');
  t.ok(err instanceof Error, 'the read rejects');
  t.equal((err as { errno?: number }).errno ?? (err as { code?: number }).code, -5, 'with EIO');
  t.ok(dst.every((b) => b === 0), "the reader's buffer received none of the bytes (tampered or not)");
  t.ok(client.connection.isClosed, 'the connection was reset');
  t.not(cache.peek('tamper', 1)?.state, 'uptodate', 'the folio holding the tampered byte is not up to date');
});

t.test('3.1.1 stripped from the dialect list: vers=3.1.1 fails to connect', async (t) => {
  const rw = rewriteDialect(0x0311, 0x0302);
  const proxy = await proxied({ toServer: rw.hook });
  const err = await connect(opts(proxy.port, { minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1 })).catch((e: unknown) => e);
  t.equal(rw.rewritten(), 1, 'the proxy rewrote the NEGOTIATE request');
  t.ok(err instanceof SmbProtocolError, 'connect rejects with SmbProtocolError');
  t.match((err as Error).message, /server chose dialect 0x302, which was not offered/);
});

t.test('3.1.1 stripped from a 3.0-3.1.1 offer: validate-negotiate on 3.0.2 detects it', async (t) => {
  const rw = rewriteDialect(0x0311, 0x0302);
  const proxy = await proxied({ toServer: rw.hook });
  const client = await connect(opts(proxy.port, { minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_1_1 }));
  t.teardown(() => client.close());
  t.equal(client.dialect, Dialect.SMB3_0_2, 'the downgraded negotiate landed on 3.0.2');
  const err = await client.treeConnect('test').catch((e: unknown) => e);
  t.ok(err instanceof SmbProtocolError, 'the first tree connect fails');
  t.match((err as Error).message, /^downgrade detected: /);
  t.comment((err as Error).message);
  t.ok(client.connection.isClosed, 'and the connection is closed');
});

for (const [name, d] of [['3.0', Dialect.SMB3_0], ['3.0.2', Dialect.SMB3_0_2]] as const) {
  t.test(`untampered ${name}: validate-negotiate runs once, signed, and passes`, async (t) => {
    const ioctls: boolean[] = [];
    const replies: boolean[] = [];
    const proxy = await proxied({
      toServer: (fr) => {
        const h = frameHeader(fr);
        if (h?.command === Smb2Command.IOCTL) ioctls.push(h.signed);
      },
      toClient: (fr) => {
        const h = frameHeader(fr);
        if (h?.command === Smb2Command.IOCTL) replies.push(h.signed && h.status === 0);
      },
    });
    const client = await connect(opts(proxy.port, { minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    await client.treeConnect('ro');
    t.same(ioctls, [true], 'one signed IOCTL (after the first tree connect only)');
    t.same(replies, [true], 'its reply is signed and successful');
    t.equal((await tree.stat(`${dirName}\\data.bin`)).size, content.length, 'the tree works');
  });
}

t.test('no validate-negotiate on 3.1.1 or for guest sessions', async (t) => {
  let ioctls = 0;
  const proxy = await proxied({ toServer: (fr) => void (frameHeader(fr)?.command === Smb2Command.IOCTL && ioctls++) });
  const c1 = await connect(opts(proxy.port, { minDialect: Dialect.SMB3_1_1 }));
  await c1.treeConnect('test');
  await c1.close();
  const c2 = await connect(opts(proxy.port, { minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_0_2, guest: true, username: '', password: '' }));
  await c2.treeConnect('guest');
  await c2.close();
  t.equal(ioctls, 0, 'no IOCTL was sent');
});

/**
 * SMB 3.x encryption against a real Samba: `seal` on the plain [test] share
 * and the [encrypted] share (`server smb encrypt = required`) for 3.0, 3.0.2
 * and 3.1.1; each 3.1.1 cipher forced server-side (`server smb3 encryption
 * algorithms`); a server that requires encryption for every session; and the
 * clear failures: 2.x against [encrypted], `seal` with 2.x.
 * Every case writes and reads back multi-MiB data with many requests in flight.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { connect, Dialect, type SmbConnectOptions } from '../../transport/index.js';
import type { SmbClient } from '../../transport/client.js';
import { Cipher, cipherName } from '../../transport/transform.js';
import type { SmbTree } from '../../transport/types.js';
import { startSamba, type SambaServer } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

function opts(s: SambaServer, extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return { host: s.host, port: s.port, username: s.user, password: s.pass, domain: '', guest: false, timeoutMs: 20000, ...extra };
}

const SIZE = 6 * 1024 * 1024 + 4321;
let seq = 0;

/** Write SIZE bytes with several WRITEs in flight, read them back with many READs in flight, compare; also against the file on disk. */
async function roundTrip(t: Test, client: SmbClient, tree: SmbTree, localDir: string): Promise<void> {
  const name = `enc-${process.pid}-${seq++}.bin`;
  const data = randomBytes(SIZE);
  const f = await tree.create(name, { access: 'readwrite', disposition: 'overwrite_if' });
  const wchunk = Math.min(1024 * 1024, tree.maxWriteSize);
  const writes: Promise<number>[] = [];
  for (let off = 0; off < SIZE; off += wchunk) writes.push(tree.write(f.fileId, off, [data.subarray(off, Math.min(SIZE, off + wchunk))]));
  const counts = await Promise.all(writes);
  t.equal(counts.reduce((a, b) => a + b, 0), SIZE, 'all bytes written');
  await tree.flush(f.fileId);
  const onDisk = await readFile(path.join(localDir, name));
  t.ok(onDisk.equals(data), 'the server stored exactly what was written');
  // Read back in 256 KiB pieces, all in flight at once, into one chain.
  const back = Buffer.alloc(SIZE);
  const chain = Bvecq.fromBuffers([back.subarray(0, 3 * 1024 * 1024), back.subarray(3 * 1024 * 1024)], 0);
  const rchunk = 256 * 1024;
  const reads: Promise<number>[] = [];
  for (let off = 0; off < SIZE; off += rchunk) reads.push(tree.read(f.fileId, off, Math.min(rchunk, SIZE - off), chain.at(off)));
  const got = await Promise.all(reads);
  t.equal(got.reduce((a, b) => a + b, 0), SIZE, `${reads.length} READs in flight returned every byte`);
  t.ok(back.equals(data), 'read back what was written');
  // One large read (up to 8 MiB frames) too.
  const big = Buffer.alloc(Math.min(SIZE, tree.maxReadSize));
  t.equal(await tree.read(f.fileId, 0, big.length, Bvecq.fromBuffers([big], 0).start()), big.length, 'one large READ');
  t.ok(big.equals(data.subarray(0, big.length)), 'large READ data');
  await tree.close(f.fileId);
  await rm(path.join(localDir, name), { force: true });
  const stats = client.connection.sealStats;
  t.ok(stats.sealed >= reads.length + writes.length + 3, `requests went out encrypted (${stats.sealed})`);
  t.ok(stats.opened >= reads.length + writes.length + 3, `replies came in encrypted (${stats.opened})`);
}

const smb3: [string, Dialect][] = [
  ['3.0', Dialect.SMB3_0],
  ['3.0.2', Dialect.SMB3_0_2],
  ['3.1.1', Dialect.SMB3_1_1],
];

for (const [name, d] of smb3) {
  t.test(`${name}: seal on the plain [test] share`, async (t) => {
    const client = await connect(opts(samba, { minDialect: d, maxDialect: d, seal: true }));
    t.teardown(() => client.close());
    t.equal(client.dialect, d);
    t.equal(client.negotiated.cipher, d === Dialect.SMB3_1_1 ? Cipher.AES_128_GCM : Cipher.AES_128_CCM, `cipher ${cipherName(client.negotiated.cipher)}`);
    const before = client.connection.sealStats.sealed;
    const tree = await client.treeConnect('test');
    t.ok(client.connection.sealStats.sealed > before, 'TREE_CONNECT itself was encrypted');
    await roundTrip(t, client, tree, samba.sharePath);
  });

  t.test(`${name}: [encrypted] share (server smb encrypt = required) without seal`, async (t) => {
    const client = await connect(opts(samba, { minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('encrypted');
    await roundTrip(t, client, tree, samba.encPath);
  });
}

t.test('without seal, a plain share stays plain', async (t) => {
  const client = await connect(opts(samba, { minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1 }));
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  await tree.stat('');
  t.equal(client.connection.sealStats.sealed, 0, 'nothing encrypted');
  t.equal(client.connection.sealStats.opened, 0, 'nothing decrypted');
});

for (const [name, d] of [['2.0.2', Dialect.SMB2_0_2], ['2.1', Dialect.SMB2_1]] as const) {
  t.test(`${name} against [encrypted] fails clearly`, async (t) => {
    const client = await connect(opts(samba, { minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    await t.rejects(client.treeConnect('encrypted'), { code: 'SMB_ERR_STATUS', statusName: 'STATUS_ACCESS_DENIED', message: /requires encryption.*vers=3\.0 or later/ });
  });

  t.test(`${name} with seal fails clearly`, async (t) => {
    await t.rejects(connect(opts(samba, { minDialect: d, maxDialect: d, seal: true })), {
      code: 'SMB_ERR_PROTOCOL',
      message: 'seal requested but the server/dialect does not support encryption',
    });
  });
}

t.test('seal with a guest session fails clearly', async (t) => {
  await t.rejects(connect(opts(samba, { username: '', password: '', guest: true, seal: true })), { message: /seal requested/ });
});

// Each 3.1.1 cipher, forced by a server that offers only that one.
const ciphers: [string, number][] = [
  ['AES-128-GCM', Cipher.AES_128_GCM],
  ['AES-128-CCM', Cipher.AES_128_CCM],
  ['AES-256-GCM', Cipher.AES_256_GCM],
  ['AES-256-CCM', Cipher.AES_256_CCM],
];
for (const [cname, id] of ciphers) {
  t.test(`3.1.1 with only ${cname} on the server`, async (t) => {
    const s = await startSamba({ extraGlobal: `server smb3 encryption algorithms = ${cname}` });
    t.teardown(() => s.stop());
    for (const seal of [true, false]) {
      const client = await connect(opts(s, { minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1, seal }));
      t.teardown(() => client.close());
      t.equal(client.negotiated.cipher, id, `negotiated ${cname}`);
      const tree = await client.treeConnect(seal ? 'test' : 'encrypted');
      await roundTrip(t, client, tree, seal ? s.sharePath : s.encPath);
      await client.close();
    }
  });
}

t.test('a server that requires encryption for every session (SESSION_FLAG_ENCRYPT_DATA)', async (t) => {
  const s = await startSamba({ extraGlobal: 'server smb encrypt = required' });
  t.teardown(() => s.stop());
  for (const [name, d] of smb3) {
    const client = await connect(opts(s, { minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    const before = client.connection.sealStats.sealed;
    const tree = await client.treeConnect('test');
    t.ok(client.connection.sealStats.sealed > before, `${name}: TREE_CONNECT encrypted without seal`);
    await roundTrip(t, client, tree, s.sharePath);
    await client.close();
  }
  await t.rejects(
    (async () => {
      const c = await connect(opts(s, { minDialect: Dialect.SMB2_1, maxDialect: Dialect.SMB2_1 }));
      try {
        await c.treeConnect('test');
      } finally {
        await c.close();
      }
    })(),
    'SMB 2.1 is refused',
  );
});

/**
 * Signing matrix against a Samba started with `server signing = mandatory`:
 * every dialect (HMAC-SHA256 on 2.0.2/2.1, AES-CMAC on 3.0/3.0.2, AES-GMAC or
 * AES-CMAC as negotiated on 3.1.1, and CMAC forced by offering only it)
 * writes and reads back a few MiB with many requests in flight, and every
 * request is signed and every reply verified (the connection's signStats).
 * Also `sign` against a server that does not require signing, and servers
 * whose `server min/max protocol` exclude the client's `vers=`: those fail
 * with a clear error.
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { connect, Dialect, SmbError, type SmbConnectOptions } from '../../transport/index.js';
import type { SigningAlgo } from '../../transport/signing.js';
import { startSamba, type SambaServer } from '../helpers/samba.js';

const [mandatory, plain, max21, min311] = await Promise.all([
  startSamba({ extraGlobal: 'server signing = mandatory' }),
  startSamba(),
  startSamba({ extraGlobal: 'server max protocol = SMB2_10' }),
  startSamba({ extraGlobal: 'server min protocol = SMB3_11' }),
]);
t.teardown(() => Promise.all([mandatory, plain, max21, min311].map((s) => s.stop())));

const dirName = 'signing';
for (const s of [mandatory, plain]) {
  await rm(path.join(s.sharePath, dirName), { recursive: true, force: true });
  await mkdir(path.join(s.sharePath, dirName), { recursive: true });
}
t.teardown(() => Promise.all([mandatory, plain].map((s) => rm(path.join(s.sharePath, dirName), { recursive: true, force: true }))));

function opts(s: SambaServer, extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return { host: s.host, port: s.port, username: s.user, password: s.pass, domain: '', guest: false, timeoutMs: 15000, echoIntervalMs: 0, ...extra };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Write `size` bytes in wsize pieces all at once, read them back in 64 KiB READs all at once. */
async function roundTrip(t: Test, s: SambaServer, o: Partial<SmbConnectOptions>, name: string, size: number) {
  const client = await connect(opts(s, o));
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const data = randomBytes(size);
  const f = await tree.create(`${dirName}\\${name}`, { access: 'readwrite', disposition: 'overwrite_if' });
  const w = Math.min(tree.maxWriteSize, 256 * 1024);
  const written = await Promise.all(
    Array.from({ length: Math.ceil(size / w) }, (_, i) => tree.write(f.fileId, i * w, [data.subarray(i * w, (i + 1) * w)])),
  );
  t.equal(written.reduce((a, b) => a + b, 0), size, 'all bytes written');
  await tree.flush(f.fileId);
  const r = 64 * 1024;
  const chain = Bvecq.fromBuffers([Buffer.alloc(size)], 0);
  const reads = await Promise.all(Array.from({ length: Math.ceil(size / r) }, (_, i) => tree.read(f.fileId, i * r, r, chain.at(i * r))));
  t.equal(reads.reduce((a, b) => a + b, 0), size, `${reads.length} READs in flight, all bytes read`);
  t.equal(sha(chain.toBuffer()), sha(data), 'content matches');
  await tree.close(f.fileId);
  const st = client.connection.signStats;
  t.ok(client.session.signingRequired, 'the session signs everything');
  t.ok(st.signed >= reads.length + written.length + 3, `every request signed (${st.signed})`);
  t.equal(st.verified, st.signed, `every reply verified (${st.verified})`);
  return client;
}

const matrix: [string, Dialect, SigningAlgo, Partial<SmbConnectOptions>][] = [
  ['2.0.2', Dialect.SMB2_0_2, 'hmac-sha256', {}],
  ['2.1', Dialect.SMB2_1, 'hmac-sha256', {}],
  ['3.0', Dialect.SMB3_0, 'aes-cmac', {}],
  ['3.0.2', Dialect.SMB3_0_2, 'aes-cmac', {}],
  ['3.1.1', Dialect.SMB3_1_1, 'aes-gmac', {}],
  ['3.1.1 offering only AES-CMAC', Dialect.SMB3_1_1, 'aes-cmac', { signingAlgorithms: [1] }],
];

for (const [name, d, algo, extra] of matrix) {
  t.test(`server signing = mandatory, ${name}: ${algo}`, async (t) => {
    const client = await roundTrip(t, mandatory, { minDialect: d, maxDialect: d, ...extra }, `m-${name}.bin`, 3 * 1024 * 1024 + 777);
    t.equal(client.dialect, d);
    t.equal(client.session.signingAlgo, algo, `signs with ${algo}`);
  });
}

t.test('sign against a server that does not require signing: 2.1 and 3.1.1', async (t) => {
  for (const d of [Dialect.SMB2_1, Dialect.SMB3_1_1]) {
    await roundTrip(t, plain, { sign: true, minDialect: d, maxDialect: d }, `p-${d}.bin`, 1024 * 1024);
  }
  const c = await connect(opts(plain));
  t.teardown(() => c.close());
  t.equal(c.session.signingRequired, false, 'without sign, a server that does not require signing gets unsigned traffic');
});

t.test('sign with a guest session fails clearly', async (t) => {
  await t.rejects(connect(opts(plain, { sign: true, guest: true, username: '', password: '' })), /sign was asked for but a guest or anonymous session has no signing key/);
});

t.test('server max protocol = SMB2_10 and vers=3.0: fails clearly', async (t) => {
  const err = await connect(opts(max21, { minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_0 })).catch((e: unknown) => e);
  t.ok(err instanceof SmbError, 'an SmbError');
  t.match((err as Error).message, /none of the dialects offered \(3\.0\)/);
  const ok = await connect(opts(max21));
  t.equal(ok.dialect, Dialect.SMB2_1, 'the default range lands on 2.1 there');
  await ok.close();
});

t.test('server min protocol = SMB3_11 and vers=2.1: fails clearly', async (t) => {
  const err = await connect(opts(min311, { minDialect: Dialect.SMB2_1, maxDialect: Dialect.SMB2_1 })).catch((e: unknown) => e);
  t.ok(err instanceof SmbError, 'an SmbError');
  t.match((err as Error).message, /none of the dialects offered \(2\.1\)/);
  const ok = await connect(opts(min311));
  t.equal(ok.dialect, Dialect.SMB3_1_1, 'the default range lands on 3.1.1 there');
  await ok.close();
});

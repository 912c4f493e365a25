/**
 * The SMB client against a real Samba on loopback, for every dialect:
 * negotiate, authenticate, tree connect, stat, list and read (decanted into a
 * chain), plus the failures a user meets (wrong password, missing share).
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { connect, Dialect, type SmbConnectOptions } from '../../transport/index.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'transport-Ünïcödé';
const base = path.join(samba.sharePath, dirName);
await rm(base, { recursive: true, force: true });
await mkdir(path.join(base, 'sub'), { recursive: true });
const content = randomBytes(3 * 1024 * 1024 + 12345);
await writeFile(path.join(base, 'data.bin'), content);
for (let i = 0; i < 50; i++) await writeFile(path.join(base, 'sub', `f${i}.txt`), `file ${i}\n`);
t.teardown(() => rm(base, { recursive: true, force: true }));

function opts(extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return {
    host: samba.host,
    port: samba.port,
    username: samba.user,
    password: samba.pass,
    domain: '',
    guest: false,
    timeoutMs: 10000,
    ...extra,
  };
}

const dialects: [string, Dialect][] = [
  ['2.0.2', Dialect.SMB2_0_2],
  ['2.1', Dialect.SMB2_1],
  ['3.0', Dialect.SMB3_0],
  ['3.0.2', Dialect.SMB3_0_2],
  ['3.1.1', Dialect.SMB3_1_1],
];

for (const [name, d] of dialects) {
  t.test(`dialect ${name}`, async (t) => {
    const client = await connect(opts({ minDialect: d, maxDialect: d }));
    t.teardown(() => client.close());
    t.equal(client.dialect, d, 'negotiated the one dialect offered');
    const tree = await client.treeConnect('test');

    const st = await tree.stat(`${dirName}\\data.bin`);
    t.equal(st.size, content.length, 'stat size');
    t.equal(st.isDirectory, false);
    t.not(st.fileIndex, 0n, 'file index from FileAllInformation');
    const dst = await tree.stat(dirName);
    t.equal(dst.isDirectory, true);

    const dir = await tree.open(`${dirName}\\sub`, { directory: true });
    const entries = await tree.listDirectory(dir.fileId);
    await tree.close(dir.fileId);
    t.equal(entries.length, 50, 'all directory entries');
    t.ok(entries.every((e) => /^f\d+\.txt$/.test(e.name) && e.size > 0));

    const f = await tree.open(`${dirName}\\data.bin`);
    const chunk = Math.min(tree.maxReadSize, 1024 * 1024);
    // Fill a chain of odd-sized slots, several READs in flight at once.
    const slots = [];
    for (let off = 0; off < content.length; off += 100000) slots.push(Buffer.alloc(Math.min(100000, content.length - off)));
    const chain = Bvecq.fromBuffers(slots, 0);
    const reads = [];
    for (let off = 0; off < content.length; off += chunk) {
      reads.push(tree.read(f.fileId, off, Math.min(chunk, content.length - off), chain.at(off)));
    }
    const got = await Promise.all(reads);
    t.equal(got.reduce((a, b) => a + b, 0), content.length, 'bytes read');
    t.equal(createHash('sha256').update(chain.toBuffer()).digest('hex'), createHash('sha256').update(content).digest('hex'), 'content matches');
    const tail = Bvecq.fromBuffers([Buffer.alloc(4096)]);
    t.equal(await tree.read(f.fileId, content.length - 100, 4096, tail.start()), 100, 'short read at EOF');
    t.equal(await tree.read(f.fileId, content.length + 10, 4096, tail.start()), 0, 'read past EOF is 0');
    await tree.close(f.fileId);

    const fs = await tree.statfs();
    t.ok(fs.blockSize > 0 && fs.totalBlocks > 0, 'statfs');
    await t.rejects(tree.stat(`${dirName}\\missing`), { code: 'SMB_ERR_STATUS', statusName: 'STATUS_OBJECT_NAME_NOT_FOUND' });
  });
}

t.test('what this session may do: the share from TREE_CONNECT, a directory from its listing or its mkdir (MxAc)', async (t) => {
  const FILE_ADD_FILE = 0x2;
  const client = await connect(opts());
  t.teardown(() => client.close());
  const rw = await client.treeConnect('test');
  t.ok(rw.shareAccess & FILE_ADD_FILE, `[test]: files may be made (0x${rw.shareAccess.toString(16)})`);
  const ro = await client.treeConnect('ro');
  t.notOk(ro.shareAccess & FILE_ADD_FILE, `[ro]: none (0x${ro.shareAccess.toString(16)})`);
  const listed = await rw.listPath(dirName);
  t.ok((listed.stat.maximalAccess ?? 0) & FILE_ADD_FILE, 'a listing on [test] says files may be made in the directory');
  const made = await rw.mkdirPath(`${dirName}\\made`);
  t.ok((made?.maximalAccess ?? 0) & FILE_ADD_FILE, 'so does a mkdir');
  const closed = path.join(samba.permsPath, `closed-${process.pid}`);
  await mkdir(closed);
  await chmod(closed, 0o555);
  t.teardown(() => rm(closed, { recursive: true, force: true }));
  const perms = await client.treeConnect('perms');
  const denied = await perms.listPath(path.basename(closed));
  t.equal(typeof denied.stat.maximalAccess, 'number', 'on [perms] too');
  t.notOk(denied.stat.maximalAccess! & FILE_ADD_FILE, `a directory without write permission for the user: none (0x${denied.stat.maximalAccess!.toString(16)})`);
});

t.test('wrong password fails with LOGON_FAILURE or a guest refusal', async (t) => {
  await t.rejects(connect(opts({ password: 'wrong' })), /LOGON_FAILURE|guest/);
});

t.test('missing share fails with BAD_NETWORK_NAME', async (t) => {
  const client = await connect(opts());
  t.teardown(() => client.close());
  await t.rejects(client.treeConnect('no-such-share'), /BAD_NETWORK_NAME/);
});

t.test('unreachable port fails fast', async (t) => {
  await t.rejects(connect(opts({ port: 1 })), { code: 'SMB_ERR_TRANSPORT' });
});

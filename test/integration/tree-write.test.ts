/**
 * The read-write tree against a real Samba, for SMB 2.0.2, 2.1, 3.0 and
 * 3.1.1: create and write (many WRITEs in flight, checked against the file on
 * the server's disk), read back, flush, truncate, times and attributes,
 * rename, unlink, mkdir/rmdir, hard links, EAs, name-length errors, and a
 * lease (oplock on 2.0.2) break caused by a second client.
 */
import t from 'tap';
import { constants } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat as lstat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Bvecq } from '../../netfs/bvecq.js';
import { connect, Dialect, SmbStatusError, type SmbConnectOptions } from '../../transport/index.js';
import type { SmbBreakRecord } from '../../transport/lease.js';
import { FILE_ATTRIBUTE_READONLY } from '../../transport/pdu/fscc.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const E = constants.errno;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function opts(d: Dialect): SmbConnectOptions {
  return { host: samba.host, port: samba.port, username: samba.user, password: samba.pass, domain: '', guest: false, timeoutMs: 20000, minDialect: d, maxDialect: d };
}

/** The errno a rejected SMB call carries, or 0 if it resolved. */
async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof SmbStatusError) return e.errno;
    throw e;
  }
}

const dialects: [string, Dialect][] = [
  ['2.0.2', Dialect.SMB2_0_2],
  ['2.1', Dialect.SMB2_1],
  ['3.0', Dialect.SMB3_0],
  ['3.1.1', Dialect.SMB3_1_1],
];

for (const [name, d] of dialects) {
  const dir = `rw-${name}-Ünïcödé`;
  const local = (...p: string[]): string => path.join(samba.sharePath, dir, ...p);
  const smb = (...p: string[]): string => [dir, ...p].join('\\');

  t.test(`dialect ${name}`, async (t) => {
    await rm(local(), { recursive: true, force: true });
    t.teardown(() => rm(local(), { recursive: true, force: true }));
    const client = await connect(opts(d));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    t.equal(tree.maxWriteSize, d === Dialect.SMB2_0_2 ? 65536 : Math.min(tree.maxWriteSize, 8 << 20), 'maxWriteSize capped');
    t.ok(tree.maxWriteSize >= 65536);

    await tree.mkdirPath(smb());
    t.ok((await lstat(local())).isDirectory(), 'mkdir made the directory');
    t.equal(await errnoOf(tree.mkdirPath(smb())), E.EEXIST, 'mkdir of an existing name is EEXIST');

    await t.test('readFirst: the open and a READ of the first bytes in one compound', async (t) => {
      const small = randomBytes(5000);
      await writeFile(local('first-small.bin'), small);
      await writeFile(local('first-big.bin'), randomBytes(100_000));
      await writeFile(local('first-empty.bin'), '');
      const readBefore = client.stats().bytesRead;
      const a = await tree.create(smb('first-small.bin'), { access: 'read', disposition: 'open', lease: true, readFirst: 65536 });
      t.ok(a.data?.equals(small), 'the whole small file came with the open');
      t.equal(a.stat.size, small.length, 'and its size');
      await tree.close(a.fileId);
      const b = await tree.create(smb('first-big.bin'), { access: 'read', disposition: 'open', readFirst: 65536 });
      t.equal(b.data?.length, 65536, 'a bigger file: the bytes asked for');
      t.equal(b.stat.size, 100_000, 'its size says there is more');
      await tree.close(b.fileId);
      const c = await tree.create(smb('first-empty.bin'), { access: 'read', disposition: 'open', readFirst: 65536 });
      t.equal(c.data?.length, 0, 'an empty file: no bytes (END_OF_FILE)');
      await tree.close(c.fileId);
      t.equal(client.stats().bytesRead - readBefore, small.length + 65536, 'the statistics count the bytes the compounds read');
      t.equal(await errnoOf(tree.create(smb('first-absent.bin'), { access: 'read', disposition: 'open', readFirst: 65536 })), E.ENOENT, 'a missing file: ENOENT as without it');
      await t.rejects(tree.create(smb('first-small.bin'), { access: 'read', disposition: 'open', readFirst: 65537 }), RangeError, 'over 64 KiB: refused before sending');
    });

    await t.test('createWriteClose: the data inline in the compound is counted as written', async (t) => {
      const data = randomBytes(3000);
      const writtenBefore = client.stats().bytesWritten;
      const w = await tree.createWriteClose(smb('cwc.bin'), { access: 'readwrite', disposition: 'create' }, data);
      t.equal(w.written, data.length, 'the server wrote it all');
      t.ok((await readFile(local('cwc.bin'))).equals(data), 'the server has the data');
      t.equal(client.stats().bytesWritten - writtenBefore, data.length, 'bytes written count it');
    });

    await t.test('create, write many in flight, read back, flush', async (t) => {
      const content = randomBytes(5 * 1024 * 1024 + 777);
      const f = await tree.create(smb('big.bin'), { access: 'readwrite', disposition: 'create', nonDirectory: true });
      t.equal(f.createAction, 2, 'FILE_CREATED');
      const chunk = Math.min(tree.maxWriteSize, 1 << 20);
      const writes: Promise<number>[] = [];
      for (let off = 0; off < content.length; off += chunk) {
        const piece = content.subarray(off, Math.min(off + chunk, content.length));
        // Three slices per WRITE, sent as they are.
        const a = Math.floor(piece.length / 3);
        writes.push(tree.write(f.fileId, off, [piece.subarray(0, a), piece.subarray(a, 2 * a), piece.subarray(2 * a)]));
      }
      const counts = await Promise.all(writes);
      t.equal(counts.reduce((x, y) => x + y, 0), content.length, 'every byte written');
      await tree.flush(f.fileId);
      t.equal((await tree.statHandle(f.fileId)).size, content.length, 'statHandle size');
      t.equal(sha(await readFile(local('big.bin'))), sha(content), 'server-side file matches');
      const back = Bvecq.fromBuffers([Buffer.alloc(content.length)]);
      const rs = [];
      for (let off = 0; off < content.length; off += Math.min(tree.maxReadSize, 1 << 20)) {
        rs.push(tree.read(f.fileId, off, Math.min(tree.maxReadSize, 1 << 20, content.length - off), back.at(off)));
      }
      await Promise.all(rs);
      t.equal(sha(back.toBuffer()), sha(content), 'read back matches');
      await tree.setEndOfFile(f.fileId, 1000);
      t.equal((await tree.statHandle(f.fileId)).size, 1000, 'setEndOfFile shrinks');
      await tree.close(f.fileId);
      await tree.truncatePath(smb('big.bin'), 5000);
      const onDisk = await readFile(local('big.bin'));
      t.equal(onDisk.length, 5000, 'truncatePath grows');
      t.ok(onDisk.subarray(0, 1000).equals(content.subarray(0, 1000)) && onDisk.subarray(1000).every((b) => b === 0), 'kept data, zero-filled the rest');
      t.equal(await errnoOf(tree.create(smb('big.bin'), { access: 'write', disposition: 'create' })), E.EEXIST, 'O_EXCL on an existing file');
      const o = await tree.create(smb('big.bin'), { access: 'write', disposition: 'overwrite_if' });
      t.equal(o.createAction, 3, 'FILE_OVERWRITTEN');
      t.equal(o.stat.size, 0, 'overwrite truncates');
      await tree.close(o.fileId);
    });

    await t.test('times and attributes', async (t) => {
      await writeFile(local('times.txt'), 'x');
      const when = new Date('2001-02-03T04:05:06.789Z');
      await tree.setTimesPath(smb('times.txt'), { lastWriteTime: when, lastAccessTime: when });
      t.equal((await tree.stat(smb('times.txt'))).lastWriteTime.getTime(), when.getTime(), 'setTimesPath mtime');
      t.equal((await lstat(local('times.txt'))).mtime.getTime(), when.getTime(), 'mtime on disk');
      const f = await tree.create(smb('times.txt'), { access: 'write', disposition: 'open' });
      const later = new Date('2011-12-13T14:15:16Z');
      const after = await tree.setTimes(f.fileId, { lastWriteTime: later });
      t.equal(after?.lastWriteTime.getTime(), later.getTime(), 'setTimes brings back the attributes after it');
      t.equal((await tree.statHandle(f.fileId)).lastWriteTime.getTime(), later.getTime(), 'setTimes on a handle');
      await tree.close(f.fileId);
      await tree.setAttributesPath(smb('times.txt'), FILE_ATTRIBUTE_READONLY);
      t.ok((await tree.stat(smb('times.txt'))).attributes & FILE_ATTRIBUTE_READONLY, 'READONLY set');
      t.equal(await errnoOf(tree.unlinkPath(smb('times.txt'))), E.EACCES, 'read-only file cannot be deleted (CANNOT_DELETE)');
      await tree.setAttributesPath(smb('times.txt'), 0);
      t.notOk((await tree.stat(smb('times.txt'))).attributes & FILE_ATTRIBUTE_READONLY, 'READONLY cleared');
    });

    await t.test('rename', async (t) => {
      await writeFile(local('a.txt'), 'aaa');
      await writeFile(local('b.txt'), 'bbb');
      t.equal(await errnoOf(tree.renamePath(smb('a.txt'), smb('b.txt'), false)), E.EEXIST, 'no replace: EEXIST');
      await tree.renamePath(smb('a.txt'), smb('b.txt'), true);
      t.equal(await readFile(local('b.txt'), 'utf8'), 'aaa', 'replaced the target');
      await t.rejects(lstat(local('a.txt')), { code: 'ENOENT' });
      await mkdir(local('d1'));
      await mkdir(local('d2'));
      await writeFile(local('d1', 'x'), 'x');
      await tree.renamePath(smb('d1', 'x'), smb('d2', 'y'), false);
      t.equal(await readFile(local('d2', 'y'), 'utf8'), 'x', 'across directories');
      await tree.renamePath(smb('d1'), smb('d2', 'd1moved'), false);
      t.ok((await lstat(local('d2', 'd1moved'))).isDirectory(), 'a directory into another');
      t.equal(await errnoOf(tree.renamePath(smb('nope'), smb('b2'), false)), E.ENOENT, 'missing source: ENOENT');
      const h = await tree.create(smb('b.txt'), { access: 'readwrite', disposition: 'open', delete: true });
      await tree.renameHandle(h.fileId, smb('c.txt'), false);
      await tree.setDeleteOnClose(h.fileId, true);
      await tree.close(h.fileId);
      await t.rejects(lstat(local('c.txt')), { code: 'ENOENT' }, 'renamed handle deleted on close');
      await t.rejects(lstat(local('b.txt')), { code: 'ENOENT' });
    });

    await t.test('unlink and rename carrying the CLOSE of a held handle in their compound', async (t) => {
      await writeFile(local('held-u.txt'), 'u');
      const u = await tree.create(smb('held-u.txt'), { access: 'read', disposition: 'open', lease: true });
      await tree.unlinkPath(smb('held-u.txt'), [u.fileId]);
      await t.rejects(lstat(local('held-u.txt')), { code: 'ENOENT' }, 'deleted at once: the held handle was closed first');
      await tree.close(u.fileId); // already closed on the server: STATUS_FILE_CLOSED is no error
      await writeFile(local('held-a.txt'), 'new');
      await writeFile(local('held-b.txt'), 'old');
      const a = await tree.create(smb('held-a.txt'), { access: 'read', disposition: 'open', lease: true });
      const b = await tree.create(smb('held-b.txt'), { access: 'read', disposition: 'open', lease: true });
      // Samba refuses to replace a file that is open; with both CLOSEs first in the compound, it is not.
      const st = await tree.renamePath(smb('held-a.txt'), smb('held-b.txt'), true, [a.fileId, b.fileId]);
      t.equal(st?.size, 3, 'the rename\'s own query answers');
      t.equal(await readFile(local('held-b.txt'), 'utf8'), 'new', 'renamed over the held file');
      await t.rejects(lstat(local('held-a.txt')), { code: 'ENOENT' });
      t.equal(await errnoOf(tree.unlinkPath(smb('held-missing.txt'), [a.fileId])), E.ENOENT, 'the operation\'s own failure is reported, not the CLOSE of a gone handle');
    });

    await t.test('unlink, rmdir, link', async (t) => {
      await writeFile(local('u.txt'), 'u');
      await tree.unlinkPath(smb('u.txt'));
      await t.rejects(lstat(local('u.txt')), { code: 'ENOENT' });
      t.equal(await errnoOf(tree.unlinkPath(smb('u.txt'))), E.ENOENT, 'unlink of a missing file');
      await mkdir(local('full'));
      await writeFile(local('full', 'f'), 'f');
      t.equal(await errnoOf(tree.unlinkPath(smb('full'))), E.EISDIR, 'unlink of a directory');
      t.equal(await errnoOf(tree.rmdirPath(smb('full'))), E.ENOTEMPTY, 'rmdir of a non-empty directory');
      t.ok((await lstat(local('full'))).isDirectory(), 'and it is still there');
      t.equal(await errnoOf(tree.rmdirPath(smb('full', 'f'))), E.ENOTDIR, 'rmdir of a file');
      await rm(local('full', 'f'));
      await tree.rmdirPath(smb('full'));
      await t.rejects(lstat(local('full')), { code: 'ENOENT' });

      await writeFile(local('orig'), 'linked');
      await tree.linkPath(smb('orig'), smb('d2', 'hard'));
      const [a, b] = [await lstat(local('orig')), await lstat(local('d2', 'hard'))];
      t.equal(a.ino, b.ino, 'same inode');
      t.equal((await tree.stat(smb('orig'))).nlink, 2, 'nlink 2 over SMB');
      const o = await tree.create(smb('d2', 'hard'), { access: 'read', disposition: 'open' });
      await tree.close(o.fileId);
      t.equal(o.stat.fileIndex, (await tree.stat(smb('orig'))).fileIndex, 'CREATE (QFid) and FileAllInformation give one file id');
      t.equal(o.stat.nlink, 0, 'a CREATE reply carries no link count');
      t.equal(await errnoOf(tree.linkPath(smb('orig'), smb('d2', 'hard'))), E.EEXIST, 'link over an existing name');
    });

    await t.test('extended attributes', async (t) => {
      await writeFile(local('ea.txt'), 'e');
      t.same(await tree.getEas(smb('ea.txt')), [], 'none at first');
      const v1 = Buffer.from('value one');
      const v2 = randomBytes(1000);
      await tree.setEa(smb('ea.txt'), 'smbfuse.one', v1);
      await tree.setEa(smb('ea.txt'), 'two', v2);
      const got = await tree.getEas(smb('ea.txt'));
      const byName = new Map(got.map((e) => [e.name.toLowerCase(), e.value]));
      t.same(byName.get('smbfuse.one'), v1, 'first EA');
      t.same(byName.get('two'), v2, 'second EA');
      await tree.setEa(smb('ea.txt'), 'smbfuse.one', null);
      const left = await tree.getEas(smb('ea.txt'));
      t.same(left.map((e) => e.name.toLowerCase()), ['two'], 'removed');
    });

    await t.test('name errors', async (t) => {
      const long = 'n'.repeat(300);
      t.equal(await errnoOf(tree.create(smb(long), { access: 'write', disposition: 'create' })), E.ENAMETOOLONG, 'create of a 300-char name');
      t.equal(await errnoOf(tree.mkdirPath(smb(long))), E.ENAMETOOLONG, 'mkdir of a 300-char name');
      t.equal(await errnoOf(tree.stat(smb('no', 'such'))), E.ENOENT, 'missing parent');
    });

    await t.test('opens of one file on one tree share a lease key', async (t) => {
      await writeFile(local('same.txt'), 's');
      let breaks = 0;
      const count = (): void => void breaks++;
      tree.leases.on('break', count);
      t.teardown(() => tree.leases.off('break', count));
      const a = await tree.create(smb('same.txt'), { access: 'readwrite', disposition: 'open', lease: true });
      const b = await tree.create(smb('same.txt'), { access: 'read', disposition: 'open', lease: true });
      if (d === Dialect.SMB2_0_2) {
        t.equal(b.leaseState & 4, 0, 'a second batch oplock is not granted on 2.0.2');
      } else {
        t.same(b.leaseKey, a.leaseKey, 'same key reused');
        t.equal(b.leaseState, 7, 'still RWH');
      }
      await tree.close(b.fileId);
      await new Promise((r) => setTimeout(r, 50));
      if (d !== Dialect.SMB2_0_2) t.equal(breaks, 0, 'no self-inflicted breaks (2.0.2 has no lease keys: its batch oplock breaks)');
      // Renaming through a leaseless open breaks our H caching (Samba 4.17).
      await tree.renamePath(smb('same.txt'), smb('moved.txt'), false);
      await writeFile(local('same.txt'), 'new file under the old name');
      const c = await tree.create(smb('same.txt'), { access: 'read', disposition: 'open', lease: true });
      if (d !== Dialect.SMB2_0_2) t.not(c.leaseKey?.toString('hex'), a.leaseKey?.toString('hex'), 'a renamed-away lease is not reused for the new file');
      await tree.close(c.fileId);
      await tree.close(a.fileId);
    });

    await t.test('lease or oplock break from a second client', async (t) => {
      await writeFile(local('shared.bin'), 'before');
      const f = await tree.create(smb('shared.bin'), { access: 'readwrite', disposition: 'open', lease: true });
      if (d === Dialect.SMB2_0_2) {
        t.equal(f.leaseKey, null, 'no lease on 2.0.2');
      } else {
        t.ok(f.leaseKey && f.leaseKey.length === 16, 'lease key');
      }
      t.equal(f.leaseState, 7, 'RWH granted (batch oplock on 2.0.2)');
      await tree.write(f.fileId, 0, [Buffer.from('written by one')]);
      const order: string[] = [];
      tree.onBreak(async (ev) => {
        order.push(`break ${ev.newState}`);
        // The upper layer writes back dirty data before the ack.
        await new Promise((r) => setTimeout(r, 100));
        order.push('callback done');
      });
      const broke = new Promise<SmbBreakRecord>((resolve) => tree.leases.once('break', resolve));
      const c2 = await connect(opts(d));
      t.teardown(() => c2.close());
      const tree2 = await c2.treeConnect('test');
      const g = await tree2.create(smb('shared.bin'), { access: 'readwrite', disposition: 'open' });
      order.push('second open done');
      const rec = await broke;
      t.equal(rec.ackRequired, true, 'ack required');
      t.equal(rec.acked, true, 'ack sent and accepted');
      t.equal(rec.ackError, null);
      t.equal(rec.newState & 4, 0, 'write caching broken');
      if (d === Dialect.SMB2_0_2) t.same(rec.fileId, f.fileId, 'oplock break names the handle');
      else t.same(rec.leaseKey, f.leaseKey, 'lease break names the key');
      t.same(order, [`break ${rec.newState}`, 'callback done', 'second open done'], 'second open completed after the ack');
      if (f.leaseKey) t.equal(tree.leases.stateOf(f.leaseKey), rec.newState, 'table has the new state');
      const back = Bvecq.fromBuffers([Buffer.alloc(14)]);
      t.equal(await tree2.read(g.fileId, 0, 14, back.start()), 14);
      t.equal(back.toBuffer().toString(), 'written by one', 'second client sees the data');
      await tree2.close(g.fileId);
      await tree.close(f.fileId);
      tree.onBreak(null);
    });
  });
}

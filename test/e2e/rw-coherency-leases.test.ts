/**
 * End to end, two smbfuse mounts of the same share (both cache=strict):
 * close-to-open (written and closed on A, read on B, including an overwrite of
 * something B already read) and a lease break caused by B flushing A's dirty
 * data before B reads (A writes and keeps the file open without fsync).
 */
import t from 'tap';
import { open, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { fillRandom, freshShareDir, localTempDir, prng } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-rw-leases-Ψ-été';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const local = await localTempDir(t, 'smbfuse-rw-lease-');

const mntA = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mntA));
const mntB = await mountShare(samba, 'test', ['cache=strict']);
t.teardown(() => unmount(mntB));
const A = path.join(mntA, dirName);
const B = path.join(mntB, dirName);
const r = prng(0xc0be);

t.test('close-to-open: written and closed on A, read on B', async (t) => {
  const v1 = fillRandom(r, Buffer.alloc(300_000));
  await writeFile(path.join(A, 'c2o.bin'), v1);
  t.ok((await readFile(path.join(B, 'c2o.bin'))).equals(v1), 'B reads what A wrote');
  // Same size, different bytes: B must not serve its cached copy after A's close.
  const v2 = fillRandom(r, Buffer.alloc(300_000));
  await writeFile(path.join(A, 'c2o.bin'), v2);
  t.ok((await readFile(path.join(B, 'c2o.bin'))).equals(v2), 'B reads the overwrite (same size) after A closed');
  // Shorter, then longer.
  const v3 = fillRandom(r, Buffer.alloc(1234));
  await writeFile(path.join(A, 'c2o.bin'), v3);
  t.ok((await readFile(path.join(B, 'c2o.bin'))).equals(v3), 'B reads the shorter version');
  const v4 = fillRandom(r, Buffer.alloc(2_000_000));
  await writeFile(path.join(A, 'c2o.bin'), v4);
  t.ok((await readFile(path.join(B, 'c2o.bin'))).equals(v4), 'B reads the longer version');
  // And the other way round, into a file A has open and cached.
  const ha = await open(path.join(A, 'c2o.bin'), 'r');
  t.ok((await ha.readFile()).equals(v4), 'A reads it too');
  await ha.close();
  const v5 = fillRandom(r, Buffer.alloc(2_000_000));
  await writeFile(path.join(B, 'c2o.bin'), v5);
  t.ok((await readFile(path.join(A, 'c2o.bin'))).equals(v5), 'A reads what B wrote and closed');
  // A new file created on A is visible on B at once.
  await writeFile(path.join(A, 'new-on-A.txt'), 'hello from A\n');
  t.equal(await readFile(path.join(B, 'new-on-A.txt'), 'utf8'), 'hello from A\n', 'a new file of A opens on B');
});

t.test("a lease break caused by B flushes A's dirty data before B reads", async (t) => {
  const f = 'dirty-on-A.bin';
  const ha = await open(path.join(A, f), 'w+');
  t.teardown(() => ha.close().catch(() => {}));
  const data = fillRandom(r, Buffer.alloc(1_500_000));
  await ha.write(data, 0, data.length, 0);
  // No fsync, no close: the data is (at most) in A's cache under A's write lease.
  const onB = await readFile(path.join(B, f));
  t.equal(onB.length, data.length, 'B sees the size A wrote');
  t.ok(onB.equals(data), "B reads A's unflushed data");
  const server = await readFile(path.join(serverDir, f));
  t.ok(server.equals(data), 'the data reached the server');
  // A keeps writing after the break; B's next open must see that too.
  const more = fillRandom(r, Buffer.alloc(100_000));
  await ha.write(more, 0, more.length, 200_000);
  more.copy(data, 200_000);
  const onB2 = await readFile(path.join(B, f));
  t.ok(onB2.equals(data), "B reads A's second unflushed write too");
  await ha.close();
  t.ok((await readFile(path.join(A, f))).equals(data), 'A reads the same after closing');
  // And B's handle open while A writes and truncates: B's next open sees it.
  const hb = await open(path.join(B, f), 'r');
  t.ok((await hb.readFile()).equals(data), 'B has it open and cached');
  const ha2 = await open(path.join(A, f), 'r+');
  await ha2.truncate(1000);
  await ha2.write(Buffer.from('TAIL'), 0, 4, 1000);
  const onB3 = await readFile(path.join(B, f));
  await ha2.close();
  await hb.close();
  t.equal(onB3.length, 1004, "B sees A's truncate and write while A keeps its handle");
  t.ok(onB3.subarray(0, 1000).equals(data.subarray(0, 1000)) && onB3.subarray(1000).toString() === 'TAIL', 'with the right bytes');
});


/**
 * A file another client grows while this mount holds its attributes (read
 * within actimeo, here 10 s): the open sees the new size on the server, and
 * the kernel must too. It answers stat and reads past its cached size from
 * those attributes; the open tells it to ask again (the patched binding's
 * attribute invalidation), else readers stop at the old end.
 *
 * A file another client shrinks, read again here at once (within actimeo):
 * the kernel still holds the old, larger size (libfuse 2 cannot correct it)
 * and reads past the real end. With its reads in flight together
 * (async_read), an answer past the end that reached the kernel before the
 * one holding the end set the file's size there, and the reader got zeros in
 * place of end of file. The patched binding's channel sends short READ
 * answers in file order (scripts/patch-fuse-native.mjs); an unpatched one
 * mounts with sync_read. The daemon logs every call here (debug) so
 * that it answers slowly enough for the old race to show in most runs.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { freshShareDir, localTempDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'e2e-shrunk-elsewhere';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const logDir = await localTempDir(t, 'smbfuse-shrunk-');
const mnt = await mountShare(samba, 'test', ['closetimeo=0', 'debug', `log_file=${path.join(logDir, 'daemon.log')}`]);
t.teardown(() => unmount(mnt));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('a file shrunk on the server reads back whole and no longer, right after', async (t) => {
  const server = path.join(serverDir, 'f.bin');
  const file = path.join(mnt, dirName, 'f.bin');
  for (let round = 0; round < 3; round++) {
    const big = randomBytes(32 * 1024 * 1024);
    await writeFile(server, big);
    t.equal(sha(await readFile(file)), sha(big), `round ${round}: the large version`);
    const small = randomBytes(8 * 1024 * 1024 + 123);
    await writeFile(server, small); // in place: the same file, truncated and rewritten
    const got = await readFile(file);
    t.equal(got.length, small.length, `round ${round}: read up to the new end`);
    t.equal(sha(got), sha(small), `round ${round}: the new bytes`);
  }
});

t.test('a file grown on the server while its attributes are cached here: an open reads all of it', async (t) => {
  // closetimeo=0: every open asks the server (a kept handle would trust its lease, which a write on the server's disk does not break).
  const held = await mountShare(samba, 'test', ['actimeo=10', 'closetimeo=0']);
  t.teardown(() => unmount(held));
  const server = path.join(serverDir, 'grown.bin');
  const file = path.join(held, dirName, 'grown.bin');
  const before = randomBytes(100_000);
  await writeFile(server, before);
  t.equal((await stat(file)).size, before.length, 'the first size, now held by the kernel and the daemon');
  const after = randomBytes(3 * 1024 * 1024 + 7);
  await writeFile(server, after);
  const got = await readFile(file);
  t.equal(got.length, after.length, 'readFile (sized by fstat after open) gets the new size');
  t.equal(sha(got), sha(after), 'and the new bytes');
  t.equal((await stat(file)).size, after.length, 'the second size, held again (a stat after reads asks: they dirty atime)');
  const grown = randomBytes(5 * 1024 * 1024 + 11);
  await writeFile(server, grown);
  const cat = await promisify(execFile)('cat', [file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  t.equal(cat.stdout.length, grown.length, 'cat (reads to end of file) reads past the size it saw before');
  t.equal(sha(cat.stdout), sha(grown), 'and the new bytes');
});

/**
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
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
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

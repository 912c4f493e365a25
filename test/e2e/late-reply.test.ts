/**
 * End to end through the CLI, with a proxy that holds back one reply past the
 * FUSE handler's timeout (timeout=2): the handler answers ETIMEDOUT, then a
 * forged interim reply restarts the client's own timer and the real reply
 * arrives while its request is still outstanding, after libfuse has freed
 * the call's buffer. For a READ (cache=none: unbuffered into the FUSE call;
 * cache=strict: through the page cache) and a WRITE, in both modes:
 *  - the late reply is taken without harm: the mount keeps its one
 *    connection (there is no reconnect, so a reset would fail every later
 *    call) and later reads and writes succeed with the right data;
 *  - the file's data on the server is what was written, nothing else.
 */
import t from 'tap';
import { open, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Smb2Command } from '../../transport/pdu/header.js';
import { mountShare, unmount } from '../helpers/mount.js';
import { holdReply, startProxy } from '../helpers/proxy.js';
import { fillRandom, freshShareDir, prng } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-late-reply';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const r = prng(0x1a7e);
const SIZE = 4 * 1024 * 1024;
const CHUNK = 65536;
/** FUSE handler timeout (timeout=2); the interim comes before it, the real reply after. */
const INTERIM_MS = 1500;
const LATE_MS = 2700;

for (const cache of ['none', 'strict'] as const) {
  t.test(`cache=${cache}: a READ and a WRITE reply arriving after the FUSE timeout`, async (t) => {
    const name = `file-${cache}.bin`;
    const content = fillRandom(r, Buffer.alloc(SIZE));
    await writeFile(path.join(serverDir, name), content);
    const read = holdReply(Smb2Command.READ, INTERIM_MS, LATE_MS);
    const write = holdReply(Smb2Command.WRITE, INTERIM_MS, LATE_MS);
    const proxy = await startProxy({
      host: samba.host,
      port: samba.port,
      toServer: (f, i, r) => read.toServer(f, i, r) ?? write.toServer(f, i, r),
      toClient: (f, i, r) => read.toClient(f, i, r) ?? write.toClient(f, i, r),
    });
    t.teardown(() => proxy.close());
    const mnt = await mountShare({ ...samba, host: '127.0.0.1', port: proxy.port }, 'test', [`cache=${cache}`, 'timeout=2']);
    t.teardown(() => unmount(mnt));
    const file = path.join(mnt, dirName, name);

    const fh = await open(file, 'r+');
    const buf = Buffer.alloc(CHUNK);
    t.equal((await fh.read(buf, 0, CHUNK, 0)).bytesRead, CHUNK, 'a first read');
    t.ok(buf.equals(content.subarray(0, CHUNK)));

    // The READ: its reply held past the handler's timeout.
    read.arm();
    const at = SIZE / 2;
    const t0 = Date.now();
    const late = await fh.read(buf, 0, CHUNK, at).then(
      (res) => ({ ok: true as const, n: res.bytesRead }),
      (e: NodeJS.ErrnoException) => ({ ok: false as const, code: e.code }),
    );
    if (cache === 'none') {
      t.same(late, { ok: false, code: 'ETIMEDOUT' }, `the read timed out (${Date.now() - t0} ms)`);
    } else if (late.ok) {
      // The kernel may retry the page read after the first one failed; the
      // retry can be served once the late reply has filled the cache.
      t.ok(buf.subarray(0, late.n).equals(content.subarray(at, at + late.n)), 'a retried read has the right data');
    } else {
      t.ok(late.code === 'ETIMEDOUT' || late.code === 'EIO', `the read failed (${late.code})`);
    }
    await read.released();
    t.same([proxy.connections, proxy.openConnections], [1, 1], 'still the one connection, open');
    for (const off of [at, at + CHUNK, SIZE - CHUNK, 3 * CHUNK]) {
      const b = Buffer.alloc(CHUNK);
      const { bytesRead } = await fh.read(b, 0, CHUNK, off);
      t.equal(bytesRead, CHUNK, `read at ${off} after the late reply`);
      t.ok(b.equals(content.subarray(off, off + CHUNK)), `right data at ${off}`);
    }

    // The WRITE: cache=none sends it from write(2), cache=strict at close.
    const wAt = 5 * CHUNK;
    const mine = fillRandom(r, Buffer.alloc(CHUNK));
    write.arm();
    const wres = await fh.write(mine, 0, CHUNK, wAt).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    const cres = await fh.close().then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    t.ok([wres, cres].includes('ETIMEDOUT'), `write ${wres}, close ${cres}: one of them timed out`);
    await write.released();
    t.same([proxy.connections, proxy.openConnections], [1, 1], 'still the one connection, open');
    const onServer = await readFile(path.join(serverDir, name));
    t.equal(onServer.length, SIZE, 'size unchanged');
    t.ok(onServer.subarray(wAt, wAt + CHUNK).equals(mine), 'the late-acknowledged WRITE landed with the bytes written');
    const want = Buffer.from(content);
    mine.copy(want, wAt);
    t.ok(onServer.equals(want), 'nothing else changed on the server');

    // And the mount goes on: write and read back through it, check the server.
    const more = fillRandom(r, Buffer.alloc(CHUNK));
    const fh2 = await open(file, 'r+');
    await fh2.write(more, 0, CHUNK, 7 * CHUNK);
    await fh2.close();
    more.copy(want, 7 * CHUNK);
    t.ok((await readFile(file)).equals(want), 'read back through the mount');
    t.ok((await readFile(path.join(serverDir, name))).equals(want), 'and on the server');
    t.same([proxy.connections, proxy.openConnections], [1, 1], 'one connection all along');
  });
}

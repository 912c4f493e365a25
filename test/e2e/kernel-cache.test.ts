/**
 * End to end through the CLI: the kernel's page cache of a file survives
 * close and re-open while the file is unchanged (keep_cache at open), and
 * is dropped when it changed. Mount A goes through a proxy that counts
 * READ requests; the daemon's page-cache lookups (`smbfuse stats --json`)
 * count the read calls that reached it.
 *  - cache=strict and cache=loose: a second open+read of an unchanged file
 *    is served from the kernel's pages (takes at most the few daemon read
 *    calls the host's memory reclaim can cause) and gives the same bytes;
 *  - then a change through a second mount, and one made in the server's
 *    directory (same size: only the version check can see it), each shows
 *    at A's next open+read;
 *  - cache=none: every read goes to the server.
 */
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Smb2Command } from '../../transport/pdu/header.js';
import { mountShare, runCli, unmount } from '../helpers/mount.js';
import { compoundMembers, frameHeader, startProxy } from '../helpers/proxy.js';
import { fillRandom, freshShareDir, prng } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-kernel-cache';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const r = prng(0x6b63);
const SIZE = 3 * 1024 * 1024 + 12345;

let reads = 0;
let creates = 0;
let closes = 0;
const proxy = await startProxy({
  host: samba.host,
  port: samba.port,
  toServer: (frame) => {
    const h = frameHeader(frame);
    if (h && !h.response && h.command === Smb2Command.READ) reads++;
    for (const m of compoundMembers(frame)) {
      if (m.h.response) continue;
      if (m.h.command === Smb2Command.CREATE) creates++;
      if (m.h.command === Smb2Command.CLOSE) closes++;
    }
  },
});
t.teardown(() => proxy.close());
const viaProxy = { ...samba, host: '127.0.0.1', port: proxy.port };

/** The daemon's page-cache lookups so far: every read call that reached it through the cache. */
async function daemonReads(t: Test, mnt: string): Promise<number> {
  const s = await runCli(['stats', mnt, '--json']);
  t.equal(s.code, 0, `stats: ${s.stderr}`);
  const c = (JSON.parse(s.stdout) as { cache: { hits: number; misses: number; waits: number } }).cache;
  return c.hits + c.misses + c.waits;
}

/**
 * daemonReads once it holds still for 200 ms (at most 3 s): the kernel's
 * readahead runs in the background, so the last read calls of a read can
 * reach the daemon after read(2) has returned.
 */
async function settledDaemonReads(t: Test, mnt: string): Promise<number> {
  let last = await daemonReads(t, mnt);
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await daemonReads(t, mnt);
    if (now === last) return now;
    last = now;
  }
  return last;
}

for (const cache of ['strict', 'loose'] as const) {
  t.test(`cache=${cache}: read again from the kernel's pages until the file changes`, async (t) => {
    const name = `file-${cache}.bin`;
    const v1 = fillRandom(r, Buffer.alloc(SIZE));
    await writeFile(path.join(serverDir, name), v1);
    const mntA = await mountShare(viaProxy, 'test', [`cache=${cache}`]);
    t.teardown(() => unmount(mntA));
    const mntB = await mountShare(samba, 'test', [`cache=${cache}`]);
    t.teardown(() => unmount(mntB));
    const fileA = path.join(mntA, dirName, name);

    t.ok((await readFile(fileA)).equals(v1), 'first read: the bytes on the server');
    t.ok(reads > 0, 'first read went to the server');
    const daemon1 = await settledDaemonReads(t, mntA);
    const reads1 = reads;
    t.ok(daemon1 > 0, 'first read reached the daemon');

    t.ok((await readFile(fileA)).equals(v1), 'second read: the same bytes');
    // The kernel kept its pages. Not necessarily every one: this host's
    // proactive reclaim (DAMON pageout of memory regions it finds cold) can
    // take a few pages of any file at any time, and the kernel then asks for
    // them again. Dropping them all at the open would ask for all again.
    const again = (await settledDaemonReads(t, mntA)) - daemon1;
    t.ok(again <= daemon1 / 2, `second read: from the kernel's pages (${again} of the first read's ${daemon1} daemon read calls again)`);
    if (again === 0) t.equal(reads, reads1, 'no daemon read call, so no READ');

    // Changed through another mount: same size, other bytes.
    const v2 = fillRandom(r, Buffer.alloc(SIZE));
    await writeFile(path.join(mntB, dirName, name), v2);
    t.ok((await readFile(fileA)).equals(v2), 'after a change through another mount: the new bytes');
    t.ok(reads > reads1, 'that read went to the server');

    // Changed in the server's directory, same size again. First let every
    // handle of A go, the one closetimeo keeps open (strict) included: its
    // lease is not broken by a write on the server's own disk (this Samba
    // runs with kernel oplocks = no). Waiting until A has closed all it
    // opened, not for a fixed time: on a busy machine the timer's CLOSE can
    // leave later than closetimeo plus a margin. (Not for one more CLOSE:
    // under cache=loose nothing is kept, and the read's own CLOSE can come
    // before or after the read returns.)
    const t2 = Date.now();
    while (creates !== closes && Date.now() - t2 < 10_000) await new Promise((r) => setTimeout(r, 50));
    t.equal(closes, creates, `A closed every handle it opened, closetimeo's too (${Date.now() - t2} ms)`);
    const v3 = fillRandom(r, Buffer.alloc(SIZE));
    await writeFile(path.join(serverDir, name), v3);
    const reads3 = reads;
    t.ok((await readFile(fileA)).equals(v3), 'after a change on the server: the new bytes');
    t.ok(reads > reads3, 'that read went to the server');
    const reads4 = reads;
    t.ok((await readFile(fileA)).equals(v3), 'read once more: the same bytes');
    t.equal(reads, reads4, 'and from the kernel pages again');
  });
}

t.test('cache=none: every read goes to the server', async (t) => {
  const name = 'file-none.bin';
  const v1 = fillRandom(r, Buffer.alloc(SIZE));
  await writeFile(path.join(serverDir, name), v1);
  const mnt = await mountShare(viaProxy, 'test', ['cache=none']);
  t.teardown(() => unmount(mnt));
  const file = path.join(mnt, dirName, name);
  t.ok((await readFile(file)).equals(v1), 'first read');
  const reads1 = reads;
  t.ok((await readFile(file)).equals(v1), 'second read');
  t.ok(reads - reads1 >= Math.ceil(SIZE / (1 << 20)), 'second read sent READs for the whole file again');
});

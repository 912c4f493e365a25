/**
 * End to end through the CLI (cache=strict, through a proxy that records
 * the Length of every READ request): reads of a file opened with O_DIRECT
 * go to the server as asked, not through the page cache —
 *  - small direct reads (dd iflag=direct bs=4k) each send one READ of
 *    4 KiB, no whole folio and no readahead, and give the right bytes;
 *  - a buffered read of the same file afterwards is still right; while an
 *    open keeps the pages cached here, direct reads of them ask nothing;
 *  - data written here and not yet on the server (held dirty by an open
 *    writer) is what a direct read returns.
 */
import t, { type Test } from 'tap';
import { open, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Smb2Command } from '../../transport/pdu/header.js';
import { mountShare, unmount } from '../helpers/mount.js';
import { frameHeader, startProxy } from '../helpers/proxy.js';
import { fillRandom, freshShareDir, holdWritten, localTempDir, prng, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-direct-read';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const local = await localTempDir(t, 'smbfuse-direct-');
const r = prng(0xd1ec);
const SIZE = 4 * 1024 * 1024;

/** Length of each READ request sent (MS-SMB2 2.2.19: Length at body offset 4). */
const readLengths: number[] = [];
/** READs sent and not yet answered (an interim STATUS_PENDING answers nothing), and the most at once. */
const reads = { inFlight: 0, most: 0 };
const STATUS_PENDING = 0x103;
const proxy = await startProxy({
  host: samba.host,
  port: samba.port,
  toServer: (frame) => {
    const h = frameHeader(frame);
    if (h && !h.response && h.command === Smb2Command.READ && frame.length >= 72) {
      readLengths.push(frame.readUInt32LE(64 + 4));
      reads.most = Math.max(reads.most, ++reads.inFlight);
    }
  },
  toClient: (frame) => {
    const h = frameHeader(frame);
    if (h && h.response && h.command === Smb2Command.READ && h.status !== STATUS_PENDING) reads.inFlight--;
  },
});
t.teardown(() => proxy.close());
const mnt = await mountShare({ ...samba, host: '127.0.0.1', port: proxy.port }, 'test', ['cache=strict']);
t.teardown(() => unmount(mnt));

/** A fresh file of SIZE random bytes on the server; its path through the mount and its content. */
async function serverFile(name: string): Promise<{ file: string; content: Buffer }> {
  const content = fillRandom(r, Buffer.alloc(SIZE));
  await writeFile(path.join(serverDir, name), content);
  return { file: path.join(mnt, dirName, name), content };
}

/** `dd iflag=direct` of FILE into OUT with the given operands; READ lengths are counted from here. */
async function ddDirect(t: Test, file: string, out: string, operands: string): Promise<void> {
  readLengths.length = 0;
  const dd = await sh(`dd if=${q(file)} of=${q(out)} ${operands} iflag=direct status=none`, { timeoutMs: 30_000 });
  t.equal(dd.code, 0, `dd: ${dd.stderr}`);
}

t.test('small O_DIRECT reads go to the server as asked', async (t) => {
  const { file, content } = await serverFile('f.bin');
  const out = path.join(local, 'out.bin');
  await ddDirect(t, file, out, 'bs=4096 skip=100 count=8');
  t.ok((await readFile(out)).equals(content.subarray(100 * 4096, 108 * 4096)), 'the bytes at that offset');
  t.same(readLengths, Array(8).fill(4096), 'one 4 KiB READ per read, nothing more');
  t.ok((await readFile(file)).equals(content), 'a buffered read afterwards: the whole file');

  // While another open keeps a file's pages cached here, direct reads of them ask nothing
  // (a file not read before: the kernel has none of its pages, so they come through here).
  const { file: gFile, content: g } = await serverFile('g.bin');
  const holder = await open(gFile, 'r');
  t.teardown(() => holder.close().catch(() => {}));
  t.ok((await holder.readFile()).equals(g), 'read through a handle kept open');
  await ddDirect(t, gFile, out, 'bs=4096 skip=300 count=8');
  t.ok((await readFile(out)).equals(g.subarray(300 * 4096, 308 * 4096)), 'the bytes at that offset');
  t.same(readLengths, [], 'served from the cached pages: no READ');
  await holder.close();
});

t.test('a direct read returns data written here and not yet on the server', async (t) => {
  const file = path.join(mnt, dirName, 'dirty.bin');
  await holdWritten(t, file, 100_000);
  const out = path.join(local, 'dirty-out.bin');
  const dd = await sh(`dd if=${q(file)} of=${q(out)} bs=4096 count=2 iflag=direct status=none`, { timeoutMs: 30_000 });
  t.equal(dd.code, 0, `dd: ${dd.stderr}`);
  t.ok((await readFile(out)).equals(Buffer.alloc(8192, 7)), 'the written bytes');
});

// The patched binding takes FUSE requests of up to 1 MiB (patch-fuse-native.mjs,
// "big requests"); libfuse2 alone splits every read at 128 KiB.
t.test('a direct read of 1 MiB reaches the server as one READ of 1 MiB', async (t) => {
  const { file, content } = await serverFile('big.bin');
  const out = path.join(local, 'big-out.bin');
  await ddDirect(t, file, out, 'bs=1M count=4');
  t.ok((await readFile(out)).equals(content), 'the bytes');
  t.same(readLengths, Array(4).fill(1024 * 1024), 'four READs of 1 MiB');
});

// The kernel reads ahead in requests no bigger than its window, 128 KiB for
// every FUSE mount unless raised (src/kernel-readahead.ts; the tests run as root).
t.test("the mount's kernel readahead window is raised to 4 MiB", async (t) => {
  const dev = await sh(`mountpoint -d ${q(mnt)}`);
  t.equal(dev.code, 0, `mountpoint -d: ${dev.stderr}`);
  const kb = await readFile(`/sys/class/bdi/${dev.stdout.trim()}/read_ahead_kb`, 'utf8');
  t.equal(Number(kb.trim()), 4096, 'read_ahead_kb');
});

// The patched binding also answers INIT with FUSE_ASYNC_DIO (libfuse2 predates
// it): without it the kernel serves one process's asynchronous direct reads
// (io_submit) one at a time, whatever the queue depth. It also sets the
// kernel's limit of such requests in flight to 48, where libfuse2 left the
// kernel's 12.
t.test('asynchronous direct reads reach the server together', async (t) => {
  const { file } = await serverFile('aio.bin');
  reads.most = 0;
  const fio = await sh(`fio --name=aio --filename=${q(file)} --readonly --rw=randread --bs=4k --direct=1 --ioengine=libaio --iodepth=32 --io_size=4M --output-format=terse`, { timeoutMs: 60_000 });
  t.equal(fio.code, 0, `fio: ${fio.stderr}`);
  t.ok(reads.most > 12, `READs in flight at once: ${reads.most}, more than the kernel's default limit`);
});

/**
 * End to end, random-operation integrity: at least 10,000 operations from a
 * seeded PRNG on one file through a CLI mount — positional writes at random
 * offsets (including past EOF) of up to 256 KiB, ftruncate up and down, appends
 * through a second descriptor opened with O_APPEND, fsync, close and reopen of
 * both descriptors, and reads at random offsets — each read, each fstat size and
 * a periodic whole-file read compared against a local reference Buffer. At the
 * end, after the last close, the file on the server side (Samba's share dir)
 * must equal the reference too. Run under cache=strict and under cache=none,
 * each on a mount of its own.
 *
 * On a mismatch the test stops and prints the seed, the operation index and the
 * last operations, so the run can be replayed.
 */
import t, { type Test } from 'tap';
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { fillRandom, prng } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-rw-random-Ζήτα-ø';
const serverDir = path.join(samba.sharePath, dirName);
await rm(serverDir, { recursive: true, force: true });
await mkdir(serverDir);
t.teardown(() => rm(serverDir, { recursive: true, force: true }));

const OPS = Number(process.env.RW_RANDOM_OPS ?? 10_000);
const MAX_SIZE = 3 << 20; // keep the file (and whole-file compares) small enough to stay fast
const TIME_LIMIT_MS = 150_000; // per mode; a normal run takes well under half of it

/** First index where a and b differ, or -1. */
function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function readAt(h: FileHandle, off: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await h.read(buf, got, len - got, off + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

async function writeAll(h: FileHandle, data: Buffer, pos: number | null): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, pos === null ? null : pos + done);
    done += bytesWritten;
  }
}

async function randomOps(t: Test, cache: string, seed: number): Promise<void> {
  const mnt = await mountShare(samba, 'test', [`cache=${cache}`]);
  t.teardown(() => unmount(mnt));
  const file = path.join(mnt, dirName, `random-${cache}-ファイル.bin`);
  const serverFile = path.join(serverDir, `random-${cache}-ファイル.bin`);
  const r = prng(seed);
  let ref = Buffer.alloc(0);
  const counts: Record<string, number> = {};
  const recent: string[] = [];
  let h = await open(file, 'w+');
  let ah = await open(file, 'a');
  const t0 = Date.now();
  let failed = false;

  /** A length: mostly small, sometimes up to 256 KiB, sometimes page-edge sizes. */
  const len = (): number => {
    const p = r.float();
    if (p < 0.5) return 1 + r.int(4096);
    if (p < 0.8) return 1 + r.int(64 * 1024);
    if (p < 0.9) return [4095, 4096, 4097, 65536, 65537, 131072, 262144][r.int(7)]!;
    return 1 + r.int(256 * 1024);
  };
  const fail = (i: number, msg: string): void => {
    failed = true;
    t.fail(`${cache}: mismatch at op ${i} (seed ${seed}): ${msg}\nlast ops:\n  ${recent.join('\n  ')}`);
  };

  let i = 0;
  for (; i < OPS && !failed; i++) {
    if (Date.now() - t0 > TIME_LIMIT_MS) break;
    const p = r.float();
    let op: string;
    if (p < 0.4) {
      // write at a random offset, sometimes past EOF (leaving a hole)
      const l = Math.min(len(), MAX_SIZE);
      const off = r.float() < 0.1 ? ref.length + r.int(128 * 1024) : r.int(Math.max(1, ref.length));
      const at = Math.min(off, MAX_SIZE - l);
      const data = fillRandom(r, Buffer.allocUnsafe(l));
      op = `write ${at}+${l}`;
      recent.push(op);
      await writeAll(h, data, at);
      if (at + l > ref.length) ref = Buffer.concat([ref, Buffer.alloc(at + l - ref.length)]);
      data.copy(ref, at);
    } else if (p < 0.48) {
      // truncate down or up
      const down = r.float() < 0.5;
      const size = down ? r.int(ref.length + 1) : Math.min(MAX_SIZE, ref.length + r.int(256 * 1024));
      op = `truncate ${ref.length}->${size}`;
      recent.push(op);
      await h.truncate(size);
      ref = size <= ref.length ? Buffer.from(ref.subarray(0, size)) : Buffer.concat([ref, Buffer.alloc(size - ref.length)]);
    } else if (p < 0.58) {
      // append through the O_APPEND descriptor
      const l = Math.min(len(), Math.max(0, MAX_SIZE - ref.length));
      if (l === 0) {
        op = 'truncate-full->0';
        recent.push(op);
        await h.truncate(0);
        ref = Buffer.alloc(0);
      } else {
        const data = fillRandom(r, Buffer.allocUnsafe(l));
        op = `append ${l} at ${ref.length}`;
        recent.push(op);
        await writeAll(ah, data, null);
        ref = Buffer.concat([ref, data]);
      }
    } else if (p < 0.6) {
      op = 'close+reopen';
      recent.push(op);
      await h.close();
      await ah.close();
      h = await open(file, 'r+');
      ah = await open(file, 'a');
    } else if (p < 0.61) {
      op = 'fsync';
      recent.push(op);
      await (r.float() < 0.5 ? h : ah).sync();
    } else if (p < 0.97) {
      // read at a random offset, sometimes across or past EOF
      const l = len();
      const off = r.int(ref.length + 8192);
      op = `read ${off}+${l}`;
      recent.push(op);
      const got = await readAt(h, off, l);
      const want = ref.subarray(Math.min(off, ref.length), Math.min(off + l, ref.length));
      if (!got.equals(want)) {
        const d = firstDiff(got, want);
        fail(i, `read ${off}+${l}: got ${got.length} bytes, want ${want.length}; first difference at file offset ${off + d}`);
      }
    } else {
      op = 'stat';
      recent.push(op);
      const [s1, s2] = await Promise.all([h.stat(), ah.stat()]);
      if (s1.size !== ref.length || s2.size !== ref.length) fail(i, `fstat sizes ${s1.size}/${s2.size}, want ${ref.length}`);
    }
    counts[op.split(' ')[0]!] = (counts[op.split(' ')[0]!] ?? 0) + 1;
    if (recent.length > 25) recent.shift();
    if (i % 1000 === 999 && !failed) {
      const whole = await readAt(h, 0, ref.length + 4096);
      if (!whole.equals(ref)) fail(i, `whole-file read: ${whole.length} bytes, want ${ref.length}; first difference at ${firstDiff(whole, ref)}`);
    }
  }
  const ms = Date.now() - t0;
  t.comment(`${cache}: ${i} ops in ${ms} ms, final size ${ref.length}; ${JSON.stringify(counts)}`);
  if (failed) {
    await h.close().catch(() => {});
    await ah.close().catch(() => {});
    return;
  }
  t.ok(i >= OPS, `${cache}: ran all ${OPS} operations within ${TIME_LIMIT_MS / 1000} s (${i} in ${ms} ms)`);
  const whole = await readAt(h, 0, ref.length + 4096);
  t.ok(whole.equals(ref), `${cache}: the whole file reads back equal to the reference (${ref.length} bytes)`);
  await h.close();
  await ah.close();
  const reread = await readFile(file);
  t.ok(reread.equals(ref), `${cache}: after the last close, a fresh open reads the reference`);
  const server = await readFile(serverFile);
  t.equal(server.length, ref.length, `${cache}: server-side size`);
  t.ok(server.equals(ref), `${cache}: the server-side file equals the reference${server.equals(ref) ? '' : ` (first difference at ${firstDiff(server, ref)})`}`);
}

t.test('10,000 random operations under cache=strict', (t) => randomOps(t, 'strict', 0x5eed01));
t.test('10,000 random operations under cache=none', (t) => randomOps(t, 'none', 0x5eed02));

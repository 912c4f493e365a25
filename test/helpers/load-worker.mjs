// One process of the load test (test/e2e/load.test.ts): for SECONDS it
// alternates between (a) writing one of its own files with a pattern derived
// from its id, a generation number and the offset, in random-sized pieces
// with some pieces written twice out of order, then reading the whole file
// back and checking every byte; and (b) reading random ranges of the shared
// files, written before the run with the pattern of their own seed, and
// checking them. Prints one JSON line of counts and exits 0, or prints what
// differed and exits 1.
//
// usage: node load-worker.mjs DIR ID SECONDS SHARED_COUNT SHARED_SIZE
import { closeSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';
import * as path from 'node:path';
import { fillPattern } from './load-pattern.mjs';

const [dir, idArg, secondsArg, sharedCountArg, sharedSizeArg] = process.argv.slice(2);
const id = Number(idArg);
const endAt = Date.now() + Number(secondsArg) * 1000;
const sharedCount = Number(sharedCountArg);
const sharedSize = Number(sharedSizeArg);

// A small deterministic generator per worker, so a failure can be replayed.
let state = (id + 1) * 0x9e3779b1;
function rand(n) {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}

function fail(what) {
  process.stdout.write(JSON.stringify({ id, error: what }) + '\n');
  process.exit(1);
}

/** The first offset where `got` differs from the pattern of `seed` at `off`, or -1. */
function firstDifference(got, seed, off) {
  const want = fillPattern(Buffer.alloc(got.length), seed, off);
  if (want.equals(got)) return -1;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return off + i;
  return -1;
}

function readFully(fd, len, off) {
  const buf = Buffer.alloc(len);
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, done, len - done, off + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

const counts = { id, filesWritten: 0, bytesWritten: 0, bytesVerified: 0, sharedReads: 0 };
let generation = 0;

function writeOwnFile() {
  // Two names per worker, each rewritten (O_TRUNC) with a new generation.
  const file = path.join(dir, `w${id}-${generation % 2}.bin`);
  const seed = ((id + 1) << 20) + generation++;
  const size = 64 * 1024 + rand(4 << 20);
  const fd = openSync(file, 'w');
  const pieces = [];
  for (let off = 0; off < size; ) {
    const len = Math.min(size - off, 1 + rand(256 * 1024));
    pieces.push([off, len]);
    off += len;
  }
  for (const [off, len] of pieces) {
    writeSync(fd, fillPattern(Buffer.alloc(len), seed, off), 0, len, off);
    // Now and then write an earlier piece again (same bytes, out of order).
    if (rand(8) === 0) {
      const [o, l] = pieces[rand(pieces.length)];
      writeSync(fd, fillPattern(Buffer.alloc(l), seed, o), 0, l, o);
    }
  }
  closeSync(fd);
  counts.filesWritten++;
  counts.bytesWritten += size;
  const rfd = openSync(file, 'r');
  const st = fstatSync(rfd);
  if (st.size !== size) fail(`${file}: size ${st.size} after writing ${size}`);
  const got = readFully(rfd, size, 0);
  closeSync(rfd);
  if (got.length !== size) fail(`${file}: read back ${got.length} of ${size} bytes`);
  const at = firstDifference(got, seed, 0);
  if (at >= 0) fail(`${file}: byte ${at} differs from what was written (generation ${seed})`);
  counts.bytesVerified += size;
}

function readShared() {
  const k = rand(sharedCount);
  const file = path.join(dir, `shared-${k}.bin`);
  const len = 1 + rand(1 << 20);
  const off = rand(sharedSize - len + 1);
  const fd = openSync(file, 'r');
  const got = readFully(fd, len, off);
  closeSync(fd);
  if (got.length !== len) fail(`${file}: read ${got.length} of ${len} bytes at ${off}`);
  const at = firstDifference(got, 1000 + k, off);
  if (at >= 0) fail(`${file}: byte ${at} differs from the shared pattern`);
  counts.sharedReads++;
  counts.bytesVerified += len;
}

try {
  while (Date.now() < endAt) {
    if (rand(3) === 0) readShared();
    else writeOwnFile();
  }
} catch (e) {
  fail(`${e.code ?? ''} ${e.message}`);
}
process.stdout.write(JSON.stringify(counts) + '\n');

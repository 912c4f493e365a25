#!/usr/bin/env node
// Deterministic test data for smbfuse's integration and end-to-end tests.
//
// usage:
//   node scripts/make-test-tree.mjs DIR [--files 2000] [--seed 1] [--manifest PATH] [--no-big]
//   node scripts/make-test-tree.mjs --sparse FILE
//
// Tree mode creates DIR (which must be missing or empty) and fills it from a
// seeded PRNG, so every run with the same --seed and --files produces the same
// names, sizes, bytes and mtimes:
//
//   d-*/…            --files regular files spread over ~files/15 directories
//                    nested up to 5 levels below DIR, with Unicode names
//                    ("Überprüfung", "日本語", "emoji 🎉", accents, Greek,
//                    Cyrillic, Hebrew, spaces, quotes, brackets), sizes
//                    mostly 0–16 KiB with some up to 1 MiB, ~3% empty
//   names/           names of exactly 200 characters: all ASCII (200 bytes),
//                    200 code points with 2-byte letters (255 bytes, the
//                    Linux limit), and 85 CJK characters (255 bytes); plus an
//                    NFC "Café" next to an NFD "Café" (distinct names)
//   sizes/           files of 0, 1, 4095, 4096, 4097, 65535, 65536, 65537,
//                    131071, 131072, 131073 and 1048577 bytes
//   big/64MiB.bin    one 64 MiB file (left out with --no-big)
//   big-dir/         3000 entries: 2990 small files and 10 empty directories
//   empty-dir/       an empty directory
//
// No name differs from another in the same directory only by case (SMB is case
// insensitive) and no name uses a character SMB forbids (: * ? " < > | \), so
// the tree can be created on the server side and read through the mount, or
// the other way round.
//
// The manifest lists every regular file as `sha256  relative/path`, sorted by
// path (byte order), in `sha256sum` format: `cd DIR && sha256sum -c MANIFEST`
// checks a copy. It goes to --manifest PATH, by default DIR/../MANIFEST.sha256.
// The last stdout line is `MANIFEST=<path>`; stats go to stderr.
// All files get mtime 2024-01-02T03:04:05Z plus their index in seconds;
// directories keep their creation time.
//
// Sparse mode writes FILE as a sparse file of SPARSE.size bytes (4 GiB + 17441)
// holding only these extents (everything else reads as zeros):
//
//   offset 0                  16 bytes  "SPARSE-HEAD-0000"
//   offset 2^32 - 8           16 bytes  "ACROSS-4GiB-EDGE"   (straddles 4 GiB)
//   offset 2^32 + 12345     4096 bytes  byte k = (k * 7 + 13) & 0xff
//   file size               2^32 + 12345 + 4096 + 1000 (1000 zero bytes at the end)
//
// It is made with ftruncate to the full size and positional writes, so it takes
// a few KiB on disk. It prints the layout as JSON on stdout (offsets, lengths,
// sha256 of each extent). `sparseLayout()` and `sparseExtentBytes()` are exported
// so a test can import this module and check the same bytes.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** mulberry32: a small seeded PRNG returning uint32s. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32: next,
    /** Integer in [0, n). */
    int: (n) => next() % n,
    /** Element of arr. */
    pick: (arr) => arr[next() % arr.length],
  };
}

/** Fills a new Buffer of len bytes from a PRNG seeded with seed (fast: 4 bytes per step). */
function bytes(seed, len) {
  const r = prng(seed);
  const words = new Uint32Array(Math.ceil(len / 4));
  for (let i = 0; i < words.length; i++) words[i] = r.u32();
  return Buffer.from(words.buffer, 0, len);
}

/** Name stems: Unicode, spaces and punctuation SMB allows. */
const WORDS = [
  'Überprüfung', '日本語', 'emoji 🎉', 'café', 'naïve', 'smörgåsbord', 'piñata', 'façade',
  'Ελληνικά', 'русский', 'עברית', '中文文件', '한국어', 'Ünïcödé', 'plain', 'data', 'notes',
  'with space', "O'Brien", 'x+y=z', '[brackets]', '#hash', '%percent', 'a&b', 'semi;colon',
  'comma,name', 'dash-name', 'under_score', 'ñandú', 'crème brûlée', 'Zürich', 'Ærøskøbing',
  '🚀 rocket', '🐍🐪', 'tab-free', 'ÅÄÖ', 'ßtraße', 'İstanbul', 'मराठी', 'ไทย',
];
const EXTS = ['', '.txt', '.bin', '.dat', '.json', '.md', '.tar', '.tmp'];

/** Size of a regular file: mostly small, some empty, a few up to 1 MiB. */
function pickSize(r) {
  const x = r.int(1000);
  if (x < 30) return 0;
  if (x < 700) return r.int(4 * KiB);
  if (x < 950) return r.int(16 * KiB);
  if (x < 995) return r.int(256 * KiB);
  return r.int(MiB);
}

/** The tree builder: writes files, records hashes, sets mtimes. */
class Tree {
  constructor(root) {
    this.root = root;
    this.files = []; // [relpath, sha256]
    this.bytes = 0;
    this.index = 0;
  }

  dir(rel) {
    fs.mkdirSync(path.join(this.root, rel), { recursive: true });
  }

  /** Writes one file with content from seed, records it. */
  file(rel, size, seed) {
    const data = bytes(seed, size);
    const abs = path.join(this.root, rel);
    fs.writeFileSync(abs, data, { flag: 'wx' });
    const t = 1704164645 + this.index++; // 2024-01-02T03:04:05Z + index
    fs.utimesSync(abs, t, t);
    this.files.push([rel, createHash('sha256').update(data).digest('hex')]);
    this.bytes += size;
  }
}

/** Creates the whole tree under root; returns the Tree with its file list. */
export function makeTree(root, { files = 2000, seed = 1, big = true } = {}) {
  fs.mkdirSync(root, { recursive: true });
  if (fs.readdirSync(root).length > 0) throw new Error(`${root} is not empty`);
  const r = prng(seed);
  const t = new Tree(root);

  // Nested directories: each new one hangs under a random earlier one of depth < 5.
  const dirs = [{ rel: '', depth: 0 }];
  const ndirs = Math.max(10, Math.floor(files / 15));
  for (let i = 0; i < ndirs; i++) {
    const candidates = dirs.filter((d) => d.depth < 5);
    // Favour deeper parents a little, so depth 5 is reached.
    const parent = r.int(3) === 0 ? candidates[candidates.length - 1 - r.int(Math.min(8, candidates.length))] : r.pick(candidates);
    const name = `d-${r.pick(WORDS)} ${i}`;
    const rel = parent.rel ? `${parent.rel}/${name}` : name;
    t.dir(rel);
    dirs.push({ rel, depth: parent.depth + 1 });
  }
  // Make sure one chain reaches depth 5 whatever the PRNG did.
  let chain = '';
  for (let d = 1; d <= 5; d++) {
    chain = chain ? `${chain}/deep ${d} ü` : `deep ${d} ü`;
    t.dir(chain);
    dirs.push({ rel: chain, depth: d });
  }

  // Regular files; the index suffix keeps names unique (also case-insensitively).
  for (let i = 0; i < files; i++) {
    const d = i === 0 ? dirs[dirs.length - 1] : r.pick(dirs);
    const name = `${r.pick(WORDS)} ${i}${r.pick(EXTS)}`;
    t.file(d.rel ? `${d.rel}/${name}` : name, pickSize(r), seed * 1_000_003 + i);
  }

  // Long names.
  t.dir('names');
  const ascii = 'long-name-'.padEnd(196, 'abcdefghij0123456789') + '.txt';
  const twoByte = 'ä'.repeat(55) + 'x'.repeat(141) + '.txt'; // 200 code points, 255 bytes
  const cjk = '長'.repeat(85); // 85 characters, 255 bytes
  for (const [n, name] of [ascii, twoByte, cjk].entries()) {
    t.file(`names/${name}`, 100 + n, seed * 7 + n);
  }
  t.file('names/Caf\u00e9 NFC.txt', 10, seed * 11);
  t.file('names/Cafe\u0301 NFD.txt', 11, seed * 13);

  // Boundary sizes.
  t.dir('sizes');
  for (const size of [0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 131071, 131072, 131073, MiB + 1]) {
    t.file(`sizes/${size === 0 ? 'empty' : size}.bin`, size, seed * 17 + size);
  }

  if (big) {
    t.dir('big');
    t.file('big/64MiB.bin', 64 * MiB, seed * 19);
  }

  // A big directory: 3000 entries in one listing.
  t.dir('big-dir');
  for (let i = 0; i < 3000; i++) {
    const name = `entry ${String(i).padStart(5, '0')}${i % 7 === 0 ? ' ü' : ''}`;
    if (i % 300 === 299) t.dir(`big-dir/${name}.d`);
    else t.file(`big-dir/${name}.txt`, r.int(200), seed * 23 + i);
  }

  t.dir('empty-dir');
  t.files.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  return t;
}

/** The sparse file's layout: size and extents with their offsets. */
export function sparseLayout() {
  const edge = 2 ** 32;
  const extents = [
    { offset: 0, length: 16, text: 'SPARSE-HEAD-0000' },
    { offset: edge - 8, length: 16, text: 'ACROSS-4GiB-EDGE' },
    { offset: edge + 12345, length: 4096, pattern: 'byte k = (k * 7 + 13) & 0xff' },
  ];
  return { size: edge + 12345 + 4096 + 1000, extents };
}

/** The bytes of one extent of sparseLayout(). */
export function sparseExtentBytes(ext) {
  if (ext.text) return Buffer.from(ext.text, 'latin1');
  const b = Buffer.alloc(ext.length);
  for (let k = 0; k < b.length; k++) b[k] = (k * 7 + 13) & 0xff;
  return b;
}

/** Writes the sparse file; returns its layout with each extent's sha256. */
export function makeSparse(file) {
  const layout = sparseLayout();
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, layout.size);
    for (const ext of layout.extents) {
      const b = sparseExtentBytes(ext);
      fs.writeSync(fd, b, 0, b.length, ext.offset);
      ext.sha256 = createHash('sha256').update(b).digest('hex');
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file: path.resolve(file), ...layout };
}

/** Parses argv and runs tree or sparse mode. */
function main(argv) {
  const opts = { files: 2000, seed: 1, big: true };
  let dir;
  let sparse;
  let manifest;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--files') opts.files = Number(val());
    else if (a === '--seed') opts.seed = Number(val());
    else if (a === '--manifest') manifest = val();
    else if (a === '--no-big') opts.big = false;
    else if (a === '--sparse') sparse = val();
    else if (a === '-h' || a === '--help') {
      console.log('usage: make-test-tree.mjs DIR [--files N] [--seed N] [--manifest PATH] [--no-big] | --sparse FILE');
      return;
    } else if (!dir) dir = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (sparse) {
    console.log(JSON.stringify(makeSparse(sparse), null, 2));
    return;
  }
  if (!dir) throw new Error('usage: make-test-tree.mjs DIR [--files N] | --sparse FILE');
  if (!Number.isInteger(opts.files) || opts.files < 1) throw new Error('--files must be a positive integer');
  const t0 = Date.now();
  const root = path.resolve(dir);
  const t = makeTree(root, opts);
  manifest = path.resolve(manifest ?? path.join(path.dirname(root), 'MANIFEST.sha256'));
  fs.writeFileSync(manifest, t.files.map(([rel, h]) => `${h}  ${rel}\n`).join(''));
  console.error(`make-test-tree: ${t.files.length} files, ${(t.bytes / MiB).toFixed(1)} MiB in ${root} (${Date.now() - t0} ms)`);
  console.log(`MANIFEST=${manifest}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`make-test-tree: ${err.message}`);
    process.exit(1);
  }
}

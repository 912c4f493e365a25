#!/usr/bin/env node
// fuse-null: a do-nothing fuse-native filesystem, the ceiling of the FUSE binding
// for benchmarks. It holds one file, /big, whose read handler hands the kernel's
// buffer back untouched (no fill, no copy: cb(len)) and whose write handler
// accepts every byte and drops it. What dd measures through it is the cost of
// /dev/fuse, libfuse2's loop and fuse-native's thread/N-API hops alone.
//
// usage: node scripts/fuse-null.mjs MOUNTPOINT [--size BYTES|1G|512M] [--small-io]
//                                   [--entries N] [--cache-secs S] [--stats]
//   --size        size of /big (default 1 GiB); suffixes K, M, G are powers of 1024
//   --small-io    libfuse2 defaults (no big_writes, default max_read/max_write),
//                 to compare against the tuned options
//   --entries N   also serve /dir with N empty files entry-00001.txt … (the floor
//                 of listing a big directory: every LOOKUP answered from memory)
//   --cache-secs  entry and attribute timeout the kernel may cache answers for
//                 (default: libfuse's 1 s)
//   --stats       on exit, print to stderr how many reads/writes of each size came
//
// Files and directories can be created and removed anywhere (create, mkdir,
// unlink, rmdir: the metadata floor); what is written to any file is dropped,
// only its size is kept.
//
// Runs in the foreground. Prints "fuse-null: mounted MOUNTPOINT" on stdout once
// the mount is live; unmounts and exits on SIGTERM/SIGINT.
//
// Mount options: big_writes, max_write=1048576 and max_read=1048576 (fuse-native's
// `maxRead`). fuse-native has no fields for the first two; they are added by
// overriding Fuse#_fuseOptions() in a subclass. See scripts/fuse-options.md for
// the trick, which src/ needs too. Unless --small-io, the kernel's readahead
// window is raised as smbfuse raises its own (src/kernel-readahead.ts, from
// dist/: built by npm install), so both are read with requests of one size.
import Fuse from 'fuse-native';
import path from 'node:path';

const MiB = 1024 * 1024;

/**
 * Returns a Fuse subclass whose libfuse option string ends with `extra`
 * (e.g. ['big_writes', 'max_write=1048576']). fuse-native builds the string in
 * `_fuseOptions()` as '-o' + options.join(',') (or '' when there are none) and
 * passes it to fuse_main as one argv element, max 1023 bytes.
 */
export function fuseWithOptions(FuseClass, extra) {
  return class extends FuseClass {
    _fuseOptions() {
      const base = super._fuseOptions();
      if (extra.length === 0) return base;
      const s = base ? `${base},${extra.join(',')}` : `-o${extra.join(',')}`;
      if (Buffer.byteLength(s) > 1023) throw new Error(`FUSE option string too long: ${s.length}`);
      return s;
    }
  };
}

/** Parses "1G", "512M", "4096" into bytes. */
function parseSize(s) {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(s);
  if (!m) throw new Error(`bad size: ${s}`);
  const mult = { '': 1, K: 1024, M: MiB, G: 1024 * MiB }[m[2].toUpperCase()];
  return Number(m[1]) * mult;
}

const USAGE = 'usage: node scripts/fuse-null.mjs MOUNTPOINT [--size 1G] [--small-io] [--entries N] [--cache-secs S] [--stats]';

/** Parses argv into { mnt, size, smallIo, stats, entries, cacheSecs }. */
function parseArgs(argv) {
  let mnt;
  let size = 1024 * MiB;
  let smallIo = false;
  let stats = false;
  let entries = 0;
  let cacheSecs;
  const count = (s, what) => {
    if (!/^\d+$/.test(s ?? '')) throw new Error(`${what} needs a whole number`);
    return Number(s);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--size') size = parseSize(argv[++i] ?? '');
    else if (a === '--small-io') smallIo = true;
    else if (a === '--stats') stats = true;
    else if (a === '--entries') entries = count(argv[++i], '--entries');
    else if (a === '--cache-secs') cacheSecs = count(argv[++i], '--cache-secs');
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (!mnt) mnt = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!mnt) throw new Error(USAGE);
  return { mnt, size, smallIo, stats, entries, cacheSecs };
}

/** Mounts the null filesystem and keeps it until a signal arrives. */
function main() {
  const { mnt, size: initialSize, smallIo, stats, entries, cacheSecs } = parseArgs(process.argv.slice(2));
  let size = initialSize;
  const reads = new Map(); // request size → count (only with --stats)
  const writes = new Map();
  const count = (m, len) => m.set(len, (m.get(len) ?? 0) + 1);
  const now = new Date();
  const dirStat = { mtime: now, atime: now, ctime: now, nlink: 2, size: 4096, mode: 0o40755, uid: 0, gid: 0 };
  const fileStat = () => ({ mtime: now, atime: now, ctime: now, nlink: 1, size, mode: 0o100644, uid: 0, gid: 0 });
  // The namespace: /big, /dir with the --entries names, and whatever is
  // created (files hold only a size: their bytes are dropped).
  const nodes = new Map([['/', { dir: true }], ['/big', { big: true }]]); // path → node
  const kids = new Map([['/', new Set(['big'])]]); // dir path → names in it
  const split = (p) => { const i = p.lastIndexOf('/'); return [p.slice(0, i) || '/', p.slice(i + 1)]; };
  const add = (p, node) => {
    const [parent, name] = split(p);
    nodes.set(p, node);
    kids.get(parent).add(name);
    if (node.dir) kids.set(p, new Set());
  };
  const remove = (p) => {
    const [parent, name] = split(p);
    nodes.delete(p);
    kids.delete(p);
    kids.get(parent)?.delete(name);
  };
  if (entries) {
    add('/dir', { dir: true });
    for (let i = 1; i <= entries; i++) add(`/dir/entry-${String(i).padStart(5, '0')}.txt`, { size: 0 });
  }
  const sizeOf = (node) => (node.big ? size : node.size);
  const setSize = (node, len) => { if (node.big) size = len; else node.size = len; };

  const ops = {
    getattr(path, cb) {
      const node = nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return cb(0, node.dir ? dirStat : { ...fileStat(), size: sizeOf(node) });
    },
    readdir(path, cb) {
      const names = kids.get(path);
      return names ? cb(0, [...names]) : cb(nodes.has(path) ? Fuse.ENOTDIR : Fuse.ENOENT);
    },
    open(path, flags, cb) {
      const node = nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      return node.dir ? cb(Fuse.EISDIR) : cb(0, 42);
    },
    create(path, mode, cb) {
      const [parent] = split(path);
      if (!kids.has(parent)) return cb(Fuse.ENOENT);
      if (!nodes.has(path)) add(path, { size: 0 });
      return cb(0, 43);
    },
    mkdir(path, mode, cb) {
      const [parent] = split(path);
      if (!kids.has(parent)) return cb(Fuse.ENOENT);
      if (nodes.has(path)) return cb(Fuse.EEXIST);
      add(path, { dir: true });
      return cb(0);
    },
    unlink(path, cb) {
      const node = nodes.get(path);
      if (!node) return cb(Fuse.ENOENT);
      if (node.dir) return cb(Fuse.EISDIR);
      remove(path);
      return cb(0);
    },
    rmdir(path, cb) {
      const names = kids.get(path);
      if (!names) return cb(nodes.has(path) ? Fuse.ENOTDIR : Fuse.ENOENT);
      if (names.size) return cb(Fuse.ENOTEMPTY);
      remove(path);
      return cb(0);
    },
    getxattr(path, name, position, cb) { cb(-95); }, // EOPNOTSUPP: ls -l asks for ACLs
    release(path, fd, cb) { cb(0); },
    flush(path, fd, cb) { cb(0); },
    fsync(path, fd, datasync, cb) { cb(0); },
    truncate(path, len, cb) { const n = nodes.get(path); if (n && !n.dir) setSize(n, len); cb(0); },
    ftruncate(path, fd, len, cb) { const n = nodes.get(path); if (n && !n.dir) setSize(n, len); cb(0); },
    utimens(path, atime, mtime, cb) { cb(0); },
    chmod(path, mode, cb) { cb(0); },
    statfs(path, cb) {
      cb(0, { bsize: 4096, frsize: 4096, blocks: 1 << 30, bfree: 1 << 30, bavail: 1 << 30,
              files: 1000, ffree: 1000, favail: 1000, fsid: 0, flag: 0, namemax: 255 });
    },
    read(path, fd, buf, len, pos, cb) {
      // The buffer goes back as it came: the point is the binding's cost alone.
      if (stats) count(reads, len);
      const end = sizeOf(nodes.get(path) ?? { size: 0 });
      cb(pos >= end ? 0 : Math.min(len, end - pos));
    },
    write(path, fd, buf, len, pos, cb) {
      if (stats) count(writes, len);
      const node = nodes.get(path);
      if (node && !node.dir && pos + len > sizeOf(node)) setSize(node, pos + len);
      cb(len);
    },
  };

  const extra = smallIo ? [] : ['big_writes', `max_write=${MiB}`];
  // Set here, not through fuse-native's attrTimeout/entryTimeout, which drop a 0.
  if (cacheSecs !== undefined) extra.push(`entry_timeout=${cacheSecs}`, `attr_timeout=${cacheSecs}`);
  const NullFuse = fuseWithOptions(Fuse, extra);
  const fuse = new NullFuse(mnt, ops, {
    maxRead: smallIo ? undefined : MiB, // → max_read=1048576
    fsname: 'fuse-null',
    force: true, // unmount a stale mount left at mnt first
    timeout: false, // no per-operation timer: they cost time on every call
  });

  fuse.mount((err) => {
    if (err) {
      console.error(`fuse-null: mount failed: ${err.message}`);
      process.exit(1);
    }
    const say = (extra) => process.stdout.write(`fuse-null: mounted ${mnt} (${fuse._fuseOptions()})${extra}\n`);
    if (smallIo) return say('');
    import('../dist/src/kernel-readahead.js').then(
      (k) => k.afterInit(path.resolve(mnt)).then(() => say(`; ${k.raiseKernelReadahead(path.resolve(mnt), k.KERNEL_READAHEAD_MAX)}`)),
      (e) => say(`; kernel readahead left as it is (${e.message})`),
    );
  });

  let closing = false;
  const stop = (sig) => {
    if (closing) return;
    closing = true;
    if (stats) {
      const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([l, c]) => `${l}×${c}`).join(' ');
      console.error(`fuse-null: reads ${show(reads) || '-'}; writes ${show(writes) || '-'}`);
    }
    fuse.unmount((err) => {
      if (err) console.error(`fuse-null: unmount after ${sig} failed: ${err.message}`);
      process.exit(err ? 1 : 0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) main();

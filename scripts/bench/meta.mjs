// Rows of the metadata path: many small files (create, stat, rm), a big
// directory listed cold and warm, and dbench.
import { readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { q, sh } from './proc.mjs';
import { RowSet } from './rowset.mjs';
import { ensureListing } from './data.mjs';

const MAKE_FILES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'make-files.mjs');
const FSIZE = 4096;
const COUNTS = [1000, 2000];
/**
 * The create rows in the order they run, one mount (smbfuse, fuse-null) or
 * client (smbclient) per column for all three: the last makes 1000 files again
 * once the daemon's code is warm (V8 optimises it only after it has run a
 * while; the first rows pay for that), from the same source as the first.
 */
const CREATES = [
  { id: 'create-1000', n: 1000, dir: 'files-1000' },
  { id: 'create-2000', n: 2000, dir: 'files-2000' },
  { id: 'create-1000-again', n: 1000, dir: 'files-1000-again' },
];
const CREATE_IDS = CREATES.map((c) => c.id);

/** Seconds one process takes to write N files of 4 KiB into DIR (made here). */
async function createFiles(dir, n) {
  const r = await sh(`rm -rf ${q(dir)} && mkdir ${q(dir)} && node ${q(MAKE_FILES)} ${q(dir)} ${n} ${FSIZE}`, { timeoutS: 600 });
  return Number(r.stdout.trim());
}

/** Fails unless DIR (on the server side) holds exactly N files of 4 KiB. */
function checkFiles(dir, n, who) {
  const names = readdirSync(dir);
  const bad = names.filter((f) => statSync(path.join(dir, f)).size !== FSIZE).length;
  if (names.length !== n || bad) throw new Error(`${who}: the server holds ${names.length} files in ${dir} (${bad} of a wrong size), expected ${n}`);
}

/** Wall seconds of `find DIR | xargs stat` and of `rm -rf DIR`, in that order. */
async function statAndRm(dir) {
  const st = await sh(`find ${q(dir)} -type f -print0 | xargs -0 stat > /dev/null`, { timeoutS: 600 });
  const rm = await sh(`rm -rf ${q(dir)}`, { timeoutS: 600 });
  return [st.secs, rm.secs];
}

export async function filesGroup(ctx, o) {
  const rs = new RowSet('files', [
    { id: 'create-1000', label: 'create 1000 x 4 KiB, one process', unit: 's', better: 'lower' },
    { id: 'create-2000', label: 'create 2000 x 4 KiB, one process', unit: 's', better: 'lower' },
    { id: 'create-1000-again', label: 'create 1000 x 4 KiB again, after the two above', unit: 's', better: 'lower' },
    { id: 'stat-2000', label: 'find | xargs stat, 2000 files', unit: 's', better: 'lower' },
    { id: 'rm-2000', label: 'rm -rf, 2000 files', unit: 's', better: 'lower' },
  ]);
  rs.note('create-1000', 'smbclient: mput, wall time with its connect and logon; stat/rm: smbclient ls / deltree');
  rs.note('create-1000-again', 'smbfuse and fuse-null: the same mount as the two rows above, its daemon warm; smbclient: mput of the same 1000 files once more');
  rs.note('stat-2000', "smbfuse: a fresh mount after the creates; fuse-null: the same mount (it keeps names in memory only)");
  const src = (n) => path.join(ctx.local, `files-${n}`);

  // Local disk first: its files are smbclient's source.
  await rs.attempt(CREATE_IDS, 'local', async () => {
    for (const n of COUNTS) rs.set(`create-${n}`, 'local', await createFiles(src(n), n));
    rs.set('create-1000-again', 'local', await createFiles(path.join(ctx.local, 'files-1000-again'), 1000));
    rmSync(path.join(ctx.local, 'files-1000-again'), { recursive: true, force: true });
  });

  await rs.attempt([...CREATE_IDS, 'stat-2000', 'rm-2000'], 'smbclient', async () => {
    for (const c of CREATES) {
      const d = `bench-${c.dir}-smbclient`;
      rmSync(path.join(ctx.share, d), { recursive: true, force: true });
      const r = await sh(`${ctx.smbclientScript(`mkdir ${d}; cd ${d}; lcd ${src(c.n)}; prompt; mput *`)} 2>/dev/null`, { timeoutS: 600 });
      checkFiles(path.join(ctx.share, d), c.n, 'smbclient');
      rs.set(c.id, 'smbclient', r.secs);
    }
    const d = 'bench-files-2000-smbclient';
    const ls = await sh(ctx.smbclientScript(`cd ${d}; ls`), { timeoutS: 300 });
    const listed = ls.stdout.split('\n').filter((l) => /^\s+f\d{5}\s/.test(l)).length;
    if (listed !== 2000) throw new Error(`smbclient ls listed ${listed} files, expected 2000`);
    rs.set('stat-2000', 'smbclient', ls.secs);
    const del = await sh(ctx.smbclientScript(`deltree ${d}`), { timeoutS: 600 });
    if (existsSync(path.join(ctx.share, d))) throw new Error(`smbclient deltree left ${d}`);
    rs.set('rm-2000', 'smbclient', del.secs);
  });
  for (const c of CREATES) rmSync(path.join(ctx.share, `bench-${c.dir}-smbclient`), { recursive: true, force: true });

  await rs.attempt([...CREATE_IDS, 'stat-2000', 'rm-2000'], 'smbfuse', async () => {
    try {
      let m = await ctx.mountSmbfuse();
      try {
        for (const c of CREATES) {
          rs.set(c.id, 'smbfuse', await createFiles(path.join(m.mnt, `bench-${c.dir}`), c.n));
          checkFiles(path.join(ctx.share, `bench-${c.dir}`), c.n, 'smbfuse'); // every file closed: all on the server
        }
      } finally { await ctx.unmount(m); }
      m = await ctx.mountSmbfuse();
      try {
        const [st, rm] = await statAndRm(path.join(m.mnt, 'bench-files-2000'));
        if (existsSync(path.join(ctx.share, 'bench-files-2000'))) throw new Error('rm -rf through smbfuse left files on the server');
        rs.set('stat-2000', 'smbfuse', st);
        rs.set('rm-2000', 'smbfuse', rm);
      } finally { await ctx.unmount(m); }
    } finally {
      for (const c of CREATES) rmSync(path.join(ctx.share, `bench-${c.dir}`), { recursive: true, force: true });
    }
  });

  // The FUSE floor: the same loop through a filesystem that keeps only names and sizes.
  await rs.attempt([...CREATE_IDS, 'stat-2000', 'rm-2000'], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', '0']);
    try {
      for (const c of CREATES) rs.set(c.id, 'fuse-null', await createFiles(path.join(m.mnt, c.dir), c.n));
      const [st, rm] = await statAndRm(path.join(m.mnt, 'files-2000'));
      rs.set('stat-2000', 'fuse-null', st);
      rs.set('rm-2000', 'fuse-null', rm);
    } finally { await ctx.unmount(m); }
  });

  await rs.attempt(['stat-2000', 'rm-2000'], 'local', async () => {
    const [st, rm] = await statAndRm(src(2000));
    rs.set('stat-2000', 'local', st);
    rs.set('rm-2000', 'local', rm);
  });
  rmSync(src(1000), { recursive: true, force: true });
  rmSync(src(2000), { recursive: true, force: true });

  if (o.otherWork) {
    await rs.attempt([...CREATE_IDS, 'stat-2000', 'rm-2000'], 'other', async () => {
      for (const c of CREATES) rs.set(c.id, 'other', await createFiles(path.join(o.otherWork, c.dir), c.n));
      const [st, rm] = await statAndRm(path.join(o.otherWork, 'files-2000'));
      rs.set('stat-2000', 'other', st);
      rs.set('rm-2000', 'other', rm);
      await sh(`rm -rf ${q(path.join(o.otherWork, 'files-1000'))} ${q(path.join(o.otherWork, 'files-1000-again'))}`, { timeoutS: 600 });
    });
  }
  return rs.rows;
}

const ENTRIES = 10000;

export async function lsGroup(ctx, o) {
  const rs = new RowSet('ls', [
    { id: 'ls-cold', label: `ls -l ${ENTRIES} entries, fresh mount`, unit: 's', better: 'lower' },
    { id: 'ls-warm', label: `ls -l ${ENTRIES} entries again (warm)`, unit: 's', better: 'lower' },
  ]);
  rs.note('ls-cold', 'smbfuse with actimeo=30, fuse-null with entry/attr timeouts of 30 s; smbclient: ls with connect and logon');
  /** Wall seconds of `ls -l DIR`, checking every entry was listed. */
  const ls = async (dir) => {
    const r = await sh(`ls -l ${q(dir)}`, { timeoutS: 300 });
    const n = r.stdout.split('\n').filter((l) => l.includes('entry-')).length;
    if (n !== ENTRIES) throw new Error(`ls -l listed ${n} entries, expected ${ENTRIES}`);
    return r.secs;
  };
  const both = async (col, dir) => {
    rs.set('ls-cold', col, await ls(dir));
    rs.set('ls-warm', col, await ls(dir));
  };
  const served = await ensureListing(ctx.share, ENTRIES);
  const local = await ensureListing(ctx.local, ENTRIES);
  await sh(`ls -l ${q(served)} > /dev/null`, { timeoutS: 60 }); // the server's inode caches warm

  await rs.attempt(['ls-cold', 'ls-warm'], 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse('actimeo=30');
    try { await both('smbfuse', path.join(m.mnt, path.basename(served))); } finally { await ctx.unmount(m); }
  });
  await rs.attempt(['ls-cold', 'ls-warm'], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', '0', '--entries', String(ENTRIES), '--cache-secs', '30']);
    try { await both('fuse-null', path.join(m.mnt, 'dir')); } finally { await ctx.unmount(m); }
  });
  await rs.attempt(['ls-cold'], 'smbclient', async () => {
    const r = await sh(ctx.smbclientScript(`cd ${path.basename(served)}; ls`), { timeoutS: 300 });
    const n = r.stdout.split('\n').filter((l) => l.includes('entry-')).length;
    if (n !== ENTRIES) throw new Error(`smbclient ls listed ${n} entries, expected ${ENTRIES}`);
    rs.set('ls-cold', 'smbclient', r.secs);
  });
  await rs.attempt(['ls-cold', 'ls-warm'], 'local', () => both('local', local));
  if (o.otherWork) {
    await rs.attempt(['ls-cold', 'ls-warm'], 'other', async () => both('other', await ensureListing(o.otherWork, ENTRIES)));
    rs.note('ls-cold', 'other: not a fresh mount');
  }
  return rs.rows;
}

const LOADFILE = '/usr/share/dbench/client.txt';

export async function dbenchGroup(ctx, o) {
  const rs = new RowSet('dbench', [
    { id: 'dbench', label: `dbench -t ${o.dbenchSecs} 4`, unit: 'MB/s', better: 'higher' },
  ]);
  const dbench = async (col, dir) => {
    try {
      const r = await sh(`mkdir -p ${q(dir)} && dbench -c ${LOADFILE} -D ${q(dir)} -t ${o.dbenchSecs} 4`, { timeoutS: o.dbenchSecs + 180 });
      const m = /Throughput ([\d.]+) MB\/sec/.exec(r.stdout);
      if (!m) throw new Error(`no throughput in dbench's output: ${r.stdout.trim().split('\n').slice(-2).join(' | ')}`);
      rs.set('dbench', col, Number(m[1]));
    } finally {
      await sh(`rm -rf ${q(dir)}`, { timeoutS: 300 });
    }
  };
  await rs.attempt(['dbench'], 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse();
    try { await dbench('smbfuse', path.join(m.mnt, 'bench-dbench')); } finally { await ctx.unmount(m); }
  });
  await rs.attempt(['dbench'], 'local', () => dbench('local', path.join(ctx.local, 'dbench')));
  if (o.otherWork) await rs.attempt(['dbench'], 'other', () => dbench('other', path.join(o.otherWork, 'dbench')));
  return rs.rows;
}

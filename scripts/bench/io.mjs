// Rows of the data path: sequential write and read (cold and warm), the
// daemon's CPU per GiB and peak RSS, and fio 4 KiB random reads.
import { statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { q, sh, cpuSecs, peakRssMiB, serverCpuSecs, sleep } from './proc.mjs';
import { RowSet, MiB, GiB, mbps } from './rowset.mjs';
import { ensureBig } from './data.mjs';

const TRANSPORT_READS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'transport-reads.mjs');

/** Fails unless FILE (seen on the server side) holds BYTES bytes. */
function checkSize(file, bytes, who) {
  const got = statSync(file).size;
  if (got !== bytes) throw new Error(`${who}: ${file} has ${got} bytes on the server, expected ${bytes}`);
}

/** Bound for moving SIZE_MIB through the slowest client we expect (5 MB/s). */
const ioTimeout = (sizeMiB) => 60 + Math.ceil(sizeMiB / 5);

export async function writeGroup(ctx, o) {
  const bytes = o.sizeMiB * MiB;
  const rs = new RowSet('write', [
    { id: 'write', label: `write ${o.sizeMiB} MiB, dd bs=1M conv=fsync`, unit: 'MB/s', better: 'higher' },
    { id: 'cpu-write', label: 'daemon CPU per GiB written', unit: 's/GiB', better: 'lower' },
    { id: 'rss-write', label: 'daemon peak RSS (VmHWM), write', unit: 'MiB', better: 'lower' },
  ]);
  const dd = (file) => sh(`dd if=/dev/zero of=${q(file)} bs=1M count=${o.sizeMiB} conv=fsync status=none`, { timeoutS: ioTimeout(o.sizeMiB) });
  const src = await ensureBig(ctx.local, o.sizeMiB);
  await sh(`cat ${q(src)} > /dev/null`, { timeoutS: 120 });
  rs.note('write', 'smbclient: put of a local file (page cache warm), no FLUSH; others: dd from /dev/zero with fsync');

  await rs.attempt(['write', 'cpu-write'], 'smbclient', async () => {
    const dst = path.join(ctx.share, 'bench-write-smbclient');
    try {
      const r = await sh(ctx.smbclientScript(`put ${src} bench-write-smbclient`), { timeoutS: ioTimeout(o.sizeMiB) });
      checkSize(dst, bytes, 'smbclient');
      rs.set('write', 'smbclient', mbps(bytes, r.secs));
      rs.set('cpu-write', 'smbclient', r.cpu / (bytes / GiB));
    } finally { rmSync(dst, { force: true }); }
  });

  await rs.attempt(['write', 'cpu-write', 'rss-write'], 'smbfuse', async () => {
    const dst = path.join(ctx.share, 'bench-write-smbfuse');
    const m = await ctx.mountSmbfuse();
    try {
      const c0 = cpuSecs(m.pid);
      const r = await dd(path.join(m.mnt, 'bench-write-smbfuse'));
      const c1 = cpuSecs(m.pid);
      checkSize(dst, bytes, 'smbfuse'); // after fsync and close, before unmount
      rs.set('write', 'smbfuse', mbps(bytes, r.secs));
      rs.set('cpu-write', 'smbfuse', (c1 - c0) / (bytes / GiB));
      rs.set('rss-write', 'smbfuse', peakRssMiB(m.pid));
    } finally {
      await ctx.unmount(m);
      rmSync(dst, { force: true });
    }
  });

  await rs.attempt(['write', 'cpu-write', 'rss-write'], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', '0']);
    try {
      const c0 = cpuSecs(m.pid);
      const r = await dd(path.join(m.mnt, 'big'));
      const c1 = cpuSecs(m.pid);
      rs.set('write', 'fuse-null', mbps(bytes, r.secs));
      rs.set('cpu-write', 'fuse-null', (c1 - c0) / (bytes / GiB));
      rs.set('rss-write', 'fuse-null', peakRssMiB(m.pid));
    } finally { await ctx.unmount(m); }
  });

  for (const [col, dir] of [['local', ctx.local], ['other', o.otherWork]]) {
    if (!dir) continue;
    await rs.attempt(['write'], col, async () => {
      const f = path.join(dir, 'bench-write');
      try {
        rs.set('write', col, mbps(bytes, (await dd(f)).secs));
      } finally { rmSync(f, { force: true }); }
    });
  }
  return rs.rows;
}

export async function readGroup(ctx, o) {
  const bytes = o.sizeMiB * MiB;
  const rs = new RowSet('read', [
    { id: 'read-cold', label: `read ${o.sizeMiB} MiB, fresh mount (cold)`, unit: 'MB/s', better: 'higher' },
    { id: 'read-warm', label: 'same file again after close (warm)', unit: 'MB/s', better: 'higher' },
    { id: 'cpu-read', label: 'daemon CPU per GiB read (cold)', unit: 's/GiB', better: 'lower' },
    { id: 'rss-read', label: 'daemon peak RSS (VmHWM), read', unit: 'MiB', better: 'lower' },
  ]);
  const dd = (file) => sh(`dd if=${q(file)} of=/dev/null bs=1M status=none`, { timeoutS: ioTimeout(o.sizeMiB) });
  // Drops FILE's pages from the kernel page cache (posix_fadvise DONTNEED): this file only.
  const dropCache = (file) => sh(`dd if=${q(file)} iflag=nocache count=0 status=none`, { timeoutS: 30 });
  const local = await ensureBig(ctx.local, o.sizeMiB);
  const served = await ensureBig(ctx.share, o.sizeMiB, local);
  // Cold for the client, warm for the server: every client reads from Samba's page cache.
  await sh(`cat ${q(served)} > /dev/null`, { timeoutS: 120 });
  rs.note('cpu-read', 'smbclient: its own process; fuse-null: its daemon');
  rs.note('read-cold', 'server page cache warm; local: the file dropped from the page cache first (dd iflag=nocache)');

  await rs.attempt(['read-cold', 'cpu-read'], 'smbclient', async () => {
    const r = await sh(ctx.smbclientScript('get bench-big /dev/null'), { timeoutS: ioTimeout(o.sizeMiB) });
    rs.set('read-cold', 'smbclient', mbps(bytes, r.secs));
    rs.set('cpu-read', 'smbclient', r.cpu / (bytes / GiB));
  });

  const daemon = async (col, m, file) => {
    try {
      const c0 = cpuSecs(m.pid);
      rs.set('read-cold', col, mbps(bytes, (await dd(file)).secs));
      const c1 = cpuSecs(m.pid);
      rs.set('cpu-read', col, (c1 - c0) / (bytes / GiB));
      rs.set('read-warm', col, mbps(bytes, (await dd(file)).secs));
      rs.set('rss-read', col, peakRssMiB(m.pid));
    } finally { await ctx.unmount(m); }
  };
  await rs.attempt(['read-cold', 'read-warm', 'cpu-read', 'rss-read'], 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse();
    await daemon('smbfuse', m, path.join(m.mnt, 'bench-big'));
  });
  await rs.attempt(['read-cold', 'read-warm', 'cpu-read', 'rss-read'], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', String(bytes)]);
    await daemon('fuse-null', m, path.join(m.mnt, 'big'));
  });

  for (const [col, dir] of [['local', ctx.local], ['other', o.otherWork]]) {
    if (!dir) continue;
    await rs.attempt(['read-cold', 'read-warm'], col, async () => {
      const f = await ensureBig(dir, o.sizeMiB, local);
      await dropCache(f);
      rs.set('read-cold', col, mbps(bytes, (await dd(f)).secs));
      rs.set('read-warm', col, mbps(bytes, (await dd(f)).secs));
    });
  }
  if (o.otherWork) rs.note('read-cold', "other: its client's own caches are not dropped");
  return rs.rows;
}

export async function fioGroup(ctx, o) {
  const bytes = o.sizeMiB * MiB;
  const rs = new RowSet('fio', [
    { id: 'fio-qd1', label: 'fio 4 KiB randread direct=1, depth 1', unit: 'IOPS', better: 'higher' },
    { id: 'fio-qd16', label: 'fio 4 KiB randread direct=1, depth 16', unit: 'IOPS', better: 'higher' },
    { id: 'fio-server-cpu', label: 'server (smbd) CPU per 4 KiB READ, depth 16', unit: 'us', better: 'lower' },
  ]);
  // The Samba whose CPU the last row counts: the bench's own, or SMB_DIR's.
  const serverDir = ctx.ownSamba ?? process.env.SMB_DIR ?? null;
  /** The IOPS `runIt` resolves to (a run of o.fioSecs); at depth 16, also the server's CPU per READ over that run. */
  const measured = async (col, depth, runIt) => {
    const cpu0 = serverDir ? serverCpuSecs(serverDir) : 0;
    const iops = await runIt();
    // A client that has ended (transport-reads) leaves its server process's CPU to the parent's reaping.
    if (col === 'transport') await sleep(500);
    if (depth === 16 && serverDir && col !== 'fuse-null' && col !== 'local') {
      rs.set('fio-server-cpu', col, ((serverCpuSecs(serverDir) - cpu0) / (iops * o.fioSecs)) * 1e6);
    }
    return iops;
  };
  const fio = async (file, depth) => {
    const r = await sh(`fio --name=rr --filename=${q(file)} --readonly --rw=randread --bs=4k --direct=1 --ioengine=libaio` +
      ` --iodepth=${depth} --size=${bytes} --runtime=${o.fioSecs} --time_based --output-format=json`, { timeoutS: o.fioSecs + 60 });
    const job = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs?.[0];
    if (!job || job.error) throw new Error(`fio reported error ${job?.error}`);
    return job.read.iops;
  };
  const both = async (col, file) => {
    for (const [id, depth] of [['fio-qd1', 1], ['fio-qd16', 16]]) rs.set(id, col, await measured(col, depth, () => fio(file, depth)));
  };
  const local = await ensureBig(ctx.local, o.sizeMiB);
  await ensureBig(ctx.share, o.sizeMiB, local);
  rs.note('fio-qd1', `${o.fioSecs} s per run over the ${o.sizeMiB} MiB file, ioengine=libaio; smbfuse may answer repeated blocks from its own page cache (cache_size)`);
  rs.note('fio-qd1', 'transport: the same READs through smbfuse\'s SMB transport alone, no FUSE (scripts/bench/transport-reads.mjs): the floor the server and protocol set');

  await rs.attempt(['fio-qd1', 'fio-qd16', 'fio-server-cpu'], 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse();
    try { await both('smbfuse', path.join(m.mnt, 'bench-big')); } finally { await ctx.unmount(m); }
  });
  await rs.attempt(['fio-qd1', 'fio-qd16', 'fio-server-cpu'], 'transport', async () => {
    const dist = path.resolve(path.dirname(ctx.main), '..');
    for (const [id, depth] of [['fio-qd1', 1], ['fio-qd16', 16]]) {
      rs.set(id, 'transport', await measured('transport', depth, async () => {
        const r = await sh(`node ${q(TRANSPORT_READS)} ${q(dist)} ${q(ctx.creds)} ${q(ctx.host)} ${ctx.port} bench-big ${depth} ${o.fioSecs}`, { timeoutS: o.fioSecs + 60 });
        return Number(r.stdout.trim());
      }));
    }
  });
  await rs.attempt(['fio-qd1', 'fio-qd16'], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', String(bytes)]);
    try { await both('fuse-null', path.join(m.mnt, 'big')); } finally { await ctx.unmount(m); }
  });
  await rs.attempt(['fio-qd1', 'fio-qd16'], 'local', () => both('local', local));
  if (o.otherWork) {
    await rs.attempt(['fio-qd1', 'fio-qd16', 'fio-server-cpu'], 'other', async () => both('other', await ensureBig(o.otherWork, o.sizeMiB, local)));
  }
  return rs.rows;
}

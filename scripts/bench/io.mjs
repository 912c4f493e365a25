// Rows of the data path: sequential write and read (cold and warm), the
// daemon's CPU per GiB and peak RSS, and fio 4 KiB random reads.
import { statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { q, sh, cpuSecs, peakRssMiB, serverCpuSecs, sleep, machineCpu, prefault } from './proc.mjs';
import { RowSet, MiB, GiB, mbps } from './rowset.mjs';
import { ensureBig } from './data.mjs';

const TRANSPORT_READS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'transport-reads.mjs');

/** The command running transport-reads.mjs of the build measured on bench-big, DEPTH READs in flight, MODE: seconds or seq:BYTES. */
function transportReads(ctx, depth, mode) {
  const dist = path.resolve(path.dirname(ctx.main), '..');
  return `node ${q(TRANSPORT_READS)} ${q(dist)} ${q(ctx.creds)} ${q(ctx.host)} ${ctx.port} bench-big ${depth} ${mode}`;
}

/** Fails unless FILE (seen on the server side) holds BYTES bytes. */
function checkSize(file, bytes, who) {
  const got = statSync(file).size;
  if (got !== bytes) throw new Error(`${who}: ${file} has ${got} bytes on the server, expected ${bytes}`);
}

/** Bound for moving SIZE_MIB through the slowest client we expect (5 MB/s). */
const ioTimeout = (sizeMiB) => 60 + Math.ceil(sizeMiB / 5);

/**
 * One client's timed bulk step: STEP() (resolving { secs, ... }) run right
 * after COPIES times the data, and a quarter more, of fresh memory was
 * touched (prefault), so every client meets the same memory whatever ran
 * before it. COPIES: the page caches the step fills with the data (a write
 * fills the client's and the server's). The result gains `busy`, the whole
 * machine's CPU seconds across the step, and `cores`, unless the step
 * measured those itself, closer to its work (transport-reads.mjs).
 */
async function bulk(o, step, copies = 1) {
  await prefault(o.sizeMiB * (copies + 0.25));
  const c0 = machineCpu();
  const r = await step();
  const c1 = machineCpu();
  return { busy: c1.busy - c0.busy, cores: c1.cores, ...r };
}

/** The Samba whose CPU the server rows count: the bench's own, or SMB_DIR's; null if neither. */
const serverDirOf = (ctx) => ctx.ownSamba ?? process.env.SMB_DIR ?? null;

/** Whether COLUMN's client talks to the bench's Samba (fuse-null and local disk do not). */
const usesServer = (column) => column !== 'fuse-null' && column !== 'local';

/**
 * STEP() of COLUMN with the server's CPU seconds across it added as `server`
 * (when the bench knows its Samba and the column's client talks to it). A
 * client whose connection ended with the step (smbclient, transport-reads)
 * leaves its smbd's CPU to the parent's reaping: half a second is given for
 * that.
 */
async function withServerCpu(ctx, column, step) {
  const dir = usesServer(column) ? serverDirOf(ctx) : null;
  if (!dir) return step();
  const s0 = serverCpuSecs(dir);
  const r = await step();
  await sleep(500);
  return { ...r, server: serverCpuSecs(dir) - s0 };
}

/** Row ID of COLUMN: the server's CPU per GiB of a withServerCpu() result moving BYTES. */
function setServerCpu(rs, id, column, r, bytes) {
  if (r.server !== undefined) rs.set(id, column, r.server / (bytes / GiB));
}

/** Rows BUSY and CEILING of COLUMN from a bulk() result moving BYTES. */
function setCpuBound(rs, [busyId, ceilingId], column, r, bytes) {
  rs.set(busyId, column, r.busy / (bytes / GiB));
  if (r.busy > 0) rs.set(ceilingId, column, mbps(bytes, r.busy / r.cores));
}

export async function writeGroup(ctx, o) {
  const bytes = o.sizeMiB * MiB;
  const rs = new RowSet('write', [
    { id: 'write', label: `write ${o.sizeMiB} MiB, dd bs=1M conv=fsync`, unit: 'MB/s', better: 'higher' },
    { id: 'cpu-write', label: 'daemon CPU per GiB written', unit: 's/GiB', better: 'lower' },
    { id: 'rss-write', label: 'daemon peak RSS (VmHWM), write', unit: 'MiB', better: 'lower' },
    { id: 'server-write', label: 'server (smbd) CPU per GiB written', unit: 's/GiB', better: 'lower' },
    { id: 'busy-write', label: 'machine CPU per GiB written, all processes', unit: 's/GiB', better: 'lower' },
    { id: 'ceiling-write', label: 'CPU ceiling of the write: cores / that', unit: 'MB/s', better: 'higher' },
  ]);
  const cpuRows = ['busy-write', 'ceiling-write'];
  const dd = (file) => sh(`dd if=/dev/zero of=${q(file)} bs=1M count=${o.sizeMiB} conv=fsync status=none`, { timeoutS: ioTimeout(o.sizeMiB) });
  const src = await ensureBig(ctx.local, o.sizeMiB);
  await sh(`cat ${q(src)} > /dev/null`, { timeoutS: 120 });
  rs.note('write', 'smbclient: put of a local file (page cache warm), no FLUSH; others: dd from /dev/zero with fsync');
  rs.note('server-write', 'every smbd process of the server, reaped children included; smbfuse: its FLUSH (the server\'s fsync) too');
  rs.note('busy-write', 'busy time of every core (client, server, writer, kernel) across the timed step; each step follows a touch of fresh memory (see scripts/bench/proc.mjs, prefault)');

  await rs.attempt(['write', 'cpu-write', 'server-write', ...cpuRows], 'smbclient', async () => {
    const dst = path.join(ctx.share, 'bench-write-smbclient');
    try {
      const r = await withServerCpu(ctx, 'smbclient', () => bulk(o, () => sh(ctx.smbclientScript(`put ${src} bench-write-smbclient`), { timeoutS: ioTimeout(o.sizeMiB) }), 2));
      checkSize(dst, bytes, 'smbclient');
      rs.set('write', 'smbclient', mbps(bytes, r.secs));
      rs.set('cpu-write', 'smbclient', r.cpu / (bytes / GiB));
      setServerCpu(rs, 'server-write', 'smbclient', r, bytes);
      setCpuBound(rs, cpuRows, 'smbclient', r, bytes);
    } finally { rmSync(dst, { force: true }); }
  });

  await rs.attempt(['write', 'cpu-write', 'server-write', 'rss-write', ...cpuRows], 'smbfuse', async () => {
    const dst = path.join(ctx.share, 'bench-write-smbfuse');
    const m = await ctx.mountSmbfuse();
    try {
      const c0 = cpuSecs(m.pid); // the touch runs in a process of its own
      const r = await withServerCpu(ctx, 'smbfuse', () => bulk(o, () => dd(path.join(m.mnt, 'bench-write-smbfuse')), 2));
      const c1 = cpuSecs(m.pid);
      checkSize(dst, bytes, 'smbfuse'); // after fsync and close, before unmount
      rs.set('write', 'smbfuse', mbps(bytes, r.secs));
      rs.set('cpu-write', 'smbfuse', (c1 - c0) / (bytes / GiB));
      setServerCpu(rs, 'server-write', 'smbfuse', r, bytes);
      setCpuBound(rs, cpuRows, 'smbfuse', r, bytes);
      rs.set('rss-write', 'smbfuse', peakRssMiB(m.pid));
    } finally {
      await ctx.unmount(m);
      rmSync(dst, { force: true });
    }
  });

  await rs.attempt(['write', 'cpu-write', 'rss-write', ...cpuRows], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', '0']);
    try {
      const c0 = cpuSecs(m.pid); // the touch runs in a process of its own
      const r = await bulk(o, () => dd(path.join(m.mnt, 'big')), 2);
      const c1 = cpuSecs(m.pid);
      rs.set('write', 'fuse-null', mbps(bytes, r.secs));
      rs.set('cpu-write', 'fuse-null', (c1 - c0) / (bytes / GiB));
      setCpuBound(rs, cpuRows, 'fuse-null', r, bytes);
      rs.set('rss-write', 'fuse-null', peakRssMiB(m.pid));
    } finally { await ctx.unmount(m); }
  });

  for (const [col, dir] of [['local', ctx.local], ['other', o.otherWork]]) {
    if (!dir) continue;
    await rs.attempt(['write', 'server-write', ...cpuRows], col, async () => {
      const f = path.join(dir, 'bench-write');
      try {
        const r = await withServerCpu(ctx, col, () => bulk(o, () => dd(f), 2));
        rs.set('write', col, mbps(bytes, r.secs));
        setServerCpu(rs, 'server-write', col, r, bytes);
        setCpuBound(rs, cpuRows, col, r, bytes);
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
    { id: 'server-read', label: 'server (smbd) CPU per GiB read (cold)', unit: 's/GiB', better: 'lower' },
    { id: 'busy-read', label: 'machine CPU per GiB read (cold), all processes', unit: 's/GiB', better: 'lower' },
    { id: 'ceiling-read', label: 'CPU ceiling of the cold read: cores / that', unit: 'MB/s', better: 'higher' },
  ]);
  const cpuRows = ['busy-read', 'ceiling-read'];
  const dd = (file) => sh(`dd if=${q(file)} of=/dev/null bs=1M status=none`, { timeoutS: ioTimeout(o.sizeMiB) });
  // Drops FILE's pages from the kernel page cache (posix_fadvise DONTNEED): this file only.
  const dropCache = (file) => sh(`dd if=${q(file)} iflag=nocache count=0 status=none`, { timeoutS: 30 });
  const local = await ensureBig(ctx.local, o.sizeMiB);
  const served = await ensureBig(ctx.share, o.sizeMiB, local);
  // Cold for the client, warm for the server: every client reads from Samba's page cache.
  await sh(`cat ${q(served)} > /dev/null`, { timeoutS: 120 });
  rs.note('cpu-read', 'smbclient, transport: its own process; fuse-null: its daemon');
  rs.note('read-cold', 'server page cache warm; local: the file dropped from the page cache first (dd iflag=nocache)');
  rs.note('server-read', 'every smbd process of the server, reaped children included');
  rs.note('busy-read', 'busy time of every core (client, server, reader, kernel) across the timed step; each step follows a touch of fresh memory (see scripts/bench/proc.mjs, prefault)');

  await rs.attempt(['read-cold', 'cpu-read', 'server-read', ...cpuRows], 'smbclient', async () => {
    const r = await withServerCpu(ctx, 'smbclient', () => bulk(o, () => sh(ctx.smbclientScript('get bench-big /dev/null'), { timeoutS: ioTimeout(o.sizeMiB) })));
    rs.set('read-cold', 'smbclient', mbps(bytes, r.secs));
    rs.set('cpu-read', 'smbclient', r.cpu / (bytes / GiB));
    setServerCpu(rs, 'server-read', 'smbclient', r, bytes);
    setCpuBound(rs, cpuRows, 'smbclient', r, bytes);
  });

  // The mount's own READ size and window (rsize=4M, readahead=8M: two in flight), no FUSE.
  rs.note('read-cold', 'transport: the file read start to end through smbfuse\'s SMB transport alone, 4 MiB READs, two in flight (the mount\'s defaults), no FUSE (scripts/bench/transport-reads.mjs)');
  await rs.attempt(['read-cold', 'cpu-read', 'server-read', ...cpuRows], 'transport', async () => {
    const r = await withServerCpu(ctx, 'transport', () => bulk(o, async () => JSON.parse((await sh(transportReads(ctx, 2, `seq:${4 * MiB}`), { timeoutS: ioTimeout(o.sizeMiB) })).stdout)));
    rs.set('read-cold', 'transport', mbps(bytes, r.secs));
    rs.set('cpu-read', 'transport', r.cpu / (bytes / GiB));
    setServerCpu(rs, 'server-read', 'transport', r, bytes);
    setCpuBound(rs, cpuRows, 'transport', r, bytes);
  });

  const daemon = async (col, m, file) => {
    try {
      const c0 = cpuSecs(m.pid);
      const r = await withServerCpu(ctx, col, () => bulk(o, () => dd(file)));
      const c1 = cpuSecs(m.pid);
      rs.set('read-cold', col, mbps(bytes, r.secs));
      rs.set('cpu-read', col, (c1 - c0) / (bytes / GiB));
      setServerCpu(rs, 'server-read', col, r, bytes);
      setCpuBound(rs, cpuRows, col, r, bytes);
      rs.set('read-warm', col, mbps(bytes, (await dd(file)).secs));
      rs.set('rss-read', col, peakRssMiB(m.pid));
    } finally { await ctx.unmount(m); }
  };
  await rs.attempt(['read-cold', 'read-warm', 'cpu-read', 'server-read', 'rss-read', ...cpuRows], 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse();
    await daemon('smbfuse', m, path.join(m.mnt, 'bench-big'));
  });
  await rs.attempt(['read-cold', 'read-warm', 'cpu-read', 'rss-read', ...cpuRows], 'fuse-null', async () => {
    const m = await ctx.mountNull(['--size', String(bytes)]);
    await daemon('fuse-null', m, path.join(m.mnt, 'big'));
  });

  for (const [col, dir] of [['local', ctx.local], ['other', o.otherWork]]) {
    if (!dir) continue;
    await rs.attempt(['read-cold', 'read-warm', 'server-read', ...cpuRows], col, async () => {
      const f = await ensureBig(dir, o.sizeMiB, local);
      await dropCache(f);
      const r = await withServerCpu(ctx, col, () => bulk(o, () => dd(f)));
      rs.set('read-cold', col, mbps(bytes, r.secs));
      setServerCpu(rs, 'server-read', col, r, bytes);
      setCpuBound(rs, cpuRows, col, r, bytes);
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
  /** The IOPS `runIt` resolves to (a run of o.fioSecs); at depth 16, also the server's CPU per READ over that run. */
  const measured = async (col, depth, runIt) => {
    if (depth !== 16) return runIt();
    const r = await withServerCpu(ctx, col, async () => ({ iops: await runIt() }));
    if (r.server !== undefined) rs.set('fio-server-cpu', col, (r.server / (r.iops * o.fioSecs)) * 1e6);
    return r.iops;
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
    for (const [id, depth] of [['fio-qd1', 1], ['fio-qd16', 16]]) {
      rs.set(id, 'transport', await measured('transport', depth, async () => {
        const r = await sh(transportReads(ctx, depth, o.fioSecs), { timeoutS: o.fioSecs + 60 });
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

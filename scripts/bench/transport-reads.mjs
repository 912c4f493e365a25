#!/usr/bin/env node
// usage: node transport-reads.mjs DIST CREDS HOST PORT NAME DEPTH SECS
//        node transport-reads.mjs DIST CREDS HOST PORT NAME DEPTH seq:BYTES
// READs of NAME on //HOST/test through smbfuse's transport alone (DIST: a
// build's dist/ directory), DEPTH of them in flight. No FUSE, no page cache:
// what the server and the protocol allow before the mount adds its part, the
// floor the fio and cold-read rows are measured against. CREDS holds
// username=/password= lines (never the command line).
//  - SECS: 4 KiB READs at random 4 KiB-aligned offsets for SECS seconds;
//    prints the READs per second.
//  - seq:BYTES: the whole file once, start to end, in READs of BYTES; prints
//    JSON { secs, cpu, busy, cores }: the loop's wall seconds, this process's
//    CPU seconds over it, and the machine's (proc.mjs machineCpu) over it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineCpu } from './proc.mjs';

const [dist, creds, host, port, name, depthArg, modeArg] = process.argv.slice(2);
const depth = Number(depthArg);
const seqBytes = /^seq:\d+$/.test(modeArg ?? '') ? Number(modeArg.slice(4)) : 0;
const secs = seqBytes ? 0 : Number(modeArg);
if (!dist || !creds || !host || !(Number(port) > 0) || !name || !(depth >= 1) || !(secs > 0 || seqBytes >= 4096)) {
  console.error('usage: node transport-reads.mjs DIST CREDS HOST PORT NAME DEPTH SECS|seq:BYTES');
  process.exit(2);
}
const field = (k) => new RegExp(`^${k}=(.*)$`, 'm').exec(readFileSync(creds, 'utf8'))?.[1] ?? '';
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { connect } = await load('transport/index.js');
const { Bvecq, BvecqPos } = await load('netfs/bvecq.js');

/** `depth` readers, each READing `len` bytes at offsets from `next()` into its own buffer until it says null; resolves the READs done. */
async function readers(tree, fileId, len, next, expect) {
  let done = 0;
  const reader = async () => {
    const chain = Bvecq.fromBuffers([Buffer.alloc(len)], 0);
    for (let off = next(); off !== null; off = next()) {
      const got = await tree.read(fileId, off, expect(off), new BvecqPos(chain, chain.head, 0, 0));
      if (got !== expect(off)) throw new Error(`READ at ${off} returned ${got} bytes, expected ${expect(off)}`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: depth }, reader));
  return done;
}

const client = await connect({ host, port: Number(port), username: field('username'), password: field('password'), domain: '', guest: false, timeoutMs: 20000 });
try {
  const tree = await client.treeConnect('test');
  const o = await tree.create(name, { access: 'read', disposition: 'open' });
  const size = o.stat.size;
  if (seqBytes) {
    let at = 0;
    const next = () => (at < size ? (at += seqBytes) - seqBytes : null);
    const m0 = machineCpu();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await readers(tree, o.fileId, seqBytes, next, (off) => Math.min(seqBytes, size - off));
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const m1 = machineCpu();
    console.log(JSON.stringify({ secs: wall, cpu: (c.user + c.system) / 1e6, busy: m1.busy - m0.busy, cores: m1.cores }));
  } else {
    const blocks = Math.floor(size / 4096);
    if (blocks < 1) throw new Error(`${name} holds less than 4 KiB`);
    const end = Date.now() + secs * 1000;
    const next = () => (Date.now() < end ? Math.floor(Math.random() * blocks) * 4096 : null);
    const t0 = process.hrtime.bigint();
    const done = await readers(tree, o.fileId, 4096, next, () => 4096);
    console.log((done / (Number(process.hrtime.bigint() - t0) / 1e9)).toFixed(0));
  }
  await tree.close(o.fileId);
} finally {
  await client.close();
}

#!/usr/bin/env node
// usage: node transport-reads.mjs DIST CREDS HOST PORT NAME DEPTH SECS
// 4 KiB READs at random 4 KiB-aligned offsets of NAME on //HOST/test through
// smbfuse's transport alone (DIST: a build's dist/ directory), DEPTH of them
// in flight, for SECS seconds; prints the READs per second. No FUSE, no page
// cache: what the server and the protocol allow before the mount adds its
// part, the floor the fio rows are measured against. CREDS holds
// username=/password= lines (never the command line).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, creds, host, port, name, depthArg, secsArg] = process.argv.slice(2);
const depth = Number(depthArg);
const secs = Number(secsArg);
if (!dist || !creds || !host || !(Number(port) > 0) || !name || !(depth >= 1) || !(secs > 0)) {
  console.error('usage: node transport-reads.mjs DIST CREDS HOST PORT NAME DEPTH SECS');
  process.exit(2);
}
const field = (k) => new RegExp(`^${k}=(.*)$`, 'm').exec(readFileSync(creds, 'utf8'))?.[1] ?? '';
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { connect } = await load('transport/index.js');
const { Bvecq, BvecqPos } = await load('netfs/bvecq.js');

const client = await connect({ host, port: Number(port), username: field('username'), password: field('password'), domain: '', guest: false, timeoutMs: 20000 });
try {
  const tree = await client.treeConnect('test');
  const o = await tree.create(name, { access: 'read', disposition: 'open' });
  const blocks = Math.floor(o.stat.size / 4096);
  if (blocks < 1) throw new Error(`${name} holds less than 4 KiB`);
  let done = 0;
  const end = Date.now() + secs * 1000;
  const reader = async () => {
    const chain = Bvecq.fromBuffers([Buffer.alloc(4096)], 0);
    while (Date.now() < end) {
      const got = await tree.read(o.fileId, Math.floor(Math.random() * blocks) * 4096, 4096, new BvecqPos(chain, chain.head, 0, 0));
      if (got !== 4096) throw new Error(`READ returned ${got} bytes`);
      done++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: depth }, reader));
  console.log((done / (Number(process.hrtime.bigint() - t0) / 1e9)).toFixed(0));
  await tree.close(o.fileId);
} finally {
  await client.close();
}

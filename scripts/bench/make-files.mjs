#!/usr/bin/env node
// usage: node make-files.mjs DIR N SIZE
// Writes N files of SIZE random bytes into DIR (which must exist) from this one
// process (writeFileSync per file: open O_CREAT|O_TRUNC, write, close) and
// prints the seconds the loop took, node's start-up left out.
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const [dir, n, size] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
if (!dir || !(n > 0) || !(size >= 0)) {
  console.error('usage: node make-files.mjs DIR N SIZE');
  process.exit(2);
}
const data = randomBytes(n * size);
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) writeFileSync(`${dir}/f${String(i).padStart(5, '0')}`, data.subarray(i * size, (i + 1) * size));
console.log((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(4));

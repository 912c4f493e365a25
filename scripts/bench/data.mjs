// Test data kept in BENCH_DIR between runs, so it is made once: the big file
// (share and local copy), the 10,000-entry directory, the source-tree tarball.
import { existsSync, statSync, readdirSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { log, q, sh } from './proc.mjs';
import { MiB } from './rowset.mjs';

const sizeOf = (f) => (existsSync(f) ? statSync(f).size : -1);

/** DIR/bench-big with SIZE_MIB MiB of random bytes, made (through DIR's filesystem) when missing or of another size. */
export async function ensureBig(dir, sizeMiB, from) {
  const f = path.join(dir, 'bench-big');
  if (sizeOf(f) === sizeMiB * MiB) return f;
  log(`creating ${f} (${sizeMiB} MiB)`);
  const src = from && sizeOf(from) === sizeMiB * MiB ? `cat ${q(from)}` : `head -c ${sizeMiB * MiB} /dev/urandom`;
  await sh(`${src} > ${q(f)}.tmp && mv ${q(f)}.tmp ${q(f)}`, { timeoutS: 120 + sizeMiB / 4 });
  return f;
}

export const ENTRY_NAME = (i) => `entry-${String(i).padStart(5, '0')}.txt`;

/** DIR/bench-ls<N>: N empty files named entry-00001.txt…, made when missing or incomplete. */
export async function ensureListing(dir, n) {
  const d = path.join(dir, `bench-ls${n}`);
  if (existsSync(d) && readdirSync(d).length === n) return d;
  log(`creating ${d} (${n} entries)`);
  await sh(`rm -rf ${q(d)} ${q(d)}.tmp && mkdir ${q(d)}.tmp && cd ${q(d)}.tmp && seq -f 'entry-%05g.txt' ${n} | xargs touch && cd .. && mv ${q(d)}.tmp ${q(d)}`,
    { timeoutS: 600 });
  return d;
}

/**
 * The source tree as DATA_DIR/tree.tar plus its sha256sum manifest: made once
 * with scripts/make-test-tree.mjs (--files 10: ~3000 files, ~66 MB with the
 * 64 MiB file). Returns { tar, manifest, files, bytes }.
 */
export async function ensureTree(root, dataDir) {
  const tar = path.join(dataDir, 'tree.tar');
  const manifest = path.join(dataDir, 'tree.sha256');
  if (!existsSync(tar) || !existsSync(manifest)) {
    const src = path.join(dataDir, 'tree-src');
    log(`creating the source tree ${tar}`);
    mkdirSync(dataDir, { recursive: true });
    await sh(`rm -rf ${q(src)} && node ${q(path.join(root, 'scripts/make-test-tree.mjs'))} ${q(src)} --files 10 --manifest ${q(manifest)} >/dev/null` +
      ` && tar cf ${q(tar)}.tmp -C ${q(src)} . && mv ${q(tar)}.tmp ${q(tar)} && rm -rf ${q(src)}`, { timeoutS: 300 });
  }
  const { stdout } = await sh(`wc -l < ${q(manifest)}`, { timeoutS: 10 });
  return { tar, manifest, files: Number(stdout.trim()), bytes: statSync(tar).size };
}

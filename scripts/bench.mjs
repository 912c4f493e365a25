#!/usr/bin/env node
// npm run bench: the whole benchmark suite in one run, one table.
//
// Every figure of smbfuse stands beside the same figure for its peers where the
// operation exists: smbclient on the same server, the do-nothing fuse-native
// filesystem (scripts/fuse-null.mjs, the FUSE binding's floor), local disk, and
// with --other DIR a second client's mount. Ratios are smbfuse's speed relative
// to each peer (below 1: smbfuse is behind). A private Samba on loopback is
// started in BENCH_DIR (kept between runs, so the test data is made once) and
// stopped at the end; every step has a timeout. Rows and options: --help and
// README.md ("Benchmarks"). Progress goes to stderr, the table to stdout.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseOptions, USAGE } from './bench/options.mjs';
import { formatTable, toJson } from './bench/table.mjs';
import { Context } from './bench/context.mjs';
import { RowSet } from './bench/rowset.mjs';
import { log, q, sh } from './bench/proc.mjs';
import { writeGroup, readGroup, fioGroup } from './bench/io.mjs';
import { filesGroup, lsGroup, dbenchGroup } from './bench/meta.mjs';
import { treeGroup } from './bench/tree.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNNERS = { write: writeGroup, read: readGroup, fio: fioGroup, files: filesGroup, ls: lsGroup, dbench: dbenchGroup, tree: treeGroup };
// Programs each group needs besides node and coreutils.
const NEEDS = { fio: ['fio'], dbench: ['dbench'], tree: ['git', 'tar', 'sha256sum'] };

const have = (prog) => {
  try { execFileSync('bash', ['-c', `command -v ${prog}`], { stdio: 'ignore', timeout: 10_000 }); return true; } catch { return false; }
};

/** The commit of the tree MAIN was built from, '-dirty' when it has changes. */
function commitOf(main) {
  try {
    const dir = path.dirname(main);
    const id = execFileSync('git', ['-C', dir, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', timeout: 10_000 }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', timeout: 30_000 }).trim();
    return dirty ? `${id}-dirty` : id;
  } catch {
    return 'unknown';
  }
}

/**
 * One row: the highest peak RSS (VmHWM) of the smbfuse daemons of this run,
 * each read just before its unmount; its note gives the highest per group.
 * The issue's bound is cache_size + 100 MiB under every row, not only those
 * with a memory row of their own.
 */
function peakRssRows(peaks) {
  if (peaks.length === 0) return [];
  const rs = new RowSet('memory', [{ id: 'rss-peak', label: 'daemon peak RSS (VmHWM), highest of every mount', unit: 'MiB', better: 'lower' }]);
  rs.set('rss-peak', 'smbfuse', Math.max(...peaks.map((p) => p.mib)));
  const byGroup = new Map();
  for (const p of peaks) byGroup.set(p.group, Math.max(byGroup.get(p.group) ?? 0, p.mib));
  rs.note('rss-peak', `${peaks.length} mounts; highest per group: ${[...byGroup].map(([g, m]) => `${g} ${m.toFixed(0)}`).join(', ')} MiB`);
  return rs.rows;
}

async function main() {
  const o = parseOptions(process.argv.slice(2), process.env);
  if (o.help) { console.log(USAGE); return 0; }
  const mainJs = path.resolve(process.env.SMBFUSE_MAIN ?? path.join(ROOT, 'dist/src/main.js'));
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing (build with: npx tsc -p .)`);
  for (const prog of ['smbclient', 'fusermount', ...o.groups.flatMap((g) => NEEDS[g] ?? [])]) {
    if (!have(prog)) throw new Error(`${prog} is missing (Debian: apt-get install ${prog === 'fusermount' ? 'fuse' : prog}); or leave its rows out with --rows`);
  }
  if (o.other && !(existsSync(o.other) && statSync(o.other).isDirectory())) throw new Error(`--other ${o.other} is not a directory`);

  const ctx = new Context({ root: ROOT, dataDir: path.resolve(process.env.BENCH_DIR ?? '/tmp/smbfuse-bench-all'), main: mainJs });
  let closing = null;
  const close = () => (closing ??= (async () => {
    if (o.otherWork) await sh(`rm -rf ${q(o.otherWork)}`, { timeoutS: 600 }).catch((e) => log(e.message));
    await ctx.close();
  })());
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.on(sig, () => { log(`${sig}: stopping`); close().finally(() => process.exit(code)); });
  }
  const rows = [];
  try {
    await ctx.startServer();
    if (o.other) {
      o.otherWork = path.join(path.resolve(o.other), `smbfuse-bench-${process.pid}`);
      mkdirSync(o.otherWork);
    }
    for (const g of o.groups) {
      log(`--- ${g}`);
      ctx.group = g;
      const t0 = Date.now();
      rows.push(...(await RUNNERS[g](ctx, o)));
      log(`--- ${g} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    await close();
  }
  rows.push(...peakRssRows(ctx.peakRss));
  const shown = o.rowIds ? rows.filter((r) => o.rowIds.includes(r.id)) : rows;
  const meta = { commit: commitOf(mainJs), date: new Date().toISOString(), sizeMiB: o.sizeMiB, main: mainJs, other: o.other };
  const big = o.groups.some((g) => ['write', 'read', 'fio'].includes(g)) ? `, big file ${o.sizeMiB} MiB` : '';
  console.log(`smbfuse bench: ${meta.date}, commit ${meta.commit}${big}, Samba on loopback`);
  console.log(`ratios: smbfuse's speed relative to the peer (^ higher is better, v lower is better; below 1 = smbfuse behind)`);
  for (const line of formatTable(shown)) console.log(line);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(toJson(shown, meta), null, 2)}\n`);
  // Exit 2 when a figure of smbfuse itself could not be measured.
  return shown.some((r) => r.values.smbfuse === null || r.values.smbfuse === undefined) ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => { log(`error: ${e instanceof Error ? e.message : e}`); process.exit(2); },
);

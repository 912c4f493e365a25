// Command line and environment of `npm run bench` (pure: no I/O).

/** Groups of rows, in the order they run; a group is measured as one unit. */
export const GROUPS = {
  write: ['write', 'cpu-write', 'rss-write'],
  read: ['read-cold', 'read-warm', 'cpu-read', 'rss-read'],
  fio: ['fio-qd1', 'fio-qd16'],
  files: ['create-1000', 'create-2000', 'create-1000-again', 'stat-2000', 'rm-2000'],
  ls: ['ls-cold', 'ls-warm'],
  dbench: ['dbench'],
  tree: ['tree-tar-x', 'tree-sha256', 'tree-grep', 'tree-tar-c', 'tree-git', 'tree-rm', 'tree-total'],
};

export const USAGE = `usage: npm run bench -- [--size MIB] [--rows NAME,...] [--other DIR] [--json FILE]
  --size MIB     size of the big file read and written (default BENCH_SIZE_MB, else 1024)
  --rows NAMES   groups (${Object.keys(GROUPS).join(', ')}) or row ids to run (default: all)
  --other DIR    also measure DIR, an already-mounted directory of another client, as a column
  --json FILE    also write the table as JSON (figures, units, ratios, commit, date)
environment: BENCH_SIZE_MB, BENCH_DIR (server and data, default /tmp/smbfuse-bench-all),
  BENCH_FIO_S (fio seconds per run, default 10), BENCH_DBENCH_S (default 30),
  SMBFUSE_MAIN (the CLI to measure, for A/B), SMBFUSE_OPTS (extra -o options),
  SMB_PORT + SMB_SHARE_PATH (+ SMB_HOST, SMB_USER, SMB_PASS): use a running Samba`;

/** A positive integer from text, or an Error naming WHAT. */
function positiveInt(text, what) {
  if (!/^\d+$/.test(text ?? '') || Number(text) < 1) throw new Error(`${what} must be a positive integer, got '${text ?? ''}'`);
  return Number(text);
}

/**
 * Parses ARGV (without node and script) and ENV into
 * { sizeMiB, groups, rowIds (null = all), other, json, fioSecs, dbenchSecs, help }.
 * Throws an Error with one clear line on bad input.
 */
export function parseOptions(argv, env) {
  const o = {
    sizeMiB: env.BENCH_SIZE_MB ? positiveInt(env.BENCH_SIZE_MB, 'BENCH_SIZE_MB') : 1024,
    groups: Object.keys(GROUPS),
    rowIds: null,
    other: null,
    json: null,
    fioSecs: env.BENCH_FIO_S ? positiveInt(env.BENCH_FIO_S, 'BENCH_FIO_S') : 10,
    dbenchSecs: env.BENCH_DBENCH_S ? positiveInt(env.BENCH_DBENCH_S, 'BENCH_DBENCH_S') : 30,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v === '') throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--size') o.sizeMiB = positiveInt(value(), '--size');
    else if (a === '--rows') ({ groups: o.groups, rowIds: o.rowIds } = selectRows(value()));
    else if (a === '--other') o.other = value();
    else if (a === '--json') o.json = value();
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown argument '${a}' (see --help)`);
  }
  return o;
}

/**
 * Resolves a comma list of group names and row ids to the groups to run (in
 * run order) and the row ids to print (null: every row of those groups).
 */
export function selectRows(list) {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('--rows needs at least one name');
  const groups = new Set();
  const ids = new Set();
  let wholeGroupsOnly = true;
  for (const n of names) {
    if (n in GROUPS) {
      groups.add(n);
      for (const id of GROUPS[n]) ids.add(id);
      continue;
    }
    const g = Object.keys(GROUPS).find((k) => GROUPS[k].includes(n));
    if (!g) throw new Error(`unknown row '${n}'; groups: ${Object.keys(GROUPS).join(', ')}; rows: ${Object.values(GROUPS).flat().join(', ')}`);
    groups.add(g);
    ids.add(n);
    wholeGroupsOnly = false;
  }
  return { groups: Object.keys(GROUPS).filter((g) => groups.has(g)), rowIds: wholeGroupsOnly ? null : [...ids] };
}

// The pure part of `npm run bench`: rows of figures, the ratios between them,
// the printed table and the JSON record. No I/O here, so it can be unit-tested.
//
// A row is { id, group, label, unit, better: 'higher'|'lower', values, note? }
// where values maps a column name to a number, to null (measured but failed),
// or leaves the column out (that client has no such operation).

/**
 * The measured client first, then its peers, in the order they are printed.
 * `transport`: smbfuse's own SMB transport without FUSE, where a row measures it.
 */
export const COLUMNS = ['smbfuse', 'other', 'smbclient', 'transport', 'fuse-null', 'local'];
export const PEERS = COLUMNS.slice(1);

/**
 * smbfuse's speed relative to PEER in ROW: smbfuse ÷ peer when higher is better,
 * peer ÷ smbfuse when lower is better, so below 1 always means smbfuse is behind.
 * null when either figure is missing, failed, or zero.
 */
export function relative(row, peer) {
  const a = row.values.smbfuse;
  const b = row.values[peer];
  if (typeof a !== 'number' || typeof b !== 'number' || a <= 0 || b <= 0) return null;
  return row.better === 'higher' ? a / b : b / a;
}

/** Every ratio of ROW, keyed by peer; peers without a figure are left out. */
export function ratios(row) {
  const out = {};
  for (const p of PEERS) {
    const r = relative(row, p);
    if (r !== null) out[p] = r;
  }
  return out;
}

/** A figure with about three significant digits; '-' when the column has none, 'FAIL' when it failed. */
export function formatValue(v) {
  if (v === undefined) return '-';
  if (v === null) return 'FAIL';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/** A ratio with two decimals, '-' when there is none. */
export function formatRatio(r) {
  return r === null || r === undefined ? '-' : r.toFixed(2);
}

/** The columns worth printing: smbfuse always, a peer when some row has a figure (or failure) for it. */
export function usedColumns(rows) {
  return COLUMNS.filter((c) => c === 'smbfuse' || rows.some((r) => c in r.values));
}

/** The table as lines of text, columns padded to their widest cell. */
export function formatTable(rows) {
  const cols = usedColumns(rows);
  const peers = cols.filter((c) => c !== 'smbfuse');
  const head = ['row', 'unit', ...cols, ...peers.map((p) => `x ${p}`)];
  const body = rows.map((r) => [
    r.label,
    `${r.unit} ${r.better === 'higher' ? '^' : 'v'}`,
    ...cols.map((c) => formatValue(r.values[c])),
    ...peers.map((p) => formatRatio(relative(r, p))),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.id}: ${r.note}`);
  if (notes.length) out.push('notes:', ...notes);
  return out;
}

/** The JSON record of a run: figures, units, ratios, and what they were measured on. */
export function toJson(rows, meta) {
  return {
    tool: 'smbfuse npm run bench',
    commit: meta.commit,
    date: meta.date,
    sizeMiB: meta.sizeMiB,
    main: meta.main,
    other: meta.other ?? null,
    ratio: 'smbfuse speed relative to the peer (smbfuse/peer when higher is better, peer/smbfuse when lower is better)',
    rows: rows.map((r) => ({
      id: r.id,
      group: r.group,
      label: r.label,
      unit: r.unit,
      better: r.better,
      values: { ...r.values },
      ratios: ratios(r),
      ...(r.note ? { note: r.note } : {}),
    })),
  };
}

// The pure parts of `npm run bench`: ratios, the printed table, the JSON
// record, option parsing, and the parsers of bash `times` and samba-start.sh
// output. (A .mjs test: the bench is plain JavaScript with no type declarations.)
import t from 'tap';
import { relative, ratios, formatValue, formatTable, toJson, usedColumns } from '../../../scripts/bench/table.mjs';
import { parseOptions, selectRows, GROUPS } from '../../../scripts/bench/options.mjs';
import { parseTimes } from '../../../scripts/bench/proc.mjs';
import { parseAssignments } from '../../../scripts/bench/context.mjs';

const read = { id: 'read-cold', group: 'read', label: 'read cold', unit: 'MB/s', better: 'higher', values: { smbfuse: 50, smbclient: 100, 'fuse-null': 25, local: null } };
const ls = { id: 'ls-cold', group: 'ls', label: 'ls -l', unit: 's', better: 'lower', values: { smbfuse: 2, local: 1 }, note: 'fresh mount' };

t.test('ratios are smbfuse speed relative to the peer in both directions', async (t) => {
  t.equal(relative(read, 'smbclient'), 0.5, 'higher is better: smbfuse / peer');
  t.equal(relative(read, 'fuse-null'), 2, 'faster than the peer: above 1');
  t.equal(relative(ls, 'local'), 0.5, 'lower is better: peer / smbfuse');
  t.equal(relative(read, 'local'), null, 'a failed peer has no ratio');
  t.equal(relative(read, 'other'), null, 'a missing peer has no ratio');
  t.equal(relative({ ...read, values: { smbfuse: 0, smbclient: 3 } }, 'smbclient'), null, 'no ratio to or from zero');
  t.equal(relative({ ...read, values: { smbfuse: null, smbclient: 3 } }, 'smbclient'), null, 'a failed smbfuse has no ratio');
  t.same(ratios(read), { smbclient: 0.5, 'fuse-null': 2 });
});

t.test('figures keep about three significant digits; missing and failed differ', async (t) => {
  t.equal(formatValue(undefined), '-');
  t.equal(formatValue(null), 'FAIL');
  t.equal(formatValue(1234.5), '1235');
  t.equal(formatValue(12.345), '12.3');
  t.equal(formatValue(1.2345), '1.23');
  t.equal(formatValue(0.01234), '0.012');
});

t.test('the table has a column only for peers some row measured, aligned', async (t) => {
  t.same(usedColumns([read, ls]), ['smbfuse', 'smbclient', 'fuse-null', 'local']);
  t.same(usedColumns([ls]), ['smbfuse', 'local']);
  const lines = formatTable([read, ls]);
  const cells = (l) => l.split(/ {2,}/);
  t.same(cells(lines[0]), ['row', 'unit', 'smbfuse', 'smbclient', 'fuse-null', 'local', 'x smbclient', 'x fuse-null', 'x local']);
  t.same(cells(lines[2]), ['read cold', 'MB/s ^', '50.0', '100', '25.0', 'FAIL', '0.50', '2.00', '-']);
  t.same(cells(lines[3]), ['ls -l', 's v', '2.00', '-', '-', '1.00', '-', '-', '0.50']);
  // Right-aligned figures: every row's cell ends where its header ends.
  const end = lines[0].indexOf('smbfuse') + 'smbfuse'.length;
  for (const l of lines.slice(1, 4)) t.match(l.slice(0, end), /\S$/, `aligned: ${l}`);
  t.same(lines.slice(4), ['notes:', '  ls-cold: fresh mount']);
  t.notOk(formatTable([read]).includes('notes:'), 'no notes section without notes');
});

t.test('the JSON record carries figures, units, ratios, commit and date', async (t) => {
  const j = toJson([read, ls], { commit: 'abc123', date: '2026-01-01T00:00:00.000Z', sizeMiB: 256, main: '/x/main.js' });
  t.equal(j.commit, 'abc123');
  t.equal(j.date, '2026-01-01T00:00:00.000Z');
  t.equal(j.sizeMiB, 256);
  t.equal(j.other, null);
  t.equal(j.rows.length, 2);
  t.same(j.rows[0], { id: 'read-cold', group: 'read', label: 'read cold', unit: 'MB/s', better: 'higher',
    values: { smbfuse: 50, smbclient: 100, 'fuse-null': 25, local: null }, ratios: { smbclient: 0.5, 'fuse-null': 2 } });
  t.equal(j.rows[1].note, 'fresh mount');
  t.same(JSON.parse(JSON.stringify(j)), j, 'survives a JSON round trip (null stays null)');
});

t.test('options: size knob, row selection, other, json; bad input is one clear error', async (t) => {
  const d = parseOptions([], {});
  t.equal(d.sizeMiB, 1024);
  t.same(d.groups, Object.keys(GROUPS));
  t.equal(d.rowIds, null);
  t.equal(parseOptions([], { BENCH_SIZE_MB: '256' }).sizeMiB, 256);
  t.equal(parseOptions(['--size', '64'], { BENCH_SIZE_MB: '256' }).sizeMiB, 64, '--size wins over the environment');
  const o = parseOptions(['--rows', 'ls,read-cold', '--other', '/mnt/x', '--json', 'out.json'], {});
  t.same(o.groups, ['read', 'ls'], 'groups in run order');
  t.same(o.rowIds.sort(), ['ls-cold', 'ls-warm', 'read-cold']);
  t.equal(o.other, '/mnt/x');
  t.equal(o.json, 'out.json');
  t.same(selectRows('tree'), { groups: ['tree'], rowIds: null }, 'whole groups print all their rows');
  t.throws(() => parseOptions(['--size', '0'], {}), /--size must be a positive integer/);
  t.throws(() => parseOptions([], { BENCH_SIZE_MB: '1g' }), /BENCH_SIZE_MB must be a positive integer/);
  t.throws(() => parseOptions(['--rows', 'nope'], {}), /unknown row 'nope'/);
  t.throws(() => parseOptions(['--json'], {}), /--json needs a value/);
  t.throws(() => parseOptions(['--bogus'], {}), /unknown argument '--bogus'/);
});

t.test('bash times lines and samba-start.sh assignments are parsed', async (t) => {
  t.equal(parseTimes('0m1.250s 0m0.040s'), 1.29);
  t.equal(parseTimes('1m2.000s 0m0.500s'), 62.5);
  t.equal(parseTimes(''), 0);
  t.same(parseAssignments('SMB_DIR=/tmp/a\\ b\nnoise\nSMB_PORT=4455\nSMB_TEST_URL=smb://u:p@127.0.0.1:4455/test\n'),
    { SMB_DIR: '/tmp/a b', SMB_PORT: '4455', SMB_TEST_URL: 'smb://u:p@127.0.0.1:4455/test' });
});

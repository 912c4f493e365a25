/**
 * The options and paths of logging and statistics: log_file= (made
 * absolute), -d (debug in the foreground), the stats socket path (fixed
 * length, per user, the same for spellings of one mount point), the log
 * destination, and the stats table printed from a snapshot.
 */
import t from 'tap';
import { parseArgs, type ParseEnv } from '../../../src/config.js';
import { defaultLogFile, logDestination } from '../../../src/log-sink.js';
import { formatStats, mountStats } from '../../../src/mount-stats.js';
import { statsSocketDir, statsSocketPath } from '../../../src/stats-socket.js';
import { SmbStats } from '../../../transport/stats.js';
import { PageCache } from '../../../netfs/index.js';

const pe: ParseEnv = { env: {}, readFile: () => '', fileMode: () => 0o100600, cwd: '/home/u', uid: 1000, gid: 1000 };
const mount = (args: string[]) => {
  const r = parseArgs(args, pe);
  if (r.kind !== 'mount') throw new Error('expected mount');
  return r.config;
};

t.test('log_file= and -d', async (t) => {
  t.equal(mount(['//h/s', '/m', '-o', 'password=x,log_file=logs/m.log']).logFile, '/home/u/logs/m.log');
  t.equal(mount(['//h/s', '/m', '-o', 'password=x']).logFile, undefined);
  const d = mount(['//h/s', '/m', '-d', '-o', 'password=x']);
  t.same([d.debug, d.foreground], [true, true]);
  t.throws(() => parseArgs(['//h/s', '/m', '-o', 'password=x,log_file'], pe), { message: "smbfuse: option 'log_file' needs a value" });
});

t.test('where the log goes', async (t) => {
  t.same(logDestination({ logFile: '/x.log', foreground: true }), { kind: 'file', path: '/x.log' });
  t.same(logDestination({ foreground: true }), { kind: 'stderr' });
  t.equal(defaultLogFile(0, {}), '/var/log/smbfuse/smbfuse.log');
  t.equal(defaultLogFile(1000, { XDG_STATE_HOME: '/s', HOME: '/home/u' }), '/s/smbfuse/smbfuse.log');
  t.equal(defaultLogFile(1000, { HOME: '/home/u' }), '/home/u/.local/state/smbfuse/smbfuse.log');
});

t.test('stats socket path', async (t) => {
  t.equal(statsSocketDir(0, { XDG_RUNTIME_DIR: '/run/user/0' }), '/run/smbfuse');
  t.equal(statsSocketDir(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/smbfuse');
  t.equal(statsSocketDir(1000, {}), '/tmp/smbfuse-1000');
  const a = statsSocketPath('/tmp/some/../mnt-x/', 0, {});
  t.equal(a, statsSocketPath('/tmp/mnt-x', 0, {}), 'one mount point, one socket');
  t.not(a, statsSocketPath('/tmp/mnt-y', 0, {}));
  t.equal(statsSocketPath('/' + 'd'.repeat(4000), 0, {}).length, a.length, 'fixed length whatever the path');
  t.ok(a.length < 108, 'fits in sun_path');
});

t.test('table from a snapshot', async (t) => {
  const s = new SmbStats();
  s.replied(5, 1n, 0, s.sent(5));
  s.bytesRead = 123;
  const cache = new PageCache({ maxBytes: 1 << 20 });
  const m = mountStats({ unc: '//h/s', mountpoint: '/m', dialect: '3.1.1', startedAt: Date.now() },
    { ...s.snapshot(), creditsInFlight: 0, creditsAvailable: 10, connected: true, reconnects: 0 }, cache.stats());
  t.equal(m.cache.hitRatio, null, 'no reads: no ratio');
  const text = formatStats(m);
  t.match(text, /^\/\/h\/s on \/m \(pid \d+, SMB 3\.1\.1, up 0 s\)\n/);
  t.match(text, /\nCREATE +1 +0 /);
  t.match(text, /\ntotal +1 +0 /);
  t.match(text, /bytes read 123, written 0/);
  t.match(text, /hit ratio -/);
});

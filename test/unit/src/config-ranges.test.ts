/**
 * Option parsing edge cases (issue 7, point 8): mount.cifs's `,,` escape for
 * a comma inside a value, error lines that never echo a password or the
 * credentials= value (an unknown item right after password= is not named),
 * and a range check with one clear line for every
 * numeric option (timers within Node's 2^31-1 ms limit).
 */
import t, { type Test } from 'tap';
import { ConfigError, MAX_TIMER_SECONDS, parseArgs, type MountConfig, type ParseEnv } from '../../../src/config.js';

const TIMER_LIMIT_MS = 2 ** 31 - 1;

function env(files: Record<string, string> = { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\n' }): ParseEnv {
  return {
    env: {},
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return f;
    },
    fileMode: () => 0o100600,
    cwd: '/home/u',
    uid: 1000,
    gid: 1000,
  };
}

function config(opts: string, pe = env()): MountConfig {
  const r = parseArgs(['//h/s', '/m', '-o', opts], pe);
  if (r.kind !== 'mount') throw new Error('expected mount');
  return r.config;
}

/** The one-line ConfigError message for `opts`; fails the test if it parses. */
function errorLine(t: Test, opts: string, pe = env()): string {
  try {
    parseArgs(['//h/s', '/m', '-o', opts], pe);
  } catch (e) {
    t.ok(e instanceof ConfigError, `ConfigError for ${opts}`);
    const msg = (e as Error).message;
    t.notOk(msg.includes('\n'), 'one line');
    t.match(msg, /^smbfuse: /, 'starts with the program name');
    return msg;
  }
  t.fail(`expected ${opts} to be refused`);
  return '';
}

t.test("a doubled comma is a literal comma (mount.cifs ',,' escape)", async (t) => {
  t.equal(config('password=a,,b').password, 'a,b');
  t.equal(config('user=joe%a,,b').password, 'a,b', 'in user=name%password too');
  t.equal(config('password=a,,b,ro').password, 'a,b', 'followed by another option');
  t.equal(config('password=a,,b,ro').readOnly, true);
  t.equal(config('password=,,').password, ',', 'just a comma');
  t.equal(config('password=a,,,,b').password, 'a,,b', 'two escaped commas');
  t.equal(config('password=a,,,ro').password, 'a,', 'escape first, then a separator (left to right)');
  t.equal(config('password=a,,,ro').readOnly, true);
  t.equal(config('username=x,pass=p,,w,,').password, 'p,w,', 'alias, comma at the end');
  t.equal(config('domain=A,,B').domain, 'A,B', 'any value, not only passwords');
  t.equal(config('ro,').readOnly, true, 'a trailing single comma is still just a separator');
});

t.test('error lines never echo a password or the credentials= value', async (t) => {
  const unescaped = errorLine(t, 'password=hunter2,tail-of-secret');
  t.notOk(unescaped.includes('tail-of-secret'), 'the rest of a password with one comma is not printed');
  t.notOk(unescaped.includes('hunter2'));
  t.equal(unescaped, "smbfuse: unknown option after password= (write a comma in a password as ',,')", 'says how to write the comma');
  const inUser = errorLine(t, 'user=joe%hunter2,tail-of-secret');
  t.notOk(inUser.includes('tail-of-secret'), 'nor the rest of a user=name%password');
  const withEquals = errorLine(t, 'pass=hunter2,s3cret=x');
  t.notOk(withEquals.includes('s3cret'), 'not even when the tail holds an =');
  // A known option after password= is taken as that option.
  t.equal(errorLine(t, 'password=hunter2,rsize=lots'), "smbfuse: bad value for rsize: 'lots' (4K to 16M)");
  // A bad item that does not follow password= is named as before.
  t.equal(errorLine(t, 'password=hunter2,ro,bogus=1'), "smbfuse: unknown option 'bogus'");
  const missing = errorLine(t, 'credentials=/root/creds-for-payroll');
  t.notOk(missing.includes('payroll'), 'the credentials path is not printed');
  t.equal(missing, 'smbfuse: cannot read the credentials= file (ENOENT)');
  const r = parseArgs(['//h/s', '/m', '-o', 'credentials=/c'], { ...env({ '/c': 'password=topsecret\n' }), fileMode: () => 0o100644 });
  t.ok(r.kind === 'mount' && r.warnings.length === 1 && !r.warnings[0]!.includes('/c') && !r.warnings[0]!.includes('topsecret'), 'nor in the permission warning');
});

t.test('timers stay within the 2^31-1 ms limit of Node timers', async (t) => {
  t.equal(MAX_TIMER_SECONDS, 2147483);
  for (const [opt, field] of [['timeout', 'timeoutMs'], ['echo_interval', 'echoIntervalMs'], ['actimeo', 'actimeoMs']] as const) {
    const top = config(`${opt}=${MAX_TIMER_SECONDS}`)[field];
    t.equal(top, MAX_TIMER_SECONDS * 1000, `${opt} at the limit is accepted`);
    t.ok(top <= TIMER_LIMIT_MS, `${opt}: ${top} ms fits a timer`);
    t.equal(errorLine(t, `${opt}=${MAX_TIMER_SECONDS + 1}`), `smbfuse: bad value for ${opt}: '${MAX_TIMER_SECONDS + 1}' (${opt === 'timeout' ? 1 : 0} to ${MAX_TIMER_SECONDS} seconds)`);
    t.match(errorLine(t, `${opt}=99999999999999999999`), new RegExp(`^smbfuse: bad value for ${opt}: `), `${opt}: beyond a safe integer`);
    t.match(errorLine(t, `${opt}=-1`), new RegExp(`^smbfuse: bad value for ${opt}: '-1'`));
  }
  t.equal(config('echo_interval=0').echoIntervalMs, 0, 'echo_interval=0 (never) stays valid');
  t.equal(config('actimeo=0').actimeoMs, 0, 'actimeo=0 (no caching) stays valid');
  t.match(errorLine(t, 'timeout=0'), /timeout: '0' \(1 to 2147483 seconds\)/, 'a zero timeout would fail every call at once');
});

t.test('every numeric option is range-checked with one clear line', async (t) => {
  const cases: Array<[string, string[], string[], RegExp]> = [
    // option, accepted, refused, what the line says
    ['port', ['1', '65535'], ['0', '65536', 'x', ''], /\(1 to 65535\)$/],
    ['rsize', ['4K', '16M', '65536'], ['0', '4095', '17M', '1.5M'], /\(4K to 16M\)$/],
    ['wsize', ['4096', '16M'], ['0', '16777217', 'big'], /\(4K to 16M\)$/],
    ['cache_size', ['1M', '1T', '256M'], ['0', '1023K', '2T', '12Q'], /\(1M to 1T\)$/],
    ['readahead', ['0', '1G', '512K'], ['2G', 'x'], /\(0 to 1G\)$/],
    ['uid', ['0', '4294967294', 'root'], ['4294967295', '-1', 'nobody_here'], /^smbfuse: bad value for uid: /],
    ['gid', ['0', '4294967294'], ['4294967295', '1e3'], /^smbfuse: bad value for gid: /],
    ['file_mode', ['0', '07777', '644'], ['010000', '0999', '-1'], /^smbfuse: bad value for file_mode: /],
    ['dir_mode', ['0755'], ['8', 'rwx'], /^smbfuse: bad value for dir_mode: /],
  ];
  for (const [opt, good, bad, says] of cases) {
    for (const v of good) t.doesNotThrow(() => config(`${opt}=${v}`), `${opt}=${v} accepted`);
    for (const v of bad) {
      const line = v === '' ? errorLine(t, `${opt}=`) : errorLine(t, `${opt}=${v}`);
      t.match(line, new RegExp(`^smbfuse: bad value for ${opt}: '${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`), `${opt}=${v} names option and value`);
      t.match(line, says);
    }
  }
  t.equal(config('cache_size=1M').cacheSize, 1024 ** 2);
  t.equal(config('readahead=0').readahead, 0);
});

import t, { type Test } from 'tap';
import { ConfigError, parseArgs, parseMode, parseSize, parseUnc, describeConfig, type ParseEnv, type MountConfig } from '../../../src/config.js';
import { Dialect } from '../../../transport/types.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\n';
const GROUP = 'root:x:0:\nstaff:x:50:alice\n';

function env(over: Partial<ParseEnv> & { files?: Record<string, string>; modes?: Record<string, number> } = {}): ParseEnv {
  const files: Record<string, string> = { '/etc/passwd': PASSWD, '/etc/group': GROUP, ...(over.files ?? {}) };
  return {
    env: over.env ?? {},
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return f;
    },
    fileMode: (p) => over.modes?.[p] ?? 0o100600,
    cwd: over.cwd ?? '/home/u',
    uid: over.uid ?? 1000,
    gid: over.gid ?? 1000,
  };
}

function cfg(args: string[], pe = env()): { config: MountConfig; warnings: string[] } {
  const r = parseArgs(args, pe);
  if (r.kind !== 'mount') throw new Error('expected mount');
  return r;
}

function throwsLine(t: Test, args: string[], line: string | RegExp, pe = env()) {
  let err: unknown;
  try {
    parseArgs(args, pe);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ConfigError, `ConfigError for ${args.join(' ')}`);
  const msg = (err as Error | undefined)?.message ?? '';
  if (typeof line === 'string') t.equal(msg, line);
  else t.match(msg, line);
  t.notOk(msg.includes('\n'), 'one line');
  t.notOk(msg.includes('hunter2'), 'no password');
}

t.test('defaults', async (t) => {
  const { config: c, warnings } = cfg(['//srv/share', 'mnt']);
  t.equal(c.host, 'srv');
  t.equal(c.share, 'share');
  t.equal(c.unc, '//srv/share');
  t.equal(c.prefixPath, '');
  t.equal(c.mountpoint, '/home/u/mnt');
  t.equal(c.port, 445);
  t.equal(c.fileMode, 0o755);
  t.equal(c.dirMode, 0o755);
  t.equal(c.actimeoMs, 1000);
  t.equal(c.cacheSize, 256 * 1024 * 1024);
  t.equal(c.readahead, 8 * 1024 * 1024);
  t.equal(c.timeoutMs, 30000);
  t.equal(c.uid, 1000);
  t.equal(c.gid, 1000);
  t.equal(c.readOnly, false, "read-write by default");
  t.equal(c.foreground, false);
  t.equal(c.minDialect, undefined);
  t.equal(c.maxDialect, undefined);
  t.equal(c.allowOther, false);
  t.equal(c.debug, false);
  t.equal(c.guest, false);
  t.same(warnings, []);
});

t.test('UNC forms', async (t) => {
  t.match(parseUnc('\\\\host\\share'), { host: 'host', share: 'share', unc: '//host/share' });
  t.match(parseUnc('//[::1]/s'), { host: '::1', share: 's', unc: '//[::1]/s' });
  t.match(parseUnc('//h/s/a/b/'), { host: 'h', share: 's', prefixPath: 'a\\b', unc: '//h/s/a/b' });
  t.match(parseUnc('//10.0.0.1/data'), { host: '10.0.0.1', share: 'data' });
  for (const bad of ['host/share', '//host', '//host/', '//', '//[::1/s', '/host/share', '//[host]/s']) {
    t.throws(() => parseUnc(bad), ConfigError, bad);
  }
});

t.test('every option', async (t) => {
  const { config: c } = cfg([
    '//h/s', '/mnt/x', '-f', '-o',
    'port=4455,username=bob,password=p@ss,domain=CORP,vers=3.0,uid=alice,gid=staff,file_mode=0644,dir_mode=750',
    '-oactimeo=5,rsize=65536,cache_size=1G,readahead=512K,timeout=10,allow_other,debug,ro',
  ]);
  t.match(c, {
    port: 4455, username: 'bob', password: 'p@ss', domain: 'CORP',
    minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_0, uid: 1001, gid: 50,
    fileMode: 0o644, dirMode: 0o750, actimeoMs: 5000, rsize: 65536,
    cacheSize: 1024 ** 3, readahead: 512 * 1024, timeoutMs: 10000,
    allowOther: true, debug: true, foreground: true, mountpoint: '/mnt/x',
  });
  t.match(cfg(['//h/s', '/m', '-o', 'uid=42,gid=43']).config, { uid: 42, gid: 43 });
  t.equal(cfg(['//h/s', '/m']).config.echoIntervalMs, 60000, 'echo_interval defaults to 60 s as mount.cifs');
  t.equal(cfg(['//h/s', '/m', '-o', 'echo_interval=5']).config.echoIntervalMs, 5000);
  t.equal(cfg(['//h/s', '/m', '-o', 'echo_interval=0']).config.echoIntervalMs, 0, '0 turns the keepalive off');
  throwsLine(t, ['//h/s', '/m', '-o', 'echo_interval=soon'], "smbfuse: bad value for echo_interval: 'soon' (0 to 2147483 seconds)");
  t.match(cfg(['//h/s', '/m', '-o', 'user=x,pass=y,dom=D']).config, { username: 'x', password: 'y', domain: 'D' });
});

t.test('vers values', async (t) => {
  const v = (s: string) => cfg(['//h/s', '/m', '-o', `vers=${s}`]).config;
  t.match(v('2.0'), { minDialect: Dialect.SMB2_0_2, maxDialect: Dialect.SMB2_0_2 });
  t.match(v('2.1'), { minDialect: Dialect.SMB2_1, maxDialect: Dialect.SMB2_1 });
  t.match(v('3.02'), { minDialect: Dialect.SMB3_0_2, maxDialect: Dialect.SMB3_0_2 });
  t.match(v('3.0.2'), { minDialect: Dialect.SMB3_0_2 });
  t.match(v('3.1.1'), { minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1 });
  t.match(v('3.11'), { minDialect: Dialect.SMB3_1_1 });
  t.match(v('3'), { minDialect: Dialect.SMB3_0, maxDialect: Dialect.SMB3_1_1 });
  t.equal(v('default').minDialect, undefined);
  throwsLine(t, ['//h/s', '/m', '-o', 'vers=1.0'], "smbfuse: bad value for vers: '1.0'");
});

t.test('user forms and env', async (t) => {
  t.match(cfg(['//h/s', '/m', '-o', 'user=DOM/joe']).config, { username: 'joe', domain: 'DOM' });
  t.match(cfg(['//h/s', '/m', '-o', 'user=DOM\\joe%secret']).config, { username: 'joe', domain: 'DOM', password: 'secret' });
  t.match(cfg(['//h/s', '/m', '-o', 'user=joe%a%b']).config, { username: 'joe', password: 'a%b' });
  t.match(cfg(['//h/s', '/m', '-o', 'user=joe%x,password=explicit']).config, { password: 'explicit' });
  const pe = env({ env: { USER: 'envuser', PASSWD: 'envpw' } });
  t.match(cfg(['//h/s', '/m'], pe).config, { username: 'envuser', password: 'envpw' });
  t.match(cfg(['//h/s', '/m', '-o', 'user=o'], pe).config, { username: 'o', password: 'envpw' });
  t.match(cfg(['//h/s', '/m', '-o', 'guest'], pe).config, { guest: true, password: '' });
});

t.test('credentials file', async (t) => {
  const files = { '/home/u/cred': '# comment\n\nusername=alice\npassword= spaced pw\ndomain=WG\n' };
  const r = cfg(['//h/s', '/m', '-o', 'credentials=cred'], env({ files, env: { USER: 'x', PASSWD: 'y' } }));
  t.match(r.config, { username: 'alice', password: ' spaced pw', domain: 'WG' });
  t.same(r.warnings, []);
  const r2 = cfg(['//h/s', '/m', '-o', 'credentials=/home/u/cred,user=bob'], env({ files, modes: { '/home/u/cred': 0o100644 } }));
  t.equal(r2.config.username, 'bob', 'explicit option beats the file');
  t.equal(r2.config.password, ' spaced pw');
  t.match(r2.warnings[0], /readable by group or others/);
  t.notOk(r2.warnings.join('').includes('spaced pw'));
  throwsLine(t, ['//h/s', '/m', '-o', 'credentials=/nope'], "smbfuse: cannot read the credentials= file (ENOENT)");
});

t.test('rw is the default; ro, wsize and cache=', async (t) => {
  const d = cfg(['//h/s', '/m']).config;
  t.equal(d.readOnly, false);
  t.equal(d.cache, 'strict');
  t.equal(d.wsize, 4 * 1024 * 1024);
  t.equal(cfg(['//h/s', '/m', '-o', 'ro']).config.readOnly, true);
  t.equal(cfg(['//h/s', '/m', '-o', 'ro,rw']).config.readOnly, false, 'last one wins');
  t.same(cfg(['//h/s', '/m', '-o', 'rw']).warnings, []);
  const c = cfg(['//h/s', '/m', '-o', 'wsize=64K,cache=loose']).config;
  t.equal(c.wsize, 65536);
  t.equal(c.cache, 'loose');
  t.equal(cfg(['//h/s', '/m', '-o', 'cache=none']).config.cache, 'none');
  throwsLine(t, ['//h/s', '/m', '-o', 'cache=fast'], "smbfuse: bad value for cache: 'fast'");
  throwsLine(t, ['//h/s', '/m', '-o', 'wsize=0'], "smbfuse: bad value for wsize: '0' (4K to 16M)");
});

t.test('errors are one clear line', async (t) => {
  throwsLine(t, ['//h/s', '/m', '-o', 'foo'], "smbfuse: unknown option 'foo'");
  throwsLine(t, ['//h/s', '/m', '-o', 'rsize=x'], "smbfuse: bad value for rsize: 'x' (4K to 16M)");
  throwsLine(t, ['//h/s', '/m', '-o', 'rsize=0'], "smbfuse: bad value for rsize: '0' (4K to 16M)");
  throwsLine(t, ['//h/s', '/m', '-o', 'port=0'], "smbfuse: bad value for port: '0' (1 to 65535)");
  throwsLine(t, ['//h/s', '/m', '-o', 'port=70000'], "smbfuse: bad value for port: '70000' (1 to 65535)");
  throwsLine(t, ['//h/s', '/m', '-o', 'file_mode=0999'], "smbfuse: bad value for file_mode: '0999'");
  throwsLine(t, ['//h/s', '/m', '-o', 'uid=nobody_here'], "smbfuse: bad value for uid: 'nobody_here'");
  throwsLine(t, ['//h/s', '/m', '-o', 'gid=-1'], "smbfuse: bad value for gid: '-1'");
  throwsLine(t, ['//h/s', '/m', '-o', 'actimeo=1.5'], "smbfuse: bad value for actimeo: '1.5' (0 to 2147483 seconds)");
  throwsLine(t, ['//h/s', '/m', '-o', 'timeout=0'], "smbfuse: bad value for timeout: '0' (1 to 2147483 seconds)");
  throwsLine(t, ['//h/s', '/m', '-o', 'cache_size=12T'], "smbfuse: bad value for cache_size: '12T' (1M to 1T)");
  throwsLine(t, ['//h/s', '/m', '-o', 'port'], "smbfuse: option 'port' needs a value");
  throwsLine(t, ['//h/s', '/m', '-o', 'guest=1'], "smbfuse: option 'guest' takes no value");
  throwsLine(t, ['//h/s', '/m', '-o'], "smbfuse: option '-o' needs a value");
  throwsLine(t, ['//h/s', '/m', '-x'], "smbfuse: unknown argument '-x'");
  throwsLine(t, ['//h/s'], /need \/\/HOST\/SHARE and MOUNTPOINT/);
  throwsLine(t, ['//h/s', '/m', 'extra'], "smbfuse: unexpected argument 'extra'");
  throwsLine(t, ['h/s', '/m'], /bad share 'h\/s'/);
  throwsLine(t, ['//h/s', '/m', '-o', 'password=hunter2,bogus=1'], "smbfuse: unknown option after password= (write a comma in a password as ',,')");
  throwsLine(t, ['//h/s', '/m', '-o', 'password=hunter2,ro,bogus=1'], "smbfuse: unknown option 'bogus'");
});

t.test('help and version', async (t) => {
  t.same(parseArgs(['-h'], env()), { kind: 'help' });
  t.same(parseArgs(['//h/s', '--help'], env()), { kind: 'help' });
  t.same(parseArgs(['-V'], env()), { kind: 'version' });
});

t.test('number parsers', async (t) => {
  t.equal(parseSize('256M'), 256 * 1024 * 1024);
  t.equal(parseSize('4k'), 4096);
  t.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  t.equal(parseSize('100'), 100);
  t.equal(parseSize('1.5M'), undefined);
  t.equal(parseMode('0644'), 0o644);
  t.equal(parseMode('4755'), 0o4755);
  t.equal(parseMode('8'), undefined);
});

t.test('describeConfig hides the password', async (t) => {
  const { config } = cfg(['//h/s', '/m', '-o', 'password=hunter2']);
  t.notOk(describeConfig(config).includes('hunter2'));
  t.match(describeConfig(config), /"password":"\*+"/);
});

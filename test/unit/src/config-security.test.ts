/**
 * Parsing of the security-related options: sec=, guest, credentials file
 * aliases and permission warning, and when the CLI must ask for a password.
 */
import t, { type Test } from 'tap';
import { ConfigError, parseArgs, readCredentials, type ParseEnv } from '../../../src/config.js';

function env(over: { env?: Record<string, string | undefined>; files?: Record<string, string>; modes?: Record<string, number> } = {}): ParseEnv {
  const files: Record<string, string> = { '/etc/passwd': '', '/etc/group': '', ...(over.files ?? {}) };
  return {
    env: over.env ?? { USER: 'envuser' },
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return f;
    },
    fileMode: (p) => over.modes?.[p] ?? 0o100600,
    cwd: '/home/u',
    uid: 1000,
    gid: 1000,
  };
}

function mount(opts: string, pe = env()) {
  const r = parseArgs(['//h/s', '/m', ...(opts ? ['-o', opts] : [])], pe);
  if (r.kind !== 'mount') throw new Error('expected mount');
  return r;
}

function refuses(t: Test, opts: string, line: string | RegExp): void {
  let err: unknown;
  try {
    mount(opts);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ConfigError, `ConfigError for ${opts}`);
  const msg = (err as Error | undefined)?.message ?? '';
  if (typeof line === 'string') t.equal(msg, line);
  else t.match(msg, line);
  t.notOk(msg.includes('hunter2'), 'no password in the message');
}

t.test('sec=', async (t) => {
  const none = mount('sec=none,username=joe,password=pw');
  t.match(none.config, { guest: true, username: '', password: '' }, 'sec=none: anonymous guest, nothing sent');
  t.equal(none.needsPassword, false);
  t.match(mount('sec=NONE').config, { guest: true, username: '' }, 'case-insensitive');
  for (const v of ['ntlmssp', 'ntlmv2', 'NTLMSSP']) {
    const r = mount(`sec=${v},password=pw`);
    t.match(r.config, { guest: false, username: 'envuser', password: 'pw' }, `sec=${v} is a normal login`);
  }
  for (const v of ['krb5', 'krb5i', 'ntlm', 'ntlmi', 'ntlmv2i', 'ntlmsspi', 'lanman']) {
    refuses(t, `sec=${v}`, `smbfuse: sec=${v} is not supported (use sec=ntlmssp, sec=ntlmv2 or sec=none)`);
  }
  refuses(t, 'sec', "smbfuse: option 'sec' needs a value");
  refuses(t, 'sec=krb5,password=hunter2', /^smbfuse: sec=krb5 is not supported/);
});

t.test('guest keeps the user name (mount.cifs) but never a password', async (t) => {
  const r = mount('guest,password=pw', env({ env: { USER: 'alice', PASSWD: 'x' } }));
  t.match(r.config, { guest: true, username: 'alice', password: '' });
  t.equal(r.needsPassword, false, 'guest never asks');
  t.equal(mount('guest').needsPassword, false);
});

t.test('when a password is needed', async (t) => {
  t.equal(mount('').needsPassword, true, 'nothing anywhere');
  t.equal(mount('username=bob').needsPassword, true);
  t.equal(mount('password=pw').needsPassword, false, 'password=');
  t.equal(mount('password=').needsPassword, false, 'an empty password= is a given (empty) password');
  t.equal(mount('user=bob%pw').needsPassword, false, 'user=name%password');
  t.equal(mount('', env({ env: { PASSWD: 'pw' } })).needsPassword, false, 'PASSWD');
  t.equal(mount('', env({ env: { PASSWD: '' } })).needsPassword, false, 'empty PASSWD, as mount.cifs');
  const files = { '/home/u/c1': 'username=a\npassword=p\n', '/home/u/c2': 'username=a\n' };
  t.equal(mount('credentials=c1', env({ files })).needsPassword, false, 'credentials file with password=');
  t.equal(mount('credentials=c2', env({ files })).needsPassword, true, 'credentials file without one');
});

t.test('credentials file: mount.cifs names and aliases', async (t) => {
  const files = {
    '/home/u/long': 'username=alice\npassword=s3cret=x\ndomain=WG\n',
    '/home/u/short': '  user=bob\r\npass= with spaces \r\ndom=CORP\r\n',
    '/home/u/mixed': '# a comment\n\nUSERNAME=carol\nworkgroup=HOME\ngarbage line\nunknown=1\npassword=pw\n',
  };
  const pe = env({ files });
  t.match(mount('credentials=long', pe).config, { username: 'alice', password: 's3cret=x', domain: 'WG' }, 'value after the first =');
  t.match(mount('cred=short', pe).config, { username: 'bob', password: ' with spaces ', domain: 'CORP' }, 'user=/pass=/dom=, CRLF, password kept verbatim');
  t.match(mount('credentials=/home/u/mixed', pe).config, { username: 'carol', password: 'pw', domain: 'HOME' }, 'comments, blank and junk lines ignored');
  t.match(mount('credentials=long,domain=OTHER,password=opt', pe).config, { username: 'alice', password: 'opt', domain: 'OTHER' }, '-o beats the file');
  t.match(mount('credentials=short', env({ files, env: { USER: 'e', PASSWD: 'envpw' } })).config, { username: 'bob', password: ' with spaces ' }, 'the file beats USER/PASSWD');
  t.match(mount('credentials=/home/u/long', env({ files: { '/home/u/long': 'username=CORP/dave\npassword=p\n' } })).config, { username: 'dave', domain: 'CORP' }, 'DOMAIN/user in the file');
});

t.test('credentials file permission warning', async (t) => {
  const files = { '/c': 'username=a\npassword=topsecret\n' };
  for (const [mode, warn] of [[0o100600, false], [0o100400, false], [0o100640, true], [0o100604, true], [0o100644, true], [0o100660, true]] as const) {
    const w: string[] = [];
    readCredentials('/c', env({ files, modes: { '/c': mode } }), w);
    t.equal(w.length, warn ? 1 : 0, `mode ${mode.toString(8)}: ${warn ? 'warns' : 'quiet'}`);
    if (warn) t.match(w[0], /^smbfuse: warning: the credentials= file is readable by group or others$/);
    t.notOk(w.join('').includes('topsecret'));
  }
  t.throws(() => mount('credentials=/missing'), /^smbfuse: cannot read the credentials= file \(ENOENT\)$/);
});

t.test('modes: modefromsid; allow_other defaults to 0750 and warns when others may read', async (t) => {
  const plain = mount('');
  t.match(plain.config, { fileMode: 0o755, dirMode: 0o755, modeFromSid: false }, 'mount.cifs defaults without allow_other');
  t.same(plain.warnings, []);
  t.equal(mount('modefromsid').config.modeFromSid, true);
  refuses(t, 'modefromsid=1', "smbfuse: option 'modefromsid' takes no value");
  const shared = mount('allow_other');
  t.match(shared.config, { fileMode: 0o750, dirMode: 0o750 }, 'allow_other: nothing for other users by default');
  t.same(shared.warnings, [], 'no warning for the defaults');
  t.match(mount('allow_other,file_mode=0600').config, { fileMode: 0o600, dirMode: 0o750 }, 'a given mode is kept, the other defaults');
  t.same(mount('allow_other,file_mode=0640,dir_mode=0751').warnings, [], 'others may traverse but not list or read: no warning');
  t.same(mount('allow_other,file_mode=0644,dir_mode=0755').warnings, [
    'smbfuse: warning: allow_other with file_mode=0644,dir_mode=0755 lets every local user read every file',
  ]);
  t.same(mount('allow_other,file_mode=0640,dir_mode=0755').warnings, [
    'smbfuse: warning: allow_other with file_mode=0640,dir_mode=0755 lets every local user list every directory',
  ]);
  t.same(mount('allow_other,modefromsid,dir_mode=0755').warnings, [
    'smbfuse: warning: allow_other with file_mode=0750,dir_mode=0755 lets every local user list every directory without a mode of its own on the server',
  ]);
  t.same(mount('file_mode=0644,dir_mode=0755').warnings, [], 'no warning without allow_other (only the mounting user gets in)');
});

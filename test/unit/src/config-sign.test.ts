/** The `sign` mount option (mount.cifs name): a flag, off by default, no value allowed. */
import t from 'tap';
import { ConfigError, parseArgs, type ParseEnv } from '../../../src/config.js';

const pe: ParseEnv = {
  env: { PASSWD: 'pw' },
  readFile: () => {
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  },
  fileMode: () => 0o100600,
  cwd: '/home/u',
  uid: 1000,
  gid: 1000,
};

function sign(opts: string): boolean {
  const r = parseArgs(['//srv/share', '/mnt', '-o', opts], pe);
  if (r.kind !== 'mount') throw new Error('expected mount');
  return r.config.sign;
}

t.equal(sign('username=u'), false, 'off by default');
t.equal(sign('username=u,sign'), true, 'sign turns it on');
t.equal(sign('sign,vers=3.0,username=u'), true, 'with other options');
t.throws(() => sign('username=u,sign=1'), ConfigError, 'takes no value');

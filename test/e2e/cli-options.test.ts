/**
 * Bad option values through the real CLI: each prints exactly one line
 * naming the option (never a stack trace, never a password or the
 * credentials= value), exits 2 before any connection is tried, and leaves
 * nothing mounted. Port 1 is given so that an option wrongly accepted would
 * show up as a connection error instead of the expected line.
 */
import t from 'tap';
import { rm } from 'node:fs/promises';
import { isMounted, makeMountPoint, runCli } from '../helpers/mount.js';

const mnt = await makeMountPoint();
t.teardown(() => rm(mnt, { recursive: true, force: true }));

const cases: Array<[string, string, RegExp, string?]> = [
  // name, options, the line, a secret that must not appear
  ['cache_size=0', 'cache_size=0', /^smbfuse: bad value for cache_size: '0' \(1M to 1T\)$/],
  ['timeout beyond the timer limit', 'timeout=4294968', /^smbfuse: bad value for timeout: '4294968' \(1 to 2147483 seconds\)$/],
  ['echo_interval beyond the timer limit', 'echo_interval=2147484', /^smbfuse: bad value for echo_interval: /],
  ['actimeo beyond the timer limit', 'actimeo=99999999', /^smbfuse: bad value for actimeo: /],
  ['rsize too small', 'rsize=1', /^smbfuse: bad value for rsize: '1' \(4K to 16M\)$/],
  ['a password with a single comma', 'username=u,password=hunter2,Tail0fSecret', /^smbfuse: unknown option after password= \(write a comma in a password as ',,'\)$/, 'Tail0fSecret'],
  ['a missing credentials file', 'credentials=/nonexistent/Payroll-creds', /^smbfuse: cannot read the credentials= file \(ENOENT\)$/, 'Payroll'],
];

for (const [name, opts, line, secret] of cases) {
  t.test(name, async (t) => {
    const r = await runCli(['//127.0.0.1/test', mnt, '-o', `port=1,${opts}`], {}, 15000);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    t.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`);
    t.match(lines[0] ?? '', line);
    t.notMatch(r.stderr, /\n\s+at |Error:/, 'no stack trace');
    if (secret) t.notOk(r.stderr.includes(secret), 'the secret is not echoed');
    t.not(r.code, 0, 'non-zero exit');
    t.notOk(r.stderr.includes('refused'), 'refused before any connection');
    t.equal(await isMounted(mnt), false, 'nothing mounted');
  });
}

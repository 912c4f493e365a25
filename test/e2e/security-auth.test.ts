/**
 * Guest sessions and credentials through the real CLI.
 *
 * Guest: a wrong password (or an unknown user) that the server maps to guest
 * (`map to guest = Bad User`, the default test server, and `Bad Password`, a
 * server of this file's own) fails the mount with a clear line; `guest` and
 * `sec=none` mount the [guest] share on purpose.
 *
 * Credentials: the password given by `password=`, by PASSWD or by a
 * credentials file never shows in the daemon's /proc/PID/cmdline or
 * /proc/PID/environ, in `-o debug` output or in an error line; with no
 * password and no terminal the CLI fails at once; with a terminal (a pty from
 * util-linux `script`) it asks without echo.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cliPath, isMounted, makeMountPoint, runCli, unmount, type CliResult } from '../helpers/mount.js';
import { startSamba, type SambaServer } from '../helpers/samba.js';

const samba = await startSamba();
// The suite runner exports the test server's password (SMB_PASS, and inside
// SMB_TEST_URL); the CLI children inherit our environment, so drop every
// variable holding it before checking that it appears in no daemon's environ.
for (const [k, v] of Object.entries(process.env)) if (v?.includes(samba.pass)) delete process.env[k];
t.teardown(() => samba.stop());

/** PIDs of smbfuse processes whose command line names main.js and `mnt`. */
async function daemonsFor(mnt: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const argv = (await readFile(`/proc/${p}/cmdline`, 'utf8')).split('\0');
      if (argv.some((a) => a.endsWith('main.js')) && argv.includes(mnt)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Assert the daemon of `mnt` exists and `secret` is in neither its cmdline nor its environ. */
async function assertDaemonClean(t: Test, mnt: string, secret: string): Promise<void> {
  const pids = await daemonsFor(mnt);
  t.equal(pids.length, 1, `one daemon serves ${mnt}`);
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`);
    const environ = await readFile(`/proc/${pid}/environ`);
    t.ok(cmdline.length > 0 && environ.length > 0, 'read the daemon\'s cmdline and environ');
    t.equal(cmdline.indexOf(secret), -1, `password not in /proc/${pid}/cmdline (${cmdline.toString().replace(/\0/g, ' ')})`);
    t.equal(environ.indexOf(secret), -1, `password not in /proc/${pid}/environ`);
    t.equal(environ.indexOf('PASSWD='), -1, 'no PASSWD variable at all');
  }
}

async function withMountPoint(t: Test): Promise<string> {
  const mnt = await makeMountPoint();
  t.teardown(() => unmount(mnt));
  return mnt;
}

/** The CLI failed with exactly one line matching `pattern`, nothing mounted, no secret shown. */
async function assertFailed(t: Test, r: CliResult, mnt: string, pattern: RegExp, secret: string): Promise<void> {
  t.not(r.code, 0, 'non-zero exit');
  t.ok(r.ms < 15000, `failed within 15 s (${r.ms} ms)`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  t.match(lines[0] ?? '', pattern);
  t.notOk((r.stderr + r.stdout).includes(secret), 'the password is not in the output');
  t.equal(await isMounted(mnt), false, 'nothing mounted');
}

/** A file round trip through the mount. */
async function roundTrip(t: Test, mnt: string, name: string): Promise<void> {
  const f = path.join(mnt, name);
  await writeFile(f, `hello ${name}\n`);
  t.equal(await readFile(f, 'utf8'), `hello ${name}\n`, 'write and read back through the mount');
  await rm(f);
}

const base = (s: SambaServer) => `port=${s.port}`;

t.test('guest', async (t) => {
  t.test('Bad User: unknown user mapped to guest fails the mount', async (t) => {
    const mnt = await withMountPoint(t);
    const secret = 'unknown-user-pw-71';
    const r = await runCli([samba.urlFor('guest'), mnt, '-o', `${base(samba)},username=nosuchuser,password=${secret}`]);
    await assertFailed(t, r, mnt, /^smbfuse: \/\/127\.0\.0\.1\/guest: login failed for user 'nosuchuser': server accepted user 'nosuchuser' only as guest .*-o guest/, secret);
  });

  t.test('Bad User: wrong password of a real user fails the mount', async (t) => {
    const mnt = await withMountPoint(t);
    const secret = 'wrong-pw-Bad-User-42';
    const r = await runCli([samba.urlFor('guest'), mnt, '-o', `${base(samba)},username=${samba.user},password=${secret}`]);
    await assertFailed(t, r, mnt, /login failed for user 'smbtest'|only as guest/, secret);
  });

  t.test('Bad Password: wrong password mapped to guest fails the mount', async (t) => {
    const bp = await startSamba({ extraGlobal: 'map to guest = Bad Password' });
    t.teardown(() => bp.stop());
    const conf = await readFile(path.join(bp.dir, 'smb.conf'), 'utf8');
    t.match(conf, /map to guest = Bad Password\s*$/m, 'the server maps bad passwords to guest');
    for (const share of ['guest', 'test'] as const) {
      const mnt = await makeMountPoint();
      const secret = `wrong-pw-Bad-Password-${share}`;
      const r = await runCli([bp.urlFor(share), mnt, '-o', `${base(bp)},username=${bp.user},password=${secret}`]);
      await assertFailed(t, r, mnt, new RegExp(`^smbfuse: //127\\.0\\.0\\.1/${share}: login failed for user '${bp.user}': server accepted user '${bp.user}' only as guest \\(wrong password or unknown user\\?\\); use -o guest to mount as guest$`), secret);
      await unmount(mnt);
    }
    // Control: the right password still mounts on this server.
    const ok = await makeMountPoint();
    t.teardown(() => unmount(ok));
    const r = await runCli([bp.urlFor('test'), ok, '-o', `${base(bp)},username=${bp.user},password=${bp.pass}`]);
    t.equal(r.code, 0, `right password mounts: ${r.stderr}`);
    // And sec=none is a guest mount on purpose there too.
    const g = await makeMountPoint();
    t.teardown(() => unmount(g));
    const rg = await runCli([bp.urlFor('guest'), g, '-o', `${base(bp)},sec=none`]);
    t.equal(rg.code, 0, `sec=none mounts [guest]: ${rg.stderr}`);
    await roundTrip(t, g, 'bp-guest.txt');
  });

  t.test('guest mounts [guest] on purpose (no password asked)', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.urlFor('guest'), mnt, '-o', `${base(samba)},guest`], { USER: 'some-guest', PASSWD: undefined });
    t.equal(r.code, 0, `mounted: ${r.stderr}`);
    t.equal(r.stderr, '', 'no prompt, no warning');
    await roundTrip(t, mnt, 'guest-flag.txt');
  });

  t.test('sec=none mounts [guest] anonymously', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.urlFor('guest'), mnt, '-o', `${base(samba)},sec=none`], { PASSWD: undefined });
    t.equal(r.code, 0, `mounted: ${r.stderr}`);
    await roundTrip(t, mnt, 'sec-none.txt');
  });

  t.test('sec=ntlmssp and sec=ntlmv2 are normal logins; others are refused', async (t) => {
    for (const sec of ['ntlmssp', 'ntlmv2']) {
      const mnt = await makeMountPoint();
      const r = await runCli([samba.url, mnt, '-o', `${base(samba)},username=${samba.user},password=${samba.pass},sec=${sec}`]);
      t.equal(r.code, 0, `sec=${sec} mounts: ${r.stderr}`);
      await unmount(mnt);
    }
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.url, mnt, '-o', `${base(samba)},username=${samba.user},password=${samba.pass},sec=krb5`]);
    await assertFailed(t, r, mnt, /^smbfuse: sec=krb5 is not supported \(use sec=ntlmssp, sec=ntlmv2 or sec=none\)$/, samba.pass);
  });
});

t.test('the password stays out of the daemon\'s cmdline and environ', async (t) => {
  t.test('password= in -o', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.url, mnt, '-o', `${base(samba)},username=${samba.user},password=${samba.pass}`]);
    t.equal(r.code, 0, `mounted: ${r.stderr}`);
    await assertDaemonClean(t, mnt, samba.pass);
    await roundTrip(t, mnt, 'cmdline-opt.txt');
  });

  t.test('PASSWD in the environment', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.url, mnt, '-o', `${base(samba)},username=${samba.user}`], { PASSWD: samba.pass });
    t.equal(r.code, 0, `mounted: ${r.stderr}`);
    await assertDaemonClean(t, mnt, samba.pass);
    await roundTrip(t, mnt, 'cmdline-env.txt');
  });

  t.test('credentials=FILE (0600: no warning; 0644: warning, still mounts)', async (t) => {
    const cred = path.join(tmpdir(), `smbfuse-cred-${process.pid}`);
    t.teardown(() => rm(cred, { force: true }));
    await writeFile(cred, `# smbfuse test\nuser=${samba.user}\npass=${samba.pass}\ndom=WORKGROUP\n`, { mode: 0o600 });
    await chmod(cred, 0o600);
    const mnt = await withMountPoint(t);
    const r = await runCli([samba.url, mnt, '-o', `${base(samba)},credentials=${cred}`], { PASSWD: undefined, USER: 'not-the-user' });
    t.equal(r.code, 0, `mounted: ${r.stderr}`);
    t.equal(r.stderr, '', 'no warning for a 0600 file');
    await assertDaemonClean(t, mnt, samba.pass);
    await roundTrip(t, mnt, 'cred-file.txt');

    await chmod(cred, 0o644);
    const mnt2 = await withMountPoint(t);
    const r2 = await runCli([samba.url, mnt2, '-o', `${base(samba)},credentials=${cred}`], { PASSWD: undefined });
    t.equal(r2.code, 0, `mounted: ${r2.stderr}`);
    t.equal(r2.stderr.trim(), "smbfuse: warning: the credentials= file is readable by group or others");
    await assertDaemonClean(t, mnt2, samba.pass);
  });
});

t.test('-o debug in the foreground logs no password', async (t) => {
  const cred = path.join(tmpdir(), `smbfuse-cred-dbg-${process.pid}`);
  t.teardown(() => rm(cred, { force: true }));
  await writeFile(cred, `username=${samba.user}\npassword=${samba.pass}\n`, { mode: 0o600 });
  const mnt = await withMountPoint(t);
  const child = spawn(process.execPath, [cliPath, samba.url, mnt, '-f', '-o', `${base(samba)},credentials=${cred},debug`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PASSWD: '' },
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const deadline = Date.now() + 20000;
  while (!(await isMounted(mnt)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(await isMounted(mnt), 'mounted in the foreground');
  await roundTrip(t, mnt, 'debug.txt');
  await readdir(mnt);
  await unmount(mnt);
  t.equal(await exited, 0, 'exits 0 after unmount');
  t.ok(stderr.length > 1000, `debug output was produced (${stderr.length} bytes)`);
  t.notOk((stderr + stdout).includes(samba.pass), 'the password is not in the debug output');
});

t.test('foreground with password= in -o: the password is masked in /proc/PID/cmdline', async (t) => {
  const mnt = await withMountPoint(t);
  const child = spawn(process.execPath, [cliPath, samba.url, mnt, '-f', '-o', `${base(samba)},username=${samba.user},password=${samba.pass}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PASSWD: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const deadline = Date.now() + 20000;
  while (!(await isMounted(mnt)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(await isMounted(mnt), `mounted in the foreground ${stderr}`);
  const cmdline = await readFile(`/proc/${child.pid}/cmdline`, 'utf8');
  t.notOk(cmdline.includes(samba.pass), `password not in cmdline: ${JSON.stringify(cmdline.replace(/\0+$/, ''))}`);
  t.match(cmdline, `password=********`, 'shown masked');
  t.match(cmdline, mnt, 'the mount point is still shown');
  const environ = await readFile(`/proc/${child.pid}/environ`);
  t.equal(environ.indexOf(samba.pass), -1, 'nor in environ');
  await roundTrip(t, mnt, 'fg-masked.txt');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit on SIGTERM');
  t.equal(await isMounted(mnt), false, 'unmounted');
});

t.test('no password and no terminal: fails at once, asks nothing', async (t) => {
  const mnt = await withMountPoint(t);
  const r = await runCli([samba.url, mnt, '-o', `${base(samba)},username=${samba.user}`], { PASSWD: undefined });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'smbfuse: no password given (use password=, credentials= or PASSWD)\n');
  t.notMatch(r.stderr + r.stdout, /Password for/, 'no prompt');
  t.ok(r.ms < 5000, `at once (${r.ms} ms)`);
  t.equal(await isMounted(mnt), false);
});

/**
 * Run the CLI on a pseudo-terminal (util-linux `script`), answer the password
 * prompt with `typed` once it shows, and collect the terminal transcript.
 */
function runOnPty(args: string[], typed: string): Promise<{ code: number | null; transcript: string; prompted: boolean }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, cliPath, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['PASSWD'];
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let transcript = '';
    let prompted = false;
    const onOut = (d: Buffer) => {
      transcript += d.toString('utf8');
      if (!prompted && /Password for [^\n]*: $/.test(transcript)) {
        prompted = true;
        // Type like a person: a few characters at a time.
        const chunks = typed.match(/[\s\S]{1,3}/g) ?? [];
        let i = 0;
        const next = () => {
          if (i < chunks.length) {
            child.stdin.write(chunks[i++]!);
            setTimeout(next, 20);
          }
        };
        next();
      }
    };
    child.stdout.on('data', onOut);
    child.stderr.on('data', onOut);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, transcript, prompted });
    });
  });
}

t.test('password prompt on a terminal (pty via script)', async (t) => {
  t.test('typed password with a correction mounts; nothing echoed', async (t) => {
    const mnt = await withMountPoint(t);
    // 'X' then Backspace (DEL) must be edited away.
    const r = await runOnPty([samba.url, mnt, '-o', `${base(samba)},username=${samba.user}`], `${samba.pass.slice(0, 4)}X\x7f${samba.pass.slice(4)}\r`);
    t.ok(r.prompted, 'prompted');
    t.match(r.transcript, `Password for ${samba.user}@${samba.url}: `, 'prompt text');
    t.equal(r.code, 0, `mounted: ${JSON.stringify(r.transcript)}`);
    t.equal(r.transcript, `Password for ${samba.user}@${samba.url}: \r\n`, 'the terminal shows the prompt and a newline, nothing typed');
    t.ok(await isMounted(mnt), 'mounted');
    await assertDaemonClean(t, mnt, samba.pass);
    await roundTrip(t, mnt, 'prompted.txt');
  });

  t.test('wrong password at the prompt fails without showing it', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runOnPty([samba.url, mnt, '-o', `${base(samba)},username=${samba.user}`], 'prompt-wrong-77\r');
    t.ok(r.prompted);
    t.equal(r.code, 1);
    t.match(r.transcript, /login failed for user 'smbtest'/);
    t.notOk(r.transcript.includes('prompt-wrong-77'), 'not echoed, not in the error');
    t.equal(await isMounted(mnt), false);
  });

  t.test('Ctrl-C at the prompt cancels', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runOnPty([samba.url, mnt, '-o', `${base(samba)},username=${samba.user}`], 'abc\x03');
    t.ok(r.prompted);
    t.equal(r.code, 130, 'exit 130 as for SIGINT');
    t.match(r.transcript, /smbfuse: interrupted/);
    t.notOk(r.transcript.includes('abc'), 'not echoed');
    t.equal(await isMounted(mnt), false);
  });

  t.test('guest never prompts, even on a terminal', async (t) => {
    const mnt = await withMountPoint(t);
    const r = await runOnPty([samba.urlFor('guest'), mnt, '-o', `${base(samba)},sec=none`], '');
    t.notOk(r.prompted, 'no prompt');
    t.equal(r.code, 0, `mounted: ${r.transcript}`);
  });
});

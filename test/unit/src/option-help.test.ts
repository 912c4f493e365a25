/**
 * `--help` and the man page against the parser: every option the parser
 * accepts is listed in both (and nothing else is), the defaults shown are the
 * parser's defaults, mount/fstab/systemd options are accepted and ignored,
 * and `man -l` renders man/smbfuse.1 without warnings.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, USAGE, acceptedOptionNames, parseArgs, type MountConfig, type ParseEnv } from '../../../src/config.js';
import { IGNORED_OPTIONS, KERNEL_FLAGS, MOUNT_OPTIONS } from '../../../src/option-table.js';

const manPath = fileURLToPath(new URL('../../../man/smbfuse.1', import.meta.url));
const man = readFileSync(manPath, 'utf8');

const pe: ParseEnv = {
  env: { USER: 'u', PASSWD: 'p' },
  readFile: () => '', // an empty credentials file
  fileMode: () => 0o100600,
  cwd: '/',
  uid: 1000,
  gid: 1000,
};

function config(opts: string): MountConfig {
  const r = parseArgs(['//h/s', '/mnt', ...(opts ? ['-o', opts] : [])], pe);
  if (r.kind !== 'mount') throw new Error('expected a mount');
  return r.config;
}

/** Option names in the "Options" part of --help: `name=FORM, alias=  meaning` or `flag  meaning`. */
function helpOptionNames(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Options'));
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '') break;
    const m = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line);
    if (!m) continue; // a meaning continued on its own line
    for (const part of m[1]!.split(', ')) names.push(/^([a-z_]+)/.exec(part)![1]!);
  }
  return names;
}

/** Option names in the man page's OPTIONS section, from each `.TP` heading. */
function manOptionNames(): string[] {
  const section = man.slice(man.indexOf('.SH OPTIONS'), man.indexOf('.SS', man.indexOf('.SH OPTIONS')));
  const names: string[] = [];
  const lines = section.split('\n');
  lines.forEach((l, i) => {
    if (l !== '.TP') return;
    const heading = lines[i + 1]!.replace(/^\.\w+\s*/, '').replace(/\\f[BIRP]|"/g, '');
    const valued = [...heading.matchAll(/([a-z_]+)=/g)].map((m) => m[1]!);
    names.push(...(valued.length ? valued : [heading.trim()]));
  });
  return names;
}

/** The man page paragraph under the heading that names `name=` or `name`. */
function manParagraph(name: string): string {
  const paras = man.split('\n.TP\n');
  return paras.find((p) => new RegExp(`^\\.\\w+ ${name}(=|$|\\s)`).test(p)) ?? '';
}

const sorted = (a: Iterable<string>) => [...a].sort();

t.test('--help lists exactly the options the parser accepts', async (t) => {
  t.same(sorted(helpOptionNames(USAGE)), sorted(acceptedOptionNames().filter((n) => !KERNEL_FLAGS.includes(n))));
  for (const f of [...KERNEL_FLAGS, ...IGNORED_OPTIONS]) t.ok(USAGE.includes(f), `--help names ${f}`);
  t.ok(USAGE.includes('x-*') && USAGE.includes('comment=*'), '--help names the ignored prefixes');
});

t.test('every option shown is accepted, and an unknown one is not', async (t) => {
  for (const o of MOUNT_OPTIONS) {
    for (const n of [o.name, ...(o.aliases ?? [])]) {
      const item = o.value === undefined ? n : `${n}=${o.defaultIsValue ? o.default! : n === 'uid' || n === 'gid' ? '0' : /MODE/.test(o.value) ? '0700' : o.value === 'BYTES' ? '64M' : 'x'}`;
      t.doesNotThrow(() => config(item), item);
    }
  }
  t.throws(() => config('bogus'), new ConfigError("smbfuse: unknown option 'bogus'"));
});

t.test('the defaults shown are the defaults', async (t) => {
  const plain = config('');
  for (const o of MOUNT_OPTIONS.filter((o) => o.defaultIsValue)) {
    t.same(config(`${o.name}=${o.default!}`), plain, `${o.name}=${o.default!} changes nothing`);
    t.match(manParagraph(o.name), new RegExp(`Default: ${o.default!.replace(/\./g, '\\.')}[.,]`), `the man page gives ${o.name}'s default`);
  }
  t.equal(plain.username, 'u', 'username defaults to $USER');
  t.equal(plain.uid, 1000, 'uid defaults to the mounting user');
  t.equal(plain.fileMode, 0o755);
  t.equal(config('allow_other').dirMode, 0o750, 'modes with allow_other as shown');
});

t.test('mount, fstab and systemd options are accepted and ignored', async (t) => {
  const plain = config('');
  const fstab = '_netdev,auto,noauto,nofail,defaults,user,users,nouser,owner,x-systemd.automount,x-systemd.idle-timeout=60,x-mount.mkdir,comment=systemd.automount';
  t.same(config(fstab), plain, 'nothing changes');
  t.equal(config('user').username, 'u', "a bare 'user' is mount(8)'s, not a user name");
  t.equal(config('user=alice').username, 'alice');
  t.same(config('nosuid,noexec,nodev').kernelFlags, ['nosuid', 'noexec', 'nodev'], 'kernel flags kept');
  t.same(config('nosuid,dev,suid').kernelFlags, ['dev', 'suid'], 'the last of suid/nosuid counts');
  t.throws(() => config('nofail=1'), ConfigError, 'an ignored flag with a value is not ignored');
  t.throws(() => config('noexec=1'), new ConfigError("smbfuse: option 'noexec' takes no value"));
  // As mount(8) passes them: its own flags first, ours after, then the leftovers.
  t.equal(config('rw,noexec,nosuid,nodev,password=secret,_netdev,nofail').password, 'secret', 'ignored options after password= are not taken for its rest');
});

t.test('the man page lists the same options', async (t) => {
  t.same(sorted(manOptionNames()), sorted(acceptedOptionNames().filter((n) => !KERNEL_FLAGS.includes(n))));
  for (const f of [...KERNEL_FLAGS, ...IGNORED_OPTIONS]) t.match(man, new RegExp(`^\\.BR? ${f}( ,)?$`, 'm'), `the man page names ${f}`);
});

t.test('man -l renders the page without warnings', async (t) => {
  const r = spawnSync('man', ['-l', '--warnings', manPath], { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' }, encoding: 'utf8', timeout: 30_000 });
  t.equal(r.error, undefined, 'man ran (Debian: man-db, groff-base)');
  t.equal(r.status, 0);
  t.equal(r.stderr, '', 'no warnings');
  t.match(r.stdout, /^SMBFUSE\(1\)/);
  const text = r.stdout.replace(/‐\n\s*/g, '');
  for (const n of acceptedOptionNames()) t.ok(text.includes(n), `rendered page names ${n}`);
  const strict = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', manPath], { encoding: 'utf8', timeout: 30_000 });
  t.equal(strict.stderr, '', 'groff -ww: no warnings either');
});

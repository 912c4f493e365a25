/**
 * Command line and mount options → a validated MountConfig.
 *
 *     smbfuse //HOST/SHARE[/PREFIX] MOUNTPOINT [-o opt[,opt…]] [-f] [-h] [-V]
 *
 * Option names follow mount.cifs(8) so a mount.cifs user needs no new words.
 * Where a value may come from several places the order is: an explicit `-o`
 * option, then the credentials file, then the environment (USER, PASSWD).
 *
 * The password is carried in the config (the child process needs it) but is
 * never printed: use describeConfig() for anything shown to a person. Error
 * lines never echo the value of password= or credentials=.
 */
import { readFileSync, statSync } from 'node:fs';
import { Dialect } from '../transport/types.js';
import { defaultCacheDir } from './fsc.js';
import { KERNEL_FLAGS, MOUNT_OPTIONS, isIgnoredOption, usageText } from './option-table.js';
import type { NameForm } from './path-map.js';

/** A bad command line or option; the message is the one line to print. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Process exit status to use (2 for usage errors, as getopt tools do). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Everything a mount needs, validated. Times in ms, sizes in bytes. */
export interface MountConfig {
  /** Server host name or address (IPv6 without brackets). */
  host: string;
  port: number;
  share: string;
  /** Path inside the share to mount instead of its root (SMB form, '' = root). */
  prefixPath: string;
  /** The UNC as the user wrote it, normalised to //host/share[/prefix]. */
  unc: string;
  /** Absolute mount point path. */
  mountpoint: string;
  username: string;
  password: string;
  domain: string;
  guest: boolean;
  /** `seal`: encrypt every message (SMB 3.x); the mount fails if the server or dialect cannot. */
  seal: boolean;
  /** `sign`: sign every request and verify every reply even if the server does not ask. */
  sign: boolean;
  minDialect?: Dialect;
  maxDialect?: Dialect;
  /** `ro`: answer EROFS to every change (default read-write, as mount.cifs). */
  readOnly: boolean;
  uid: number;
  gid: number;
  fileMode: number;
  dirMode: number;
  /** `modefromsid`: modes live in each file's security descriptor (S-1-5-88-3 ACE, as mount.cifs). */
  modeFromSid: boolean;
  actimeoMs: number;
  /** Largest READ we ask for; clamped to the server's MaxReadSize later. */
  rsize: number;
  /** Largest WRITE we send; clamped to the server's MaxWriteSize later. */
  wsize: number;
  /**
   * Data coherency (mount.cifs `cache=`): `strict` caches file data only
   * while a lease allows it, `loose` caches with close-to-open revalidation,
   * `none` sends every read and write straight to the server.
   */
  cache: CacheMode;
  cacheSize: number;
  readahead: number;
  /** `fsc`: keep file data in a persistent local disk cache (src/fsc.ts). */
  fsc: boolean;
  /** `cache_dir=`: where that cache lives (absolute). */
  cacheDir: string;
  /** `fsc_size=`: its bound in bytes; absent: a share of the free space there. */
  fscSize?: number;
  timeoutMs: number;
  /** Probe an idle connection with ECHO after this long (echo_interval; 0: never). */
  echoIntervalMs: number;
  /** `soft`: calls fail (EIO) after retransTimeoutMs while the server is away; `hard` (default): they wait. */
  soft: boolean;
  retransTimeoutMs: number;
  /** `unicode=`: the normalization form names are sent in (nfc, or nfd for servers that store decomposed names). */
  unicode: NameForm;
  allowOther: boolean;
  /** nosuid, nodev, noexec, suid, dev, exec as given (mount.fuse adds dev,suid), for libfuse. */
  kernelFlags: string[];
  /** Unmount by itself if the daemon dies (libfuse auto_unmount); off with noauto_unmount. */
  autoUnmount: boolean;
  debug: boolean;
  foreground: boolean;
  /** `log_file=`: where messages go instead of syslog or stderr (src/log-sink.ts). */
  logFile?: string;
  /** Demo mode: the private Samba server to stop when the mount ends. */
  demoServerDir?: string;
}

export type CacheMode = 'strict' | 'loose' | 'none';

export type ParseResult =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'mount';
      config: MountConfig;
      warnings: string[];
      /**
       * No password came from password=, user=name%pw, the credentials file
       * or PASSWD, and this is not a guest mount: the CLI asks on the
       * terminal or fails.
       */
      needsPassword: boolean;
    };

/** What the parser may look at besides argv, so tests can substitute it. */
export interface ParseEnv {
  env: Record<string, string | undefined>;
  /** Read a text file (credentials, /etc/passwd, /etc/group). */
  readFile(path: string): string;
  /** Permission bits of a file (for the credentials file warning). */
  fileMode(path: string): number;
  cwd: string;
  /** Current process uid/gid, the defaults for uid= and gid=. */
  uid: number;
  gid: number;
}

/** The real environment of this process. */
export function processParseEnv(): ParseEnv {
  return {
    env: process.env,
    readFile: (p) => readFileSync(p, 'utf8'),
    fileMode: (p) => statSync(p).mode,
    cwd: process.cwd(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  };
}

export const USAGE = usageText();

const DEFAULTS = {
  port: 445,
  fileMode: 0o755,
  dirMode: 0o755,
  /** With allow_other other local users get in: nothing for them unless asked (file_mode=, dir_mode=). */
  sharedMode: 0o750,
  actimeoMs: 1000,
  rsize: 4 * 1024 * 1024,
  wsize: 4 * 1024 * 1024,
  cacheSize: 256 * 1024 * 1024,
  readahead: 8 * 1024 * 1024,
  timeoutMs: 30_000,
  echoIntervalMs: 60_000,
  retransTimeoutMs: 10_000,
} as const;

/** vers= values and the dialect range each one offers. */
const VERSIONS: Record<string, [Dialect, Dialect]> = {
  '2.0': [Dialect.SMB2_0_2, Dialect.SMB2_0_2],
  '2.1': [Dialect.SMB2_1, Dialect.SMB2_1],
  '3': [Dialect.SMB3_0, Dialect.SMB3_1_1],
  '3.0': [Dialect.SMB3_0, Dialect.SMB3_0],
  '3.02': [Dialect.SMB3_0_2, Dialect.SMB3_0_2],
  '3.0.2': [Dialect.SMB3_0_2, Dialect.SMB3_0_2],
  '3.1.1': [Dialect.SMB3_1_1, Dialect.SMB3_1_1],
  '3.11': [Dialect.SMB3_1_1, Dialect.SMB3_1_1],
};

/** Option spellings (mount.cifs aliases) → canonical name. */
const ALIASES: Record<string, string> = Object.fromEntries(
  MOUNT_OPTIONS.flatMap((o) => [o.name, ...(o.aliases ?? [])].map((n) => [n, o.name])),
);

/** Options that take no value. */
const FLAGS = new Set(MOUNT_OPTIONS.filter((o) => o.value === undefined).map((o) => o.name));
/** Options that need a value. */
const VALUED = new Set(MOUNT_OPTIONS.filter((o) => o.value !== undefined).map((o) => o.name));

/** Every option name the parser takes as its own, aliases included (a test holds --help to this list). */
export function acceptedOptionNames(): string[] {
  return [...new Set([...FLAGS, ...VALUED, ...Object.keys(ALIASES), ...KERNEL_FLAGS])];
}

/**
 * Parse argv (without node and script) into a config, or a help/version request.
 * Throws ConfigError with a one-line message on any bad input.
 */
export function parseArgs(argv: readonly string[], pe: ParseEnv = processParseEnv()): ParseResult {
  const positional: string[] = [];
  const optStrings: string[] = [];
  let foreground = false;
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (a === '-V' || a === '--version') return { kind: 'version' };
    if (a === '-f') foreground = true;
    else if (a === '-d') foreground = debug = true;
    else if (a === '-o') {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError("smbfuse: option '-o' needs a value");
      optStrings.push(v);
    } else if (a.startsWith('-o') && a.length > 2) optStrings.push(a.slice(2));
    else if (a.startsWith('-') && a.length > 1) throw new ConfigError(`smbfuse: unknown argument '${a}'`);
    else positional.push(a);
  }
  if (positional.length !== 2) {
    throw new ConfigError(
      positional.length < 2
        ? 'smbfuse: need //HOST/SHARE and MOUNTPOINT (try smbfuse -h)'
        : `smbfuse: unexpected argument '${positional[2]}'`,
    );
  }
  const unc = parseUnc(positional[0]!);
  const opts = splitOptions(optStrings);
  const warnings: string[] = [];
  const { config, needsPassword } = buildConfig(unc, resolvePath(pe.cwd, positional[1]!), opts, pe, warnings);
  config.foreground = foreground;
  if (debug) config.debug = true;
  return { kind: 'mount', config, warnings, needsPassword };
}

/** `//host/share[/prefix]` or `\\host\share[\prefix]`, host possibly `[v6]`. */
export function parseUnc(s: string): { host: string; share: string; prefixPath: string; unc: string } {
  const bad = () => new ConfigError(`smbfuse: bad share '${s}': expected //HOST/SHARE`);
  if (!/^(\/\/|\\\\)/.test(s)) throw bad();
  const rest = s.slice(2).replace(/\\/g, '/');
  let host: string;
  let after: string;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw bad();
    host = rest.slice(1, end);
    after = rest.slice(end + 1);
    if (!host.includes(':')) throw bad();
  } else {
    const slash = rest.indexOf('/');
    host = slash < 0 ? rest : rest.slice(0, slash);
    after = slash < 0 ? '' : rest.slice(slash);
  }
  const parts = after.split('/').filter((p) => p !== '');
  const share = parts.shift();
  if (!host || !share || !after.startsWith('/')) throw bad();
  const hostForUnc = host.includes(':') ? `[${host}]` : host;
  const prefix = parts.join('/');
  return {
    host,
    share,
    prefixPath: parts.join('\\'),
    unc: `//${hostForUnc}/${share}${prefix ? '/' + prefix : ''}`,
  };
}

/**
 * Split `-o` strings on commas into [name, value|undefined] pairs. As in
 * mount.cifs, a doubled comma is a literal comma inside the current item
 * (`password=a,,b` is the password `a,b`), read left to right.
 */
export function splitOptions(optStrings: readonly string[]): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  for (const s of optStrings) {
    for (const item of splitEscaped(s)) {
      if (item === '') continue;
      const eq = item.indexOf('=');
      const rawName = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? undefined : item.slice(eq + 1);
      // Without a value `user` is mount(8)'s "users may mount this", not user=NAME.
      out.push([value === undefined && isIgnoredOption(rawName, value) ? rawName : (ALIASES[rawName] ?? rawName), value]);
    }
  }
  return out;
}

/** `a,b,,c` → ['a', 'b,c']. */
function splitEscaped(s: string): string[] {
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== ',') cur += s[i];
    else if (s[i + 1] === ',') {
      cur += ',';
      i++;
    } else {
      items.push(cur);
      cur = '';
    }
  }
  items.push(cur);
  return items;
}

/** Apply options over defaults and the environment; validate everything. */
function buildConfig(
  unc: ReturnType<typeof parseUnc>,
  mountpoint: string,
  opts: Array<[string, string | undefined]>,
  pe: ParseEnv,
  warnings: string[],
): { config: MountConfig; needsPassword: boolean } {
  const c: MountConfig = {
    ...unc,
    port: DEFAULTS.port,
    mountpoint,
    username: '',
    password: '',
    domain: '',
    guest: false,
    seal: false,
    sign: false,
    readOnly: false,
    uid: pe.uid,
    gid: pe.gid,
    fileMode: DEFAULTS.fileMode,
    dirMode: DEFAULTS.dirMode,
    modeFromSid: false,
    actimeoMs: DEFAULTS.actimeoMs,
    rsize: DEFAULTS.rsize,
    wsize: DEFAULTS.wsize,
    cache: 'strict',
    cacheSize: DEFAULTS.cacheSize,
    readahead: DEFAULTS.readahead,
    fsc: false,
    cacheDir: defaultCacheDir(pe.env, pe.uid),
    timeoutMs: DEFAULTS.timeoutMs,
    echoIntervalMs: DEFAULTS.echoIntervalMs,
    soft: false,
    retransTimeoutMs: DEFAULTS.retransTimeoutMs,
    unicode: 'nfc',
    allowOther: false,
    kernelFlags: [],
    autoUnmount: true,
    debug: false,
    foreground: false,
  };
  const explicit: { username?: string; password?: string; domain?: string } = {};
  let cred: { username?: string; password?: string; domain?: string } = {};
  let anonymous = false;
  let afterPassword = false;
  for (const [name, value] of opts) {
    // An unknown item right after a password (password=, user=name%pw) is
    // most likely the rest of it, cut at a single comma: say so without
    // echoing any of it.
    if (afterPassword && !FLAGS.has(name) && !VALUED.has(name) && !KERNEL_FLAGS.includes(name) && !isIgnoredOption(name, value)) {
      throw new ConfigError("smbfuse: unknown option after password= (write a comma in a password as ',,')");
    }
    afterPassword = name === 'password' || (name === 'username' && value?.includes('%') === true);
    applyOption(name, value);
  }
  function applyOption(name: string, value: string | undefined): void {
    if (isIgnoredOption(name, value)) return;
    if (FLAGS.has(name) || KERNEL_FLAGS.includes(name)) {
      if (value !== undefined) throw new ConfigError(`smbfuse: option '${name}' takes no value`);
      applyFlag(c, name);
      return;
    }
    if (!VALUED.has(name)) throw new ConfigError(`smbfuse: unknown option '${name}'`);
    if (value === undefined) throw new ConfigError(`smbfuse: option '${name}' needs a value`);
    if (name === 'username') explicit.username = value;
    else if (name === 'password') explicit.password = value;
    else if (name === 'domain') explicit.domain = value;
    else if (name === 'log_file') c.logFile = resolvePath(pe.cwd, value);
    else if (name === 'cache_dir') c.cacheDir = resolvePath(pe.cwd, value);
    else if (name === 'credentials') cred = readCredentials(resolvePath(pe.cwd, value), pe, warnings);
    else if (name === 'sec') {
      anonymous = parseSec(value);
      if (anonymous) c.guest = true;
    } else applyValued(c, name, value, pe);
  }
  const needsPassword = resolveIdentity(c, explicit, cred, pe.env);
  if (anonymous) c.username = '';
  applySharedModes(c, opts, warnings);
  return { config: c, needsPassword };
}

/**
 * allow_other lets every local user reach the mount, with the kernel
 * checking the modes we report: file_mode and dir_mode not given default to
 * 0750 instead of 0755, and one warning says so when the modes given let
 * others read files or list directories.
 */
function applySharedModes(c: MountConfig, opts: Array<[string, string | undefined]>, warnings: string[]): void {
  if (!c.allowOther) return;
  const given = new Set(opts.map(([name]) => name));
  if (!given.has('file_mode')) c.fileMode = DEFAULTS.sharedMode;
  if (!given.has('dir_mode')) c.dirMode = DEFAULTS.sharedMode;
  const othersRead = (c.fileMode & 0o004) !== 0 && (c.dirMode & 0o001) !== 0;
  const othersList = (c.dirMode & 0o005) === 0o005;
  if (!othersRead && !othersList) return;
  const modes = `file_mode=0${c.fileMode.toString(8)},dir_mode=0${c.dirMode.toString(8)}`;
  const what = othersRead ? 'read every file' : 'list every directory';
  const which = c.modeFromSid ? ' without a mode of its own on the server' : '';
  warnings.push(`smbfuse: warning: allow_other with ${modes} lets every local user ${what}${which}`);
}

/**
 * mount.cifs `sec=`: NTLMSSP with NTLMv2 is what we speak (`ntlmssp`, and
 * `ntlmv2`, which the kernel also sends inside NTLMSSP); `none` is an
 * anonymous (null user) guest session. Returns whether it was `none`.
 */
function parseSec(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'none') return true;
  if (v === 'ntlmssp' || v === 'ntlmv2') return false;
  throw new ConfigError(`smbfuse: sec=${value} is not supported (use sec=ntlmssp, sec=ntlmv2 or sec=none)`);
}

/** Set a no-value option. */
function applyFlag(c: MountConfig, name: string): void {
  switch (name) {
    case 'guest': c.guest = true; break;
    case 'rw': c.readOnly = false; break;
    case 'ro': c.readOnly = true; break;
    case 'allow_other': c.allowOther = true; break;
    case 'debug': c.debug = true; break;
    case 'seal': c.seal = true; break;
    case 'hard': c.soft = false; break;
    case 'soft': c.soft = true; break;
    case 'sign': c.sign = true; break;
    case 'modefromsid': c.modeFromSid = true; break;
    case 'fsc': c.fsc = true; break;
    case 'noauto_unmount': c.autoUnmount = false; break;
    default: {
      // KERNEL_FLAGS: of suid/nosuid (dev/nodev, exec/noexec) the last given counts, as with mount(8).
      const base = name.replace(/^no/, '');
      c.kernelFlags = c.kernelFlags.filter((f) => f.replace(/^no/, '') !== base);
      c.kernelFlags.push(name);
    }
  }
}

/** Whole seconds a Node timer can hold: setTimeout fires at once past 2^31-1 ms. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * Numeric options: how the value is read and the range it must fall in
 * (inclusive). rsize/wsize: at least a page, at most the receiver's 16 MiB
 * frame bound; cache_size: at least four 256 KiB folios.
 */
const seconds = (min: number) => ({ parse: parseUint, min, max: MAX_TIMER_SECONDS, range: `${min} to ${MAX_TIMER_SECONDS} seconds` });
const NUMERIC: Record<string, { parse: (s: string) => number | undefined; min: number; max: number; range: string }> = {
  port: { parse: parseUint, min: 1, max: 65535, range: '1 to 65535' },
  actimeo: seconds(0),
  timeout: seconds(1),
  echo_interval: seconds(0),
  retrans_timeout: seconds(1),
  rsize: { parse: parseSize, min: 4096, max: 16 * 1024 ** 2, range: '4K to 16M' },
  wsize: { parse: parseSize, min: 4096, max: 16 * 1024 ** 2, range: '4K to 16M' },
  cache_size: { parse: parseSize, min: 1024 ** 2, max: 1024 ** 4, range: '1M to 1T' },
  readahead: { parse: parseSize, min: 0, max: 1024 ** 3, range: '0 to 1G' },
  fsc_size: { parse: parseSize, min: 16 * 1024 ** 2, max: 2 ** 50, range: '16M to 1P' },
};

/** The value of numeric option `name`, or a ConfigError naming its range. */
function numericOption(name: string, value: string): number {
  const r = NUMERIC[name]!;
  const n = r.parse(value);
  if (n !== undefined && n >= r.min && n <= r.max) return n;
  throw new ConfigError(`smbfuse: bad value for ${name}: '${value}' (${r.range})`);
}

/** Set one option that has a value (not the identity options). */
function applyValued(c: MountConfig, name: string, value: string, pe: ParseEnv): void {
  const bad = () => new ConfigError(`smbfuse: bad value for ${name}: '${value}'`);
  switch (name) {
    case 'port': c.port = numericOption(name, value); break;
    case 'vers': {
      if (value === 'default') {
        delete c.minDialect;
        delete c.maxDialect;
        break;
      }
      const r = VERSIONS[value];
      if (!r) throw bad();
      [c.minDialect, c.maxDialect] = r;
      break;
    }
    case 'uid': c.uid = lookupId(value, '/etc/passwd', pe) ?? failWith(bad()); break;
    case 'gid': c.gid = lookupId(value, '/etc/group', pe) ?? failWith(bad()); break;
    case 'file_mode': c.fileMode = parseMode(value) ?? failWith(bad()); break;
    case 'dir_mode': c.dirMode = parseMode(value) ?? failWith(bad()); break;
    case 'actimeo': c.actimeoMs = numericOption(name, value) * 1000; break;
    case 'echo_interval': c.echoIntervalMs = numericOption(name, value) * 1000; break;
    case 'timeout': c.timeoutMs = numericOption(name, value) * 1000; break;
    case 'retrans_timeout': c.retransTimeoutMs = numericOption(name, value) * 1000; break;
    case 'rsize': c.rsize = numericOption(name, value); break;
    case 'wsize': c.wsize = numericOption(name, value); break;
    case 'cache':
      if (value !== 'strict' && value !== 'loose' && value !== 'none') throw bad();
      c.cache = value;
      break;
    case 'unicode': {
      const form = value.toLowerCase();
      if (form !== 'nfc' && form !== 'nfd') throw new ConfigError(`smbfuse: bad value for unicode: '${value}' (nfc or nfd)`);
      c.unicode = form;
      break;
    }
    case 'cache_size': c.cacheSize = numericOption(name, value); break;
    case 'readahead': c.readahead = numericOption(name, value); break;
    case 'fsc_size': c.fscSize = numericOption(name, value); break;
  }
}

/** Throw helper usable in expressions. */
function failWith(e: Error): never {
  throw e;
}

/**
 * Settle username/password/domain. mount.cifs accepts `user=DOMAIN/name`
 * (or `DOMAIN\name`) and `user=name%password`; USER and PASSWD come last.
 * Returns true when no password was given anywhere and this is not a guest
 * mount (an empty `password=` or an empty PASSWD counts as given).
 */
function resolveIdentity(
  c: MountConfig,
  explicit: { username?: string; password?: string; domain?: string },
  cred: { username?: string; password?: string; domain?: string },
  env: Record<string, string | undefined>,
): boolean {
  let user = explicit.username ?? cred.username ?? env['USER'] ?? '';
  let password = explicit.password ?? cred.password;
  let domain = explicit.domain ?? cred.domain;
  const pct = user.indexOf('%');
  if (pct >= 0) {
    password ??= user.slice(pct + 1);
    user = user.slice(0, pct);
  }
  const sep = user.search(/[/\\]/);
  if (sep >= 0) {
    domain ??= user.slice(0, sep);
    user = user.slice(sep + 1);
  }
  c.username = user;
  password ??= env['PASSWD'];
  c.password = password ?? '';
  c.domain = domain ?? '';
  if (c.guest) c.password = '';
  return password === undefined && !c.guest;
}

/**
 * Read a mount.cifs credentials file: `username=`, `password=`, `domain=`
 * lines (also `user=`, `pass=`, `dom=`); blank and '#' lines ignored. Warns
 * when group or others may read it.
 */
export function readCredentials(
  path: string,
  pe: ParseEnv,
  warnings: string[],
): { username?: string; password?: string; domain?: string } {
  let text: string;
  try {
    text = pe.readFile(path);
    if ((pe.fileMode(path) & 0o077) !== 0) {
      warnings.push('smbfuse: warning: the credentials= file is readable by group or others');
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`smbfuse: cannot read the credentials= file (${code})`, 1);
  }
  const out: { username?: string; password?: string; domain?: string } = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = ALIASES[line.slice(0, eq).trim().toLowerCase()];
    const value = line.slice(eq + 1);
    if (key === 'username') out.username = value.trim();
    else if (key === 'password') out.password = value;
    else if (key === 'domain') out.domain = value.trim();
  }
  return out;
}

/** A decimal number or a name looked up in a passwd/group-format file. */
function lookupId(value: string, file: string, pe: ParseEnv): number | undefined {
  const n = parseUint(value);
  if (n !== undefined) return n < 0xffffffff ? n : undefined; // 2^32-1 is (uid_t)-1, "no id"
  let text: string;
  try {
    text = pe.readFile(file);
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === value && f[2] !== undefined) {
      const id = parseUint(f[2]);
      return id !== undefined && id < 0xffffffff ? id : undefined;
    }
  }
  return undefined;
}

/** A non-negative decimal integer, or undefined. */
export function parseUint(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Octal permission bits (`0644` or `644`), at most 07777. */
export function parseMode(s: string): number | undefined {
  if (!/^0?[0-7]{1,4}$/.test(s)) return undefined;
  const n = parseInt(s, 8);
  return n <= 0o7777 ? n : undefined;
}

/** Bytes with an optional K/M/G/T suffix (powers of 1024, `KB`/`KiB` too). */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+)\s*([kmgt])?(i?b)?$/i.exec(s.trim());
  if (!m) return undefined;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  if (m[3] && !m[2] && m[3].toLowerCase() !== 'b') return undefined;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Absolute path of `p` against `cwd`, without trailing slash. */
function resolvePath(cwd: string, p: string): string {
  const abs = p.startsWith('/') ? p : `${cwd.replace(/\/$/, '')}/${p}`;
  const parts: string[] = [];
  for (const seg of abs.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** The config as safe-to-print text (password replaced). */
export function describeConfig(c: MountConfig): string {
  const shown = { ...c, password: c.password ? '********' : '' };
  return JSON.stringify(shown);
}

/**
 * The one list of `-o` options: the parser accepts exactly these names
 * (config.ts), `smbfuse --help` prints them, and a unit test holds the man
 * page (man/smbfuse.1) to them. Adding an option means adding it here.
 */

export interface OptionSpec {
  /** Canonical name (mount.cifs spelling). */
  name: string;
  /** Other spellings that mean the same option. */
  aliases?: readonly string[];
  /** Form of the value, e.g. `N` or `strict|loose|none`; absent for an option without a value. */
  value?: string;
  /** The default as shown to a person; absent for an option without a value (off unless given). */
  default?: string;
  /** `name=default` is a valid option equal to leaving it out (a test holds the help text to this). */
  defaultIsValue?: true;
  /** One line. */
  meaning: string;
}

export const MOUNT_OPTIONS: readonly OptionSpec[] = [
  { name: 'username', aliases: ['user'], value: 'NAME', default: '$USER', meaning: 'user to log in as (or DOMAIN/NAME, NAME%PASSWORD)' },
  { name: 'password', aliases: ['pass'], value: 'PASSWORD', default: '$PASSWD, else a prompt', meaning: "password; a comma in it is written ',,'" },
  { name: 'credentials', aliases: ['cred'], value: 'FILE', default: 'none', meaning: 'file of username=, password=, domain= lines' },
  { name: 'domain', aliases: ['dom', 'workgroup'], value: 'NAME', default: 'none', meaning: 'domain (workgroup) of the user' },
  { name: 'guest', meaning: 'log on as guest, without a password' },
  { name: 'sec', value: 'ntlmssp|ntlmv2|none', default: 'ntlmssp', defaultIsValue: true, meaning: 'authentication; none is an anonymous guest session' },
  { name: 'port', value: 'N', default: '445', defaultIsValue: true, meaning: 'TCP port of the server' },
  { name: 'vers', value: '2.0|2.1|3|3.0|3.02|3.1.1|default', default: 'default', defaultIsValue: true, meaning: "SMB dialect; 'default': the best both sides support" },
  { name: 'seal', meaning: 'encrypt every message; the mount fails if the server cannot' },
  { name: 'sign', meaning: 'sign every request and check every reply signature' },
  { name: 'uid', value: 'UID|NAME', default: 'the mounting user', meaning: 'owner shown for every file' },
  { name: 'gid', value: 'GID|NAME', default: 'the mounting group', meaning: 'group shown for every file' },
  { name: 'file_mode', value: 'MODE', default: '0755 (0750 with allow_other)', meaning: 'mode shown for files' },
  { name: 'dir_mode', value: 'MODE', default: '0755 (0750 with allow_other)', meaning: 'mode shown for directories' },
  { name: 'modefromsid', meaning: "keep each file's mode in its security descriptor" },
  { name: 'allow_other', meaning: 'let other local users in (checked against uid, gid, modes)' },
  { name: 'cache', value: 'strict|loose|none', default: 'strict', defaultIsValue: true, meaning: 'data caching: under a lease, close-to-open, or none' },
  { name: 'actimeo', value: 'SECONDS', default: '1', defaultIsValue: true, meaning: 'how long attributes and listings are cached' },
  { name: 'cache_size', value: 'BYTES', default: '256M', defaultIsValue: true, meaning: 'page cache bound (1M to 1T)' },
  { name: 'fsc', meaning: 'keep file data in a persistent local disk cache (checked against the server at each open)' },
  { name: 'cache_dir', value: 'DIR', default: '$XDG_CACHE_HOME/smbfuse, ~/.cache/smbfuse, /var/cache/smbfuse for root', meaning: 'where the fsc disk cache lives' },
  { name: 'fsc_size', value: 'BYTES', default: '10% of the free space there (64M to 10G)', meaning: 'disk cache bound (16M to 1P); cache_size bounds memory' },
  { name: 'readahead', value: 'BYTES', default: '8M', defaultIsValue: true, meaning: 'largest readahead (0 to 1G)' },
  { name: 'rsize', value: 'BYTES', default: '4M', defaultIsValue: true, meaning: 'largest READ (4K to 16M, at most the server allows)' },
  { name: 'wsize', value: 'BYTES', default: '4M', defaultIsValue: true, meaning: 'largest WRITE (4K to 16M, at most the server allows)' },
  { name: 'timeout', value: 'SECONDS', default: '30', defaultIsValue: true, meaning: 'a call to a silent server fails (ETIMEDOUT) after this' },
  { name: 'echo_interval', value: 'SECONDS', default: '60', defaultIsValue: true, meaning: 'probe an idle connection after this; no answer in twice this: reconnect (0: never)' },
  { name: 'hard', meaning: 'while the server is away, calls wait until it is back (the default)' },
  { name: 'soft', meaning: 'while the server is away, a call fails with EIO after retrans_timeout' },
  { name: 'retrans_timeout', value: 'SECONDS', default: '10', defaultIsValue: true, meaning: 'with soft: how long a call waits for a lost server' },
  { name: 'unicode', value: 'nfc|nfd', default: 'nfc', defaultIsValue: true, meaning: 'Unicode form names are sent in (nfd for servers that store decomposed names)' },
  { name: 'ro', meaning: 'read-only mount' },
  { name: 'rw', meaning: 'read-write mount (the default)' },
  { name: 'noauto_unmount', meaning: 'leave the mount in place (ENOTCONN) if the daemon dies; needed for suid, dev' },
  { name: 'debug', meaning: 'trace every FUSE call and SMB command (status, time) to the log' },
  { name: 'log_file', value: 'PATH', default: 'syslog, or stderr with -f', meaning: 'where messages go' },
];

/**
 * Options of mount(8), fstab and systemd that are not ours: accepted and
 * ignored, so an fstab line or a mount unit works. Seen on Debian 12:
 * libmount keeps x-*, comment=, defaults, noauto and owner to itself and
 * turns user into noexec,nosuid,nodev; mount.fuse then drops _netdev, user,
 * users, nouser, auto, noauto and adds dev,suid unless nodev/nosuid; nofail
 * reaches us. A script or another helper may pass any of them.
 */
export const IGNORED_OPTIONS: readonly string[] = ['_netdev', 'auto', 'noauto', 'nofail', 'defaults', 'user', 'users', 'nouser', 'owner'];

/** Prefixes of ignored options that carry a value: `x-systemd.automount`, `comment=systemd.automount`. */
export const IGNORED_PREFIXES: readonly string[] = ['x-', 'comment='];

/**
 * Generic mount flags handed to libfuse, which applies them to the mount
 * (mount.fuse adds `dev,suid` unless told otherwise; `noexec` and friends
 * must not be dropped silently).
 */
export const KERNEL_FLAGS: readonly string[] = ['suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec'];

/** Whether `name` (lower case, with any `=value`) is an ignored mount/fstab/systemd option. */
export function isIgnoredOption(name: string, value: string | undefined): boolean {
  if (value === undefined && IGNORED_OPTIONS.includes(name)) return true;
  const item = value === undefined ? name : `${name}=`;
  return IGNORED_PREFIXES.some((p) => item.startsWith(p));
}

/** `--help` text: usage, arguments, then one line per option from the table. */
export function usageText(): string {
  const col = 30;
  const row = (left: string, right: string) => `  ${left.padEnd(col - 2)}${left.length > col - 3 ? `\n${' '.repeat(col)}` : ''}${right}`;
  const options = MOUNT_OPTIONS.map((o) => {
    const also = o.aliases?.length ? `, ${o.aliases.map((a) => (o.value ? `${a}=` : a)).join(', ')}` : '';
    const left = (o.value ? `${o.name}=${o.value}` : o.name) + also;
    return row(left, o.default !== undefined ? `${o.meaning} [default: ${o.default}]` : o.meaning);
  });
  return [
    'usage: smbfuse //HOST/SHARE[/PATH] MOUNTPOINT [-o OPT[,OPT...]] [-f] [-h] [-V]',
    '       smbfuse [--demo [MOUNTPOINT]]   (no server: mount a local demo Samba share)',
    '       smbfuse stats MOUNTPOINT [--json]   (a mount\'s statistics)',
    '',
    'Mount an SMB2/3 share through FUSE (read-write unless ro), in the background',
    'unless -f; exits 0 once the mount is usable. Also: mount -t fuse.smbfuse',
    '//HOST/SHARE MOUNTPOINT -o OPTS, and fstab lines of type fuse.smbfuse.',
    '',
    row('-o OPTS', "comma-separated options below (',,' is a comma in a value)"),
    row('-f', 'stay in the foreground'),
    row('-d', 'debug (-o debug) in the foreground'),
    row('-h, --help', 'show this help'),
    row('-V, --version', 'show the version'),
    '',
    'Options (mount.cifs names):',
    ...options,
    '',
    `Passed to the kernel: ${KERNEL_FLAGS.join(', ')}.`,
    'Accepted and ignored (they belong to mount, fstab or systemd):',
    `  ${IGNORED_OPTIONS.join(', ')}, x-*, comment=*.`,
    'Environment: USER (default user name), PASSWD (password).',
    'Without a password (and not guest) it asks on the terminal, if there is one.',
    'See smbfuse(1).',
  ].join('\n');
}

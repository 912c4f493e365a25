/**
 * A real Samba server for integration and end-to-end tests.
 *
 * `startSamba()` runs `scripts/samba-start.sh`, which starts a private smbd on
 * 127.0.0.1 with all its state in a temp dir, and parses the `KEY=value` lines
 * it prints. One server is shared by every caller in a test file (each tap test
 * file is its own process); it is stopped by `stop()` or, failing that, when the
 * process exits.
 *
 * When the suite runner (`scripts/test-all.sh`) has already started a server and
 * exported `SMB_DIR`, `SMB_PORT`, … the helper uses that one instead, and its
 * `stop()` leaves it running (the runner owns it). Asking for `extraGlobal`
 * always starts a separate server of this file's own, since its [global]
 * section differs.
 *
 * Shares: `test` (read-write, force user root), `ro`, `guest`, `encrypted`
 * (SMB3 encryption required). See scripts/samba-start.sh for the reasons.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as path from 'node:path';

const run = promisify(execFile);

const scriptsDir = fileURLToPath(new URL('../../scripts/', import.meta.url));
const startScript = path.join(scriptsDir, 'samba-start.sh');
const stopScript = path.join(scriptsDir, 'samba-stop.sh');

/** Options for {@link startSamba}. */
export interface SambaOptions {
  /** Lines appended to smb.conf's [global], e.g. `server signing = mandatory`. */
  extraGlobal?: string;
}

/** A running Samba server and how to reach it. */
export interface SambaServer {
  /** Temp dir holding smb.conf, state and share data. */
  dir: string;
  host: string;
  port: number;
  user: string;
  pass: string;
  /** Local directory behind the `[test]` share: files put here appear on the share. */
  sharePath: string;
  /** Local directories behind `[ro]`, `[guest]` and `[encrypted]`. */
  roPath: string;
  guestPath: string;
  encPath: string;
  /** The [perms] share: no force user, so POSIX permissions deny the SMB user what they deny. */
  permsPath: string;
  /** `//127.0.0.1/test` (the port is separate, as with mount.cifs' `port=`). */
  url: string;
  /** PID of smbd (changes across {@link SambaServer.restart}). */
  pid: number;
  /** True when this process started the server (false: reused from env). */
  owned: boolean;
  /** `//127.0.0.1/<share>`. */
  urlFor(share: 'test' | 'ro' | 'guest' | 'encrypted' | 'perms'): string;
  /** Stops smbd and the processes serving its connections (none serves a request after this), keeping its dir and data, so clients see the server go away. */
  pause(): Promise<void>;
  /** Starts smbd again in the same dir on the same port after {@link SambaServer.pause}. */
  resume(): Promise<void>;
  /** pause() then resume(), waiting `downMs` between (default 0). */
  restart(downMs?: number): Promise<void>;
  /** Stops the server and removes its dir if this process started it; otherwise nothing. */
  stop(): Promise<void>;
}

/** Parses the `KEY=value` lines of samba-start.sh (values quoted by bash's `%q`). */
export function parseSambaEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("$'") && v.endsWith("'")) v = v.slice(2, -1);
    else if (v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1);
    // %q escapes spaces and shell metacharacters with a backslash.
    out[m[1]!] = v.replace(/\\(.)/g, '$1');
  }
  return out;
}

/** Builds a SambaServer from parsed variables; `owned` decides what stop() does. */
function makeServer(env: Record<string, string>, owned: boolean, key: string): SambaServer {
  const need = (k: string): string => {
    const v = env[k];
    if (v === undefined || v === '') throw new Error(`samba-start.sh did not print ${k}`);
    return v;
  };
  const dir = need('SMB_DIR');
  const host = env.SMB_HOST || '127.0.0.1';
  const sharesDir = path.join(dir, 'shares');
  let stopped = false;
  const server: SambaServer = {
    dir,
    host,
    port: Number(need('SMB_PORT')),
    user: need('SMB_USER'),
    pass: need('SMB_PASS'),
    sharePath: env.SMB_SHARE_PATH || path.join(sharesDir, 'test'),
    roPath: env.SMB_RO_PATH || path.join(sharesDir, 'ro'),
    guestPath: env.SMB_GUEST_PATH || path.join(sharesDir, 'guest'),
    encPath: env.SMB_ENC_PATH || path.join(sharesDir, 'encrypted'),
    permsPath: env.SMB_PERMS_PATH || path.join(sharesDir, 'perms'),
    url: `//${host}/test`,
    pid: Number(env.SMB_PID || 0),
    owned,
    urlFor: (share) => `//${host}/${share}`,
    async pause() {
      await run('bash', [stopScript, '--keep', dir], { timeout: 30_000 });
    },
    async resume() {
      const { stdout } = await run('bash', [startScript, dir], {
        timeout: 60_000,
        env: { ...process.env, SMB_FORCE_PORT: String(server.port), EXTRA_GLOBAL: env.EXTRA_GLOBAL ?? '' },
      });
      server.pid = Number(parseSambaEnv(stdout).SMB_PID || 0);
    },
    async restart(downMs = 0) {
      await server.pause();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await server.resume();
    },
    async stop() {
      if (!owned || stopped) return;
      stopped = true;
      servers.delete(key);
      await run('bash', [stopScript, dir], { timeout: 30_000 });
    },
  };
  if (owned) {
    // Last resort: never leave an smbd behind when a test file crashes.
    process.once('exit', () => {
      if (!stopped) spawnSync('bash', [stopScript, dir], { stdio: 'ignore', timeout: 20_000 });
    });
  }
  return server;
}

/** Servers of this process, keyed by their extraGlobal text ('' = plain). */
const servers = new Map<string, Promise<SambaServer>>();

/**
 * Returns this test file's Samba server, starting it on first use.
 * Rejects with samba-start.sh's stderr when the server cannot start; tests must
 * not turn that into a skip.
 */
export function startSamba(opts: SambaOptions = {}): Promise<SambaServer> {
  const extraGlobal = opts.extraGlobal ?? '';
  const cached = servers.get(extraGlobal);
  if (cached) return cached;
  let p: Promise<SambaServer>;
  if (extraGlobal === '' && process.env.SMB_PORT && process.env.SMB_DIR) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('SMB_') && v !== undefined) env[k] = v;
    p = Promise.resolve(makeServer(env, false, extraGlobal));
  } else {
    p = run('bash', [startScript], {
      timeout: 600_000, // may apt-get install samba on a fresh machine
      env: { ...process.env, EXTRA_GLOBAL: extraGlobal },
      maxBuffer: 16 << 20,
    }).then(
      ({ stdout }) => makeServer({ ...parseSambaEnv(stdout), EXTRA_GLOBAL: extraGlobal }, true, extraGlobal),
      (err: Error & { stderr?: string }) => {
        servers.delete(extraGlobal);
        throw new Error(`scripts/samba-start.sh failed: ${err.message}\n${err.stderr ?? ''}`);
      },
    );
  }
  servers.set(extraGlobal, p);
  return p;
}

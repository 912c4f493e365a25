/**
 * Demo mode: `smbfuse` with no server given starts a private Samba share on
 * loopback (scripts/samba-start.sh installs Samba with apt if it is missing),
 * puts a few files in it and mounts it, so a new user sees the filesystem work
 * before pointing it at a real server. The demo server is stopped again when
 * the mount ends.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the demo server keeps its config, state and share data. */
export const DEMO_SERVER_DIR = '/tmp/smbfuse-demo-server';
export const DEMO_MOUNTPOINT = '/tmp/smbfuse-demo';

/** scripts/ of this checkout, from dist/src/demo.js or src/demo.ts. */
function scriptsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../scripts', '../scripts']) {
    const p = path.resolve(here, up);
    if (existsSync(path.join(p, 'samba-start.sh'))) return p;
  }
  throw new Error('cannot find scripts/samba-start.sh next to smbfuse');
}

/** Stop the demo server if one is running (by the PID it recorded). */
export function stopDemoServer(dir = DEMO_SERVER_DIR): void {
  if (!existsSync(path.join(dir, 'smb.conf'))) return;
  spawnSync('bash', [path.join(scriptsDir(), 'samba-stop.sh'), dir], { stdio: 'ignore' });
}

/**
 * Start the demo server and fill its share. Returns the mount arguments
 * (UNC, mount point, -o options) for the ordinary mount path.
 */
export function startDemo(mountpoint = DEMO_MOUNTPOINT): { args: string[]; dir: string } {
  stopDemoServer();
  const r = spawnSync('bash', [path.join(scriptsDir(), 'samba-start.sh'), DEMO_SERVER_DIR], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error('could not start the demo Samba server (see the lines above)');
  const env: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  const share = env.SMB_SHARE_PATH;
  if (!share || !env.SMB_PORT) throw new Error('demo Samba server did not report its port and share');
  writeFileSync(
    path.join(share, 'README.txt'),
    'This file lives on a demo Samba share on 127.0.0.1, read through smbfuse.\n',
  );
  mkdirSync(path.join(share, 'docs', 'Überblick'), { recursive: true });
  writeFileSync(path.join(share, 'docs', 'Überblick', 'hello.txt'), 'Hello from SMB!\n');
  writeFileSync(path.join(share, 'docs', 'random-1MiB.bin'), Buffer.alloc(1 << 20, 0x5a));
  mkdirSync(mountpoint, { recursive: true });
  return {
    dir: DEMO_SERVER_DIR,
    args: [
      `//127.0.0.1/test`,
      mountpoint,
      '-o',
      `port=${env.SMB_PORT},username=${env.SMB_USER},password=${env.SMB_PASS}`,
    ],
  };
}

/**
 * Where a mount's statistics socket lives: a unix stream socket named after
 * a hash of the mount point (so any path fits in sun_path), in a directory
 * only its user can enter:
 *   root:    /run/smbfuse/
 *   others:  $XDG_RUNTIME_DIR/smbfuse/, else /tmp/smbfuse-UID/
 * The daemon serves one JSON snapshot per connection (stats-server.ts);
 * `smbfuse stats MOUNTPOINT` reads it (stats-client.ts).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

export function statsSocketDir(uid: number, env: NodeJS.ProcessEnv): string {
  if (uid === 0) return '/run/smbfuse';
  if (env['XDG_RUNTIME_DIR']) return path.join(env['XDG_RUNTIME_DIR'], 'smbfuse');
  return `/tmp/smbfuse-${uid}`;
}

/**
 * The mount point with symlinks above it resolved, without looking at the
 * mount point itself (that would be a call into the mount, which may hang).
 */
export function canonicalMountPath(p: string): string {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  let dir = path.dirname(abs);
  try {
    dir = realpathSync(dir);
  } catch {
    // Keep the lexical path; the socket will not be found and the caller says so.
  }
  return path.join(dir, path.basename(abs));
}

export function statsSocketPath(mountpoint: string, uid: number, env: NodeJS.ProcessEnv): string {
  const id = createHash('sha256').update(canonicalMountPath(mountpoint)).digest('hex').slice(0, 24);
  return path.join(statsSocketDir(uid, env), `${id}.sock`);
}

/**
 * Make the socket directory (mode 0700) and check that it is ours and shut
 * to others; the reason it is not usable, or null.
 */
export function prepareSocketDir(dir: string, uid: number): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (st.uid !== uid) return `${dir} belongs to uid ${st.uid}`;
    if ((st.mode & 0o077) !== 0) return `${dir} is open to other users (mode 0${(st.mode & 0o777).toString(8)})`;
    return null;
  } catch (e) {
    return `cannot make ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

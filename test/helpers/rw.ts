/**
 * Helpers for the read-write end-to-end tests (test/e2e/rw-*.test.ts): running
 * shell tools with their output and status captured, a seeded PRNG, and a
 * generator of source-like trees (many small text files in nested directories).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile, utimes } from 'node:fs/promises';
import * as path from 'node:path';

/** What a command did. */
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `cmd` with `bash -c` (so pipes and globs work) and never rejects: the
 * status and both outputs come back for the test to assert on.
 */
export function sh(cmd: string, opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ShResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', cmd],
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C.UTF-8', ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
      },
    );
  });
}

/** Quotes `s` for bash. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): { u32(): number; int(n: number): number; float(): number } {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { u32, int: (n) => u32() % n, float: () => u32() / 2 ** 32 };
}

/** Fills `buf` with bytes from `r`. */
export function fillRandom(r: ReturnType<typeof prng>, buf: Buffer): Buffer {
  let i = 0;
  for (; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(r.u32(), i);
  for (; i < buf.length; i++) buf[i] = r.u32() & 0xff;
  return buf;
}

const WORDS = ['static', 'int', 'return', 'struct', 'buffer', 'length', 'offset', 'lease', 'folio', 'write', 'read', 'const', 'void', 'if', 'else', 'for', 'while', 'smb2', 'ctx', 'err'];
const EXTS = ['.c', '.h', '.ts', '.md', '.txt', '.json', '.py', '.S', '.mk', ''];
const DIRNAMES = ['src', 'lib', 'include', 'test', 'docs', 'tools', 'arch', 'net', 'fs', 'crypto', 'drivers', 'scripts', 'Überprüfung', 'données', 'テスト'];

/**
 * Writes a source-like tree under `root` (created): `files` text files of
 * 0–12 KiB (mostly under 4 KiB) in nested directories up to 4 levels deep, a few
 * dotfiles, an empty directory, an executable script. Deterministic for a seed;
 * mtimes are fixed whole seconds. Returns the relative paths of the files.
 */
export async function makeSourceTree(root: string, files: number, seed = 7): Promise<string[]> {
  const r = prng(seed);
  const dirs: string[] = [''];
  const nDirs = Math.max(1, Math.floor(files / 25));
  for (let i = 0; i < nDirs; i++) {
    const parent = dirs[r.int(dirs.length)]!;
    const depth = parent === '' ? 0 : parent.split('/').length;
    const base = depth >= 4 ? '' : parent;
    dirs.push(path.posix.join(base, `${DIRNAMES[r.int(DIRNAMES.length)]}-${i}`));
  }
  for (const d of dirs) await mkdir(path.join(root, d), { recursive: true });
  await mkdir(path.join(root, 'empty-dir'), { recursive: true });
  const out: string[] = [];
  for (let i = 0; i < files; i++) {
    const d = dirs[r.int(dirs.length)]!;
    const name = i % 97 === 0 ? `.hidden-${i}` : `file-${i}${EXTS[r.int(EXTS.length)]}`;
    const rel = path.posix.join(d, name);
    const size = r.float() < 0.85 ? r.int(4096) : r.int(12 * 1024);
    let text = '';
    while (text.length < size) {
      text += WORDS[r.int(WORDS.length)]!;
      text += r.int(8) === 0 ? '\n' : ' ';
    }
    const full = path.join(root, rel);
    await writeFile(full, text.slice(0, size), { mode: i % 50 === 0 ? 0o755 : 0o644 });
    const mt = new Date(Date.UTC(2023, 5, 1) + i * 1000);
    await utimes(full, mt, mt);
    out.push(rel);
  }
  return out;
}

/**
 * A test file's own directory in the share: `dirName` under the share's
 * server-side path, emptied first and removed in teardown. Returns its
 * server-side path (the same name appears under every mount of the share).
 */
export async function freshShareDir(
  t: { teardown(fn: () => unknown): void },
  sharePath: string,
  dirName: string,
  opts: { create?: boolean } = {},
): Promise<string> {
  const { mkdir, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const serverDir = join(sharePath, dirName);
  await rm(serverDir, { recursive: true, force: true });
  if (opts.create !== false) await mkdir(serverDir);
  t.teardown(() => rm(serverDir, { recursive: true, force: true }));
  return serverDir;
}

/** A local temp dir removed in teardown. */
export async function localTempDir(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<string> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A process that writes `bytes` into `file` and keeps it open until killed
 * (so nothing flushes the data before the test says so). Killed in teardown.
 */
export async function holdWritten(t: { teardown(fn: () => unknown): void }, file: string, bytes: number): Promise<import('node:child_process').ChildProcess> {
  const { spawn } = await import('node:child_process');
  const code = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'w');fs.writeSync(fd,Buffer.alloc(${bytes},7));process.stdout.write('written\\n');setInterval(()=>{},1000);`;
  const holder = spawn(process.execPath, ['-e', code, file], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => void holder.kill('SIGKILL'));
  await new Promise<void>((res, rej) => {
    holder.stdout!.once('data', () => res());
    holder.once('exit', () => rej(new Error('writer died')));
  });
  return holder;
}

/**
 * Lookups answered by the binding from a listing (attr-epoch.ts, binding
 * patch 18), through the real CLI mount and the real Samba:
 *  - `ls -l` of a directory: every lookup after its listing is answered
 *    without JavaScript, and what it shows is the server's;
 *  - with nothing changed, a lookup the kernel forgot (drop_caches) is
 *    answered by the binding again: so a stale answer would show if the
 *    epoch did not move;
 *  - names a hostile server chose so that they share one slot of the
 *    binding's table cost a bounded probe: at most 64 of them are kept,
 *    the rest are answered by JavaScript, and all show right;
 *  - after each kind of change made through the mount (truncate, append,
 *    chmod, new times, rename, unlink, mkdir), a lookup the kernel forgot
 *    shows the change, and so does the next `ls -l`.
 * actimeo is long so that no answer lapses between the steps.
 */
import t from 'tap';
import { stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, runCli, unmount } from '../helpers/mount.js';
import { freshShareDir, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'primed-lookups';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const FILES = 200;
const name = (i: number) => `f${String(i).padStart(3, '0')}`;
for (let i = 0; i < FILES; i++) await writeFile(path.join(serverDir, name(i)), 'x'.repeat(i));
// A second directory, of names that share one slot of the binding's table (see collidingNames).
const collideDir = 'primed-lookups-collide';
const colliding = collidingNames(`/${collideDir}`, 100);
const collideServer = await freshShareDir(t, samba.sharePath, collideDir);
for (const [i, n] of colliding.entries()) await writeFile(path.join(collideServer, n), 'y'.repeat(i));
const mnt = await mountShare(samba, 'test', ['actimeo=30']);
t.teardown(() => unmount(mnt));
const dir = path.join(mnt, dirName);

/** Lookups the binding answered so far (smbfuse stats --json). */
async function primedLookups(): Promise<number> {
  const r = await runCli(['stats', mnt, '--json']);
  if (r.code !== 0) throw new Error(`stats failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { primedLookups: number }).primedLookups;
}

/** The kernel forgets the dentries and inodes nobody holds: the next stat of a name is a LOOKUP. */
const forgetDentries = () => writeFile('/proc/sys/vm/drop_caches', '2');

type Entry = { dir: boolean; size: number; mtime: number };

/** `ls -l --time-style=+%s` of `where`: name → type, size and mtime in seconds. */
async function listing(where: string): Promise<Map<string, Entry>> {
  const r = await sh(`ls -l --time-style=+%s ${q(where)}`);
  if (r.code !== 0) throw new Error(r.stderr);
  const out = new Map<string, Entry>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 7) out.set(f[6]!, { dir: f[0]!.startsWith('d'), size: Number(f[4]), mtime: Number(f[5]) });
  }
  return out;
}

/** The mount's listing of its directory. */
const listed = () => listing(dir);

/**
 * Names that differ between the mount's listing and the server's: type,
 * size (files) or an mtime more than a second apart. A file written here
 * and still held (closetimeo) shows the time of its last write as this
 * machine took it, which can lie a few ms, and so a second, from the server's.
 */
async function differences(): Promise<string[]> {
  const [mine, theirs] = [await listed(), await listing(serverDir)];
  const out: string[] = [];
  for (const n of new Set([...mine.keys(), ...theirs.keys()])) {
    const a = mine.get(n);
    const b = theirs.get(n);
    if (!a || !b || a.dir !== b.dir || (!a.dir && a.size !== b.size) || Math.abs(a.mtime - b.mtime) > 1) {
      out.push(`${n}: here ${JSON.stringify(a)}, server ${JSON.stringify(b)}`);
    }
  }
  return out;
}

t.test('ls -l: the lookups after the listing are answered by the binding', async (t) => {
  const before = await primedLookups();
  const seen = await listed();
  t.equal(seen.size, FILES, 'every name listed');
  t.same(await differences(), [], "sizes and times are the server's");
  const answered = (await primedLookups()) - before;
  t.ok(answered >= FILES - 1, `lookups answered by the binding: ${answered} of ${FILES}`);

  await forgetDentries();
  const again = await primedLookups();
  const st = await stat(path.join(dir, name(7)));
  t.equal(st.size, 7);
  t.equal((await primedLookups()) - again, 1, 'nothing changed: a forgotten name is answered by the binding again');
});

/** The low 32 bits of FNV-1a 64 (the binding's hash) after `bytes`, from the low half of state `lo`; they depend on nothing else. */
function fnvLow(lo: number, bytes: Iterable<number>): number {
  for (const b of bytes) lo = Math.imul((lo ^ b) >>> 0, 0x1b3) >>> 0;
  return lo;
}

/** `count` names in `dir` (a FUSE path) whose paths the binding files in one slot of its 2^17 (built a suffix at a time). */
function collidingNames(dir: string, count: number): string[] {
  const SLOT = 0x1ffff;
  const ALPHA = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
  const names: string[] = [];
  let target = -1;
  for (let i = 0; names.length < count; i++) {
    const prefix = `k${i}-`;
    const at = fnvLow(0x84222325, Buffer.from(`${dir}/${prefix}`));
    if (target < 0) target = fnvLow(at, Buffer.from('aaaa')) & SLOT;
    search: for (const a of ALPHA) {
      const h1 = fnvLow(at, [a]);
      for (const b of ALPHA) {
        const h2 = fnvLow(h1, [b]);
        for (const c of ALPHA) {
          const h3 = fnvLow(h2, [c]);
          for (const d of ALPHA) {
            if ((fnvLow(h3, [d]) & SLOT) !== target) continue;
            names.push(prefix + String.fromCharCode(a, b, c, d));
            break search;
          }
        }
      }
    }
  }
  return names;
}

t.test('names a server chose to collide in the binding\'s table: a bounded few primed, all shown right', async (t) => {
  const before = await primedLookups();
  const r = await sh(`ls -l ${q(path.join(mnt, collideDir))}`);
  const sizes = new Map(r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 9).map((f) => [f[8]!, Number(f[4])]));
  t.same(sizes, new Map(colliding.map((n, i) => [n, i])), 'every colliding name listed with its size');
  const answered = (await primedLookups()) - before;
  t.ok(answered > 0 && answered <= 64, `lookups answered by the binding: ${answered} of ${colliding.length} (at most 64 probes past a slot)`);
});

const changes: Array<[string, string, (p: string) => Promise<void>]> = [
  ['truncate', name(10), async (p) => void (await sh(`truncate -s 3 ${q(p)}`))],
  ['append', name(11), async (p) => void (await sh(`printf abc >> ${q(p)}`))],
  ['chmod a-w', name(12), async (p) => void (await sh(`chmod a-w ${q(p)}`))],
  ['new mtime', name(13), async (p) => void (await sh(`touch -m -d @1000000000 ${q(p)}`))],
  ['rename', name(14), async (p) => void (await sh(`mv ${q(p)} ${q(p + '.moved')}`))],
  ['unlink', name(15), async (p) => void (await sh(`rm ${q(p)}`))],
  ['mkdir', 'newdir', async (p) => void (await sh(`mkdir ${q(p)}`))],
];

for (const [what, file, change] of changes) {
  t.test(`after ${what} through the mount, a forgotten lookup shows it`, async (t) => {
    await forgetDentries();
    await listed(); // the binding is primed with every name
    const p = path.join(dir, file);
    await change(p);
    await forgetDentries();
    const server = path.join(serverDir, file);
    const mine = await stat(p).catch((e: NodeJS.ErrnoException) => e.code ?? 'error');
    const theirs = await stat(server).catch((e: NodeJS.ErrnoException) => e.code ?? 'error');
    if (typeof theirs === 'string') t.equal(mine, theirs, `${file}: gone on the server, gone here`);
    else if (typeof mine === 'string') t.fail(`${file}: ${mine} here, on the server it exists`);
    else {
      t.equal(mine.size, theirs.isDirectory() ? mine.size : theirs.size, `${file}: size`);
      t.ok(Math.abs(mine.mtimeMs - theirs.mtimeMs) <= 1000, `${file}: mtime (${mine.mtimeMs} here, ${theirs.mtimeMs} on the server)`);
      t.equal(mine.isDirectory(), theirs.isDirectory(), `${file}: type`);
      if (what === 'chmod a-w') t.equal(mine.mode & 0o222, 0, `${file}: read-only`);
    }
    if (what === 'rename') t.equal((await stat(p + '.moved')).size, 14, 'the new name has the file');
    t.same(await differences(), [], 'and ls -l shows what the server holds');
  });
}

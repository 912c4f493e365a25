/**
 * Lookups answered by the binding from a listing (attr-epoch.ts, binding
 * patch 18), through the real CLI mount and the real Samba:
 *  - `ls -l` of a directory: every lookup after its listing is answered
 *    without JavaScript, and what it shows is the server's;
 *  - with nothing changed, a lookup the kernel forgot (drop_caches) is
 *    answered by the binding again: so a stale answer would show if the
 *    epoch did not move;
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

/** `ls -l --time-style=+%s` of the mount's directory: name → [mode string, size, mtime seconds]. */
async function listed(): Promise<Map<string, string>> {
  const r = await sh(`ls -l --time-style=+%s ${q(dir)}`);
  if (r.code !== 0) throw new Error(r.stderr);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 7) out.set(f[6]!, `${f[0]!.slice(0, 10)} ${f[4]} ${f[5]}`);
  }
  return out;
}

/** What `listed` should show for each name, from the server's own files. */
async function serverView(): Promise<Map<string, string>> {
  const r = await sh(`ls -l --time-style=+%s ${q(serverDir)}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 7) out.set(f[6]!, `${f[0]!.startsWith('d') ? 'd' : '-'} ${f[0]!.startsWith('d') ? '' : f[4]} ${f[5]}`);
  }
  return out;
}

/** Type, size (files) and mtime of each listed name, in the form serverView gives. */
const comparable = (m: Map<string, string>) =>
  new Map([...m].map(([n, v]) => {
    const [mode, size, mtime] = v.split(' ');
    return [n, `${mode!.startsWith('d') ? 'd' : '-'} ${mode!.startsWith('d') ? '' : size} ${mtime}`];
  }));

t.test('ls -l: the lookups after the listing are answered by the binding', async (t) => {
  const before = await primedLookups();
  const seen = await listed();
  t.equal(seen.size, FILES, 'every name listed');
  t.same(comparable(seen), await serverView(), "sizes and times are the server's");
  const answered = (await primedLookups()) - before;
  t.ok(answered >= FILES - 1, `lookups answered by the binding: ${answered} of ${FILES}`);

  await forgetDentries();
  const again = await primedLookups();
  const st = await stat(path.join(dir, name(7)));
  t.equal(st.size, 7);
  t.equal((await primedLookups()) - again, 1, 'nothing changed: a forgotten name is answered by the binding again');
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
    const mine = await stat(p).catch((e: NodeJS.ErrnoException) => e.code);
    const theirs = await stat(server).catch((e: NodeJS.ErrnoException) => e.code);
    if (typeof theirs === 'string') t.equal(mine, theirs, `${file}: gone on the server, gone here`);
    else if (typeof mine === 'string') t.fail(`${file}: ${mine} here, on the server it exists`);
    else {
      t.equal(mine.size, theirs.isDirectory() ? mine.size : theirs.size, `${file}: size`);
      t.equal(Math.floor(mine.mtimeMs / 1000), Math.floor(theirs.mtimeMs / 1000), `${file}: mtime`);
      t.equal(mine.isDirectory(), theirs.isDirectory(), `${file}: type`);
      if (what === 'chmod a-w') t.equal(mine.mode & 0o222, 0, `${file}: read-only`);
    }
    if (what === 'rename') t.equal((await stat(p + '.moved')).size, 14, 'the new name has the file');
    t.same(comparable(await listed()), await serverView(), 'and ls -l shows what the server holds');
  });
}

/**
 * End to end against a second server implementation: impacket's
 * `smbserver.py -smb2support` (test/helpers/impacket.ts), mounted through the
 * CLI. A tree of files (one of a few MiB) is written through the mount, then
 * checked with sha256sum in the server's own directory and through a fresh
 * mount. impacket 0.10 answers every NEGOTIATE with 2.0.2, so `vers=2.0` and
 * the default offer (2.0.2–3.1.1) work, while `vers=2.1` must fail with one
 * clear line: accepting a dialect that was not offered would let a downgrade
 * through (the Linux client refuses it too).
 *
 * impacket signs every reply once the user is authenticated, but signs the
 * non-last replies of a compound before it sets NextCommand and adds the
 * 8-byte padding (MS-SMB2 3.1.5.1 covers both). Without `sign` nobody requires
 * signing and those signatures are not checked (MS-SMB2 3.2.5.1.3, as the
 * Linux client); with `sign` every reply must verify, so that mount must fail
 * clearly, with nothing mounted.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isMounted, makeMountPoint, runCli, unmount } from '../helpers/mount.js';
import { startImpacket, type ImpacketServer } from '../helpers/impacket.js';
import { q, sh } from '../helpers/rw.js';

const srv: ImpacketServer = await startImpacket();
t.teardown(() => srv.stop());
const unc = `//${srv.host}/${srv.share}`;

// The tree to write: 48 files over nested directories, an empty file, names
// with a space and non-ASCII letters, and one file of 3 MiB + 4321 bytes
// (several READ/WRITE of impacket's 64 KiB maximum, an unaligned tail).
const src = await mkdtemp(path.join(tmpdir(), 'smbfuse-impacket-src-'));
t.teardown(() => rm(src, { recursive: true, force: true }));
const manifest = path.join(src, '..', `${path.basename(src)}.sha256`);
t.teardown(() => rm(manifest, { force: true }));
{
  const tree = path.join(src, 'tree');
  for (let i = 0; i < 48; i++) {
    const dir = path.join(tree, `d${i % 4}`, i % 3 === 0 ? 'deeper dir' : '');
    await mkdir(dir, { recursive: true });
    const name = i === 7 ? 'café ünïcode.txt' : `file-${i}.bin`;
    await writeFile(path.join(dir, name), i === 5 ? Buffer.alloc(0) : randomBytes(1 + ((i * 7919) % 150_000)));
  }
  await writeFile(path.join(tree, 'big.bin'), randomBytes(3 * 1024 * 1024 + 4321));
  const r = await sh(`find . -type f -print0 | sort -z | xargs -0 sha256sum > ${q(manifest)}`, { cwd: tree });
  if (r.code !== 0) throw new Error(`manifest: ${r.stderr}`);
}
const fileCount = 49;

/** Mount the share through the CLI with `opts`; the CLI's result and the mount point. */
async function mount(opts: string[]) {
  const mnt = await makeMountPoint();
  const o = [`port=${srv.port}`, `username=${srv.user}`, `password=${srv.pass}`, ...opts].join(',');
  const r = await runCli([unc, mnt, '-o', o], {}, 60_000);
  return { mnt, r };
}

async function mustMount(t: Test, opts: string[]): Promise<string> {
  const { mnt, r } = await mount(opts);
  if (r.code !== 0) {
    await rmdir(mnt).catch(() => {});
    throw new Error(`mount ${opts.join(',')} failed (${r.code}): ${r.stderr.trim()}\nserver log:\n${srv.log()}`);
  }
  t.teardown(() => unmount(mnt));
  return mnt;
}

/** sha256sum -c of the manifest in `dir`: '' when every file matches, else what it said. */
async function check(dir: string): Promise<string> {
  const r = await sh(`sha256sum --quiet --strict -c ${q(manifest)}`, { cwd: dir, timeoutMs: 120_000 });
  return r.code === 0 ? '' : `${r.stdout}${r.stderr}`.slice(0, 2000) || `status ${r.code}`;
}

const modes: [string, string[]][] = [
  ['vers=2.0', ['vers=2.0']],
  ['the default offer (2.0.2 to 3.1.1)', []],
];

for (const [name, opts] of modes) {
  t.test(`${name}: a tree written through the mount reads back right on the server and through a fresh mount`, async (t) => {
    const sub = `w-${opts.join('') || 'default'}`.replace(/[^a-z0-9.=-]/gi, '_');
    {
      const mnt = await mustMount(t, opts);
      const cp = await sh(`mkdir ${q(sub)} && cp -r ${q(path.join(src, 'tree'))}/. ${q(sub)}/`, { cwd: mnt, timeoutMs: 180_000 });
      t.equal(cp.code, 0, `cp -r through the mount${cp.code ? `: ${cp.stderr}` : ''}`);
      await unmount(mnt);
    }
    t.equal(await check(path.join(srv.sharePath, sub)), '', "sha256sum -c in the server's directory");
    const mnt = await mustMount(t, [...opts, 'ro']);
    t.equal(await check(path.join(mnt, sub)), '', 'sha256sum -c through a fresh mount');
    const n = await sh('find . -type f | wc -l', { cwd: path.join(mnt, sub) });
    t.equal(Number(n.stdout), fileCount, 'find sees every file');
    const ls = await sh(`ls ${q(path.join(mnt, sub, 'd3'))}`);
    t.match(ls.stdout, /café ünïcode\.txt/, 'the non-ASCII name lists as written');
  });
}

t.test('vers=2.1: the server answers 2.0.2, so the mount fails with one line and nothing mounted', async (t) => {
  const { mnt, r } = await mount(['vers=2.1']);
  t.teardown(() => rmdir(mnt).catch(() => {}));
  t.not(r.code, 0, 'non-zero exit');
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
  t.match(r.stderr, /server chose dialect 0x202, which was not offered/);
  t.notOk(await isMounted(mnt), 'nothing mounted');
});

t.test('sign: compounded replies do not verify, so the mount fails with one line and nothing mounted', async (t) => {
  const { mnt, r } = await mount(['sign']);
  t.teardown(() => rmdir(mnt).catch(() => {}));
  t.not(r.code, 0, 'non-zero exit');
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
  // Command 5 is CREATE, the first member of the compound that opens the root.
  t.match(r.stderr, /bad signature on reply to command 5 /);
  t.notOk(await isMounted(mnt), 'nothing mounted');
});

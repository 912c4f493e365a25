/**
 * End to end through the CLI and a proxy that records every request frame
 * (the SMB2 commands of each, compound members in order), cache=strict:
 *  - creating a 4 KiB file in a listed directory, writing it and closing it
 *    is one frame: CREATE + WRITE + CLOSE; a stat after it needs none (the
 *    CLOSE's attributes); an empty new file is a CREATE that keeps its
 *    handle, so `echo x > f` (a duplicate closed before the write) is
 *    CREATE then WRITE; another mount reads what was written;
 *  - a file created here keeps its inode number while open, after fsync
 *    has sent its CREATE too (sqlite refuses to write to a database whose
 *    st_ino changed under it);
 *  - on a read-only share, or in a directory whose listing said this user
 *    may not create files in it, a create is refused by open itself
 *    (EACCES): its CREATE does not wait for the close, where `echo x > f`
 *    never looks;
 *  - a deferred CREATE that fails (its directory removed on the server)
 *    fails close(2) with ENOENT, and the lost bytes are logged;
 *  - a CLOSE held back by the proxy (closetimeo=0): close(2) does not wait
 *    for it, and an unlink or rename right after the close(2) is ordered
 *    after it (no silly rename: no hidden leftover on the server, the
 *    renamed file has the data);
 *  - closetimeo=2 on another mount: a re-open right after the close costs no
 *    frame; the handle is closed by the timer, and at once when another
 *    mount overwrites the file (the lease break takes H away); the next
 *    open on this mount reads the new data.
 */
import t, { type Test } from 'tap';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Smb2Command } from '../../transport/pdu/header.js';
import { makeMountPoint, mountShare, runCli, unmount } from '../helpers/mount.js';
import { compoundMembers, frameHeader, startProxy } from '../helpers/proxy.js';
import { fillRandom, freshShareDir, localTempDir, prng, q, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'e2e-small-files';
const serverDir = await freshShareDir(t, samba.sharePath, dirName);
const tmp = await localTempDir(t, 'smbfuse-small-');
const r = prng(0x5a11);

let recording = false;
let frames: number[][] = [];
/** CLOSE replies are held back this long (0: passed at once). */
let closeDelayMs = 0;
const proxy = await startProxy({
  host: samba.host,
  port: samba.port,
  toServer: (f) => {
    const cmds = compoundMembers(f).map(({ h }) => h.command);
    if (recording && cmds.length > 0 && !cmds.every((c) => c === Smb2Command.ECHO)) frames.push(cmds);
  },
  toClient: (f) => {
    const h = frameHeader(f);
    if (closeDelayMs > 0 && h && h.nextCommand === 0 && h.command === Smb2Command.CLOSE) return { delayMs: closeDelayMs };
    return undefined;
  },
});
t.teardown(() => proxy.close());

const mnt = await makeMountPoint();
t.teardown(() => unmount(mnt));
const logFile = path.join(tmp, 'mount.log');
const opts = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, 'cache=strict', 'closetimeo=0', 'echo_interval=0', `log_file=${logFile}`].join(',');
const mounted = await runCli([`//${samba.host}/test`, mnt, '-o', opts]);
t.equal(mounted.code, 0, `mounted: ${mounted.stderr}`);
const dir = path.join(mnt, dirName);

/** Run `fn` and return the request frames it caused. */
async function framesOf(fn: () => Promise<unknown>): Promise<string[][]> {
  // What earlier steps sent without waiting (a listing's CLOSE leaves after
  // its answer, with the next turn of the daemon's loop) is not counted here.
  await new Promise((res) => setTimeout(res, 100));
  frames = [];
  recording = true;
  try {
    await fn();
    // Anything sent in the background has left by now.
    await new Promise((res) => setTimeout(res, 300));
  } finally {
    recording = false;
  }
  const name = (c: number) => Object.entries(Smb2Command).find(([, v]) => v === c)?.[0] ?? String(c);
  return frames.map((f) => f.map(name));
}

t.test('create, write 4 KiB, close: one frame, CREATE + WRITE + CLOSE; the stat after it: none', async (t) => {
  await readdir(dir); // a fresh listing: the new names are known absent
  const data = fillRandom(r, Buffer.alloc(4096));
  const seen = await framesOf(async () => {
    await writeFile(path.join(dir, 'four-k.bin'), data);
    const st = await stat(path.join(dir, 'four-k.bin'));
    t.equal(st.size, 4096, 'stat shows the size');
  });
  t.same(seen, [['CREATE', 'WRITE', 'CLOSE']], 'one compound frame');
  t.ok((await readFile(path.join(serverDir, 'four-k.bin'))).equals(data), 'the server has the data');

  const empty = await framesOf(() => writeFile(path.join(dir, 'empty.txt'), ''));
  t.same(empty, [['CREATE'], ['CLOSE']], 'an empty new file: its CREATE at the close, keeping the handle (closed at once here: closetimeo=0)');
  t.equal((await stat(path.join(serverDir, 'empty.txt'))).size, 0, 'the empty file exists on the server');

  // A new name in a directory whose listing lapsed: the lookup asks the
  // server (the directory, a small one, is listed again: one round trip
  // like a stat), then the same one frame.
  // The directory's own attributes are refreshed from the server first: the
  // steps above can outlast actimeo=1, and a stat of the directory then would
  // be one more frame. A stat answered from an entry about to expire refreshes
  // nothing, so the entry is let expire first (the listing lapses too).
  await sleep(1100);
  await stat(dir);
  const more = await framesOf(() => writeFile(path.join(dir, 'unlisted-lookup.txt'), 'x'.repeat(100)));
  t.same(more.slice(-1), [['CREATE', 'WRITE', 'CLOSE']], 'after the lookup, one compound');
  const before = more.slice(0, -1).map((f) => f.join('+'));
  const lookup = ['CREATE+QUERY_INFO+CLOSE', 'CREATE+QUERY_DIRECTORY+QUERY_DIRECTORY', 'CLOSE'];
  t.ok(before.length <= 2 && before.every((f) => lookup.includes(f)), `at most the lookup before it: a stat, or a listing and its CLOSE (${JSON.stringify(more)})`);

  // A shell redirection: the file is opened, a duplicate closed (a flush with
  // nothing written), then written and closed. The CREATE at the first flush
  // keeps its handle, so the data needs no second CREATE.
  await readdir(dir);
  const redirected = await framesOf(() => sh(`echo hello > ${q(path.join(dir, 'redirected.txt'))}`));
  const notLookups = redirected.filter((f) => f.join('+') !== 'CREATE+QUERY_INFO+CLOSE');
  t.same(notLookups, [['CREATE'], ['WRITE'], ['CLOSE']], `echo > new file: CREATE at the first close, WRITE at the last, then the CLOSE (${JSON.stringify(redirected)})`);
  t.equal((await readFile(path.join(serverDir, 'redirected.txt'), 'utf8')), 'hello\n', 'the server has the line');
});

t.test('a small file opened to be read: CREATE + READ in one frame, its reads ask nothing more', async (t) => {
  const small = fillRandom(r, Buffer.alloc(10_000));
  const big = fillRandom(r, Buffer.alloc(100_000));
  await writeFile(path.join(serverDir, 'read-small.bin'), small);
  await writeFile(path.join(serverDir, 'read-big.bin'), big);
  // Made behind the mount's back: a listing of the directory cached before them lapses first (actimeo=1).
  await new Promise((res) => setTimeout(res, 1100));
  await readdir(dir); // the sizes come from the listing
  let got = Buffer.alloc(0);
  const seen = await framesOf(async () => {
    got = await readFile(path.join(dir, 'read-small.bin'));
  });
  t.ok(got.equals(small), 'the bytes read are the file');
  t.same(seen, [['CREATE', 'READ'], ['CLOSE']], 'one frame opens and reads, the CLOSE follows');

  const seenBig = await framesOf(async () => {
    got = await readFile(path.join(dir, 'read-big.bin'));
  });
  t.ok(got.equals(big), 'a file over 64 KiB reads back');
  t.same(seenBig[0], ['CREATE'], 'and is opened by a plain CREATE');
  t.ok(seenBig.some((f) => f.includes('READ')), 'its data comes by READs');

  // Grown on the server past 64 KiB while the listing still says 10,000 bytes: the
  // first 64 KiB read with the open are not the whole file, so reads ask for the rest.
  const grown = fillRandom(r, Buffer.alloc(70_000));
  await writeFile(path.join(serverDir, 'read-small.bin'), grown);
  t.ok((await readFile(path.join(dir, 'read-small.bin'))).equals(grown), 'a file grown on the server reads whole');
  const same = fillRandom(r, Buffer.alloc(70_000));
  await writeFile(path.join(serverDir, 'read-small.bin'), same.subarray(0, 3000));
  t.ok((await readFile(path.join(dir, 'read-small.bin'))).equals(same.subarray(0, 3000)), 'and shrunk again, the new bytes');
});

t.test('while the CREATE is deferred: stat and reads answered locally; fsync sends it', async (t) => {
  // The directory's own entry refreshed (as above): the step before can
  // outlast actimeo=1, and the stat by path would then look the directory up.
  await sleep(1100);
  await stat(dir);
  await readdir(dir);
  const f = path.join(dir, 'deferred.bin');
  const data = fillRandom(r, Buffer.alloc(10_000));
  const fh = await open(f, 'w+');
  try {
    const seen = await framesOf(async () => {
      await fh.write(data, 0, data.length, 0);
      t.equal((await fh.stat()).size, data.length, 'fstat sees the written size');
      t.equal((await stat(f)).size, data.length, 'stat by path too');
      const back = Buffer.alloc(data.length);
      await fh.read(back, 0, back.length, 0);
      t.ok(back.equals(data), 'reads back what was written');
    });
    t.same(seen, [], 'no round trip yet');
    await fh.sync();
    t.ok((await readFile(path.join(serverDir, 'deferred.bin'))).equals(data), 'fsync put the file and data on the server');
  } finally {
    await fh.close();
  }
});

t.test('a new file keeps the inode number fstat first showed while it is open, after fsync sent its CREATE too', async (t) => {
  const f = path.join(dir, 'like-a-database');
  const fh = await open(f, 'w+');
  try {
    const ino = (await fh.stat({ bigint: true })).ino;
    await fh.write(Buffer.alloc(8192, 1), 0, 8192, 0);
    await fh.sync();
    await sleep(1100); // past actimeo: the kernel asks again, and the daemon has the server's attributes
    t.equal((await fh.stat({ bigint: true })).ino, ino, 'fstat: the same number');
    t.equal((await stat(f, { bigint: true })).ino, ino, 'stat by path: the same number');
  } finally {
    await fh.close();
  }
});

t.test('on a read-only share, a create fails at open with EACCES, not at close', async (t) => {
  const ro = await mountShare(samba, 'ro', ['cache=strict']);
  t.teardown(() => unmount(ro));
  await readdir(ro); // the name is known absent: a writable share would defer its CREATE
  await t.rejects(open(path.join(ro, 'new.txt'), 'w'), { code: 'EACCES' }, 'open(O_CREAT) refused');
  const r = await sh(`echo important > ${q(path.join(ro, 'echo.txt'))}`);
  t.not(r.code, 0, `the shell reports it: ${r.stderr.trim()}`);
});

t.test('in a directory this user may not create files in, a create fails at open with EACCES', async (t) => {
  // The [perms] share runs as the SMB user, so a directory without write permission for it refuses new files.
  const name = `closed-${process.pid}`;
  await mkdir(path.join(samba.permsPath, name));
  await chmod(path.join(samba.permsPath, name), 0o555);
  t.teardown(() => rm(path.join(samba.permsPath, name), { recursive: true, force: true }));
  const m = await mountShare(samba, 'perms', ['cache=strict']);
  t.teardown(() => unmount(m));
  const closed = path.join(m, name);
  // Not listed yet: nothing says whether it takes new files, so the CREATE goes at open.
  const r = await sh(`echo important > ${q(path.join(closed, 'echo.txt'))}`);
  t.not(r.code, 0, `the shell reports it: ${r.stderr.trim()}`);
  t.same(await readdir(closed), [], 'listed: now the server has said what this user may do there');
  await t.rejects(open(path.join(closed, 'new.txt'), 'w'), { code: 'EACCES' }, 'open(O_CREAT) refused');
  await writeFile(path.join(m, `open-${process.pid}.txt`), 'fine\n');
  t.equal(await readFile(path.join(samba.permsPath, `open-${process.pid}.txt`), 'utf8'), 'fine\n', 'where it may, it creates');
  await rm(path.join(samba.permsPath, `open-${process.pid}.txt`), { force: true });
});

t.test('a second mount reads the new small file after the close', async (t) => {
  const mntB = await mountShare(samba, 'test', ['cache=strict']);
  t.teardown(() => unmount(mntB));
  await readdir(dir);
  const data = fillRandom(r, Buffer.alloc(3000));
  await writeFile(path.join(dir, 'for-b.bin'), data);
  t.ok((await readFile(path.join(mntB, dirName, 'for-b.bin'))).equals(data), 'B reads what A created and closed');
});

t.test('a deferred CREATE that fails: close(2) returns the error, the lost bytes are logged', async (t) => {
  await mkdir(path.join(dir, 'gone'));
  await readdir(path.join(dir, 'gone'));
  const fh = await open(path.join(dir, 'gone', 'lost.bin'), 'w');
  await fh.write(Buffer.alloc(5000, 7));
  // The directory goes away on the server before the file's CREATE is sent.
  await rm(path.join(serverDir, 'gone'), { recursive: true, force: true });
  const closed = await fh.close().then(
    () => 'ok',
    (e: NodeJS.ErrnoException) => e.code,
  );
  t.equal(closed, 'ENOENT', 'close(2) fails with the CREATE error');
  const deadline = Date.now() + 5000;
  let log = '';
  while (Date.now() < deadline && !log.includes('lost.bin')) {
    await new Promise((res) => setTimeout(res, 100));
    log = await readFile(logFile, 'utf8').catch(() => '');
  }
  t.match(log, /lost\.bin: 5000 bytes written through the mount did not reach the server/, 'the lost bytes are logged');
});

t.test('a held-back CLOSE: unlink and rename right after close(2) are ordered after it', async (t) => {
  for (const name of ['to-unlink.bin', 'to-rename.bin']) await writeFile(path.join(serverDir, name), 'old');
  // Made behind the mount's back: a listing of the directory cached before them (an
  // earlier step's readdir, under 1 s ago when the steps run fast) lapses first (actimeo=1).
  await new Promise((res) => setTimeout(res, 1100));
  const data = fillRandom(r, Buffer.alloc(20_000));
  closeDelayMs = 700;
  try {
    for (const name of ['to-unlink.bin', 'to-rename.bin']) {
      const fh = await open(path.join(dir, name), 'r+');
      await fh.write(data, 0, data.length, 0);
      const t0 = Date.now();
      await fh.close();
      t.ok(Date.now() - t0 < closeDelayMs, `close(2) of ${name} did not wait for the CLOSE (${Date.now() - t0} ms)`);
    }
    await unlink(path.join(dir, 'to-unlink.bin'));
    await rename(path.join(dir, 'to-rename.bin'), path.join(dir, 'renamed.bin'));
  } finally {
    closeDelayMs = 0;
  }
  const left = (await readdir(serverDir)).filter((n) => n.startsWith('.'));
  t.same(left, [], 'no hidden (silly-renamed) leftovers on the server');
  t.same((await readdir(serverDir)).filter((n) => n.startsWith('to-')), [], 'both old names are gone');
  t.ok((await readFile(path.join(serverDir, 'renamed.bin'))).equals(data), 'the renamed file has the data');
});

/** A mount through the proxy with cache=strict and `closetimeo` seconds, unmounted with `t`. */
async function proxiedMount(t: Test, closetimeo: number): Promise<string> {
  const mnt = await makeMountPoint();
  t.teardown(() => unmount(mnt));
  const o = [`port=${proxy.port}`, `username=${samba.user}`, `password=${samba.pass}`, 'cache=strict', `closetimeo=${closetimeo}`, 'echo_interval=0'].join(',');
  const m = await runCli([`//${samba.host}/test`, mnt, '-o', o]);
  t.equal(m.code, 0, `mounted with closetimeo=${closetimeo}: ${m.stderr}`);
  return mnt;
}

t.test('closetimeo: a re-open costs no frame; the timer and a lease break close the handle', async (t) => {
  const mntC = await proxiedMount(t, 2);
  const mntB = await mountShare(samba, 'test', ['cache=strict', 'closetimeo=0']);
  t.teardown(() => unmount(mntB));
  const C = path.join(mntC, dirName);
  const data = fillRandom(r, Buffer.alloc(50_000));
  for (const name of ['reuse.bin', 'broken.bin']) await writeFile(path.join(serverDir, name), data);

  t.ok((await readFile(path.join(C, 'reuse.bin'))).equals(data), 'C reads the file');
  // The kernel sends RELEASE after close(2) returns, asynchronously: a re-open
  // that overtakes it finds the handle still open, not parked, and opens another.
  await new Promise((res) => setTimeout(res, 300));
  const again = await framesOf(async () => {
    t.ok((await readFile(path.join(C, 'reuse.bin'))).equals(data), 'and again');
  });
  t.same(again, [], 'the re-open within closetimeo: no frame');
  const later = await framesOf(() => new Promise((res) => setTimeout(res, 2500)));
  t.same(later, [['CLOSE']], 'the handle is closed when closetimeo runs out');

  // Written through C and closed: the data is on the server at close(2), the handle parked.
  const v2 = fillRandom(r, Buffer.alloc(50_000));
  const fh = await open(path.join(C, 'broken.bin'), 'r+');
  await fh.write(v2, 0, v2.length, 0);
  await fh.close();
  // B's open and overwrite break C's lease; once H is gone C closes the handle, long before closetimeo.
  const v3 = fillRandom(r, Buffer.alloc(40_000));
  const t0 = Date.now();
  const onBreak = await framesOf(async () => {
    t.ok((await readFile(path.join(mntB, dirName, 'broken.bin'))).equals(v2), 'another mount reads what C wrote while C keeps the handle');
    await writeFile(path.join(mntB, dirName, 'broken.bin'), v3);
  });
  t.ok(Date.now() - t0 < 1900, `B's read and overwrite done before C's closetimeo ran out (${Date.now() - t0} ms)`);
  t.ok(onBreak.some((f) => f.includes('CLOSE')), `the lease break closed C's handle (${JSON.stringify(onBreak)})`);
  t.ok((await readFile(path.join(C, 'broken.bin'))).equals(v3), "C's next open reads B's overwrite");
});

t.test('closetimeo: a handle parked while another CLOSE of the file is in flight is still closed before a rename over it', async (t) => {
  const mntC = await proxiedMount(t, 30);
  const C = path.join(mntC, dirName);
  await writeFile(path.join(serverDir, 'two-opens.txt'), 'old');
  await writeFile(path.join(serverDir, 'two-opens.new'), 'new');
  closeDelayMs = 500;
  try {
    // Two handles on one file: the first one's CLOSE is held back while the
    // second is parked; the file's state must outlive the first CLOSE.
    const a = await open(path.join(C, 'two-opens.txt'), 'r+');
    const b = await open(path.join(C, 'two-opens.txt'), 'r');
    await a.close();
    await b.close();
    await new Promise((res) => setTimeout(res, closeDelayMs + 300));
  } finally {
    closeDelayMs = 0;
  }
  // The server refuses to replace a file someone holds open: the parked handle must be closed first.
  await rename(path.join(C, 'two-opens.new'), path.join(C, 'two-opens.txt'));
  t.equal(await readFile(path.join(serverDir, 'two-opens.txt'), 'utf8'), 'new', 'the rename replaced the file on the server');
});

import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { mountShare, unmount } from '../helpers/mount.js';
import { countFrames } from '../helpers/proxy-count.js';
import { startProxy } from '../helpers/proxy.js';
import { freshShareDir, sh } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const dirName = 'meta-roundtrips';
const base = await freshShareDir(t, samba.sharePath, dirName);
await mkdir(path.join(base, 'big'));
for (let i = 0; i < 300; i++) await writeFile(path.join(base, 'big', `f${i}`), 'x');
await mkdir(path.join(base, 'del'));
for (let i = 0; i < 200; i++) await writeFile(path.join(base, 'del', `f${i}`), 'x');

const counter = countFrames(true);
const proxy = await startProxy({ host: samba.host, port: samba.port, toServer: counter.hook });
t.teardown(() => proxy.close());
const mnt = await mountShare({ ...samba, port: proxy.port }, 'test', ['actimeo=30']);
t.teardown(() => unmount(mnt));
const dir = path.join(mnt, dirName);

async function step(what: string, cmd: string) {
  counter.reset();
  const r = await sh(cmd, { timeoutMs: 60000 });
  const f = counter.frames();
  const shapes: Record<string, number> = {};
  for (const s of f) shapes[s] = (shapes[s] ?? 0) + 1;
  t.comment(`${what}: code ${r.code} ${f.length} frames ${JSON.stringify(shapes)}`);
}
t.test('explore', async () => {
  await step('ls dir', `ls -l ${dir} >/dev/null`);
  await step('ls -l big', `ls -l ${dir}/big >/dev/null`);
  await step('stat listed', `stat ${dir}/big/f7 >/dev/null`);
  await step('find|xargs stat', `find ${dir}/big -type f | xargs stat >/dev/null`);
  await step('touch new', `touch ${dir}/big/new1`);
  await step('stat new', `stat ${dir}/big/new1 >/dev/null`);
  await step('unlink', `rm ${dir}/big/f1`);
  await step('rename', `mv ${dir}/big/f2 ${dir}/big/g2`);
  await step('stat renamed', `stat ${dir}/big/g2 >/dev/null`);
  await step('rename over', `mv ${dir}/big/f3 ${dir}/big/g2`);
  await step('mkdir', `mkdir ${dir}/big/d1`);
  await step('stat mkdir', `stat ${dir}/big/d1 >/dev/null`);
  await step('rmdir', `rmdir ${dir}/big/d1`);
  await step('stat other', `stat ${dir}/big/f9 >/dev/null`);
  await step('rm -rf', `rm -rf ${dir}/del`);
});

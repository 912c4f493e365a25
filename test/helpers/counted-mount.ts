/**
 * A CLI mount whose request frames are counted (proxy-count.ts) by a proxy
 * in front of the real Samba, and a way to ask what one shell command cost.
 */
import type { Test } from 'tap';
import * as path from 'node:path';
import { mountShare, unmount } from './mount.js';
import { countFrames, type FrameCounter } from './proxy-count.js';
import { startProxy, type FrameHook } from './proxy.js';
import { sh } from './rw.js';
import type { SambaServer } from './samba.js';

/**
 * Mount `share` of `samba` with `opts` through a counting proxy (torn down
 * with `t`); `before` sees each request frame first (to alter it).
 * `dir`: `dirName` on the mount.
 */
export async function countedMount(
  t: Test,
  samba: SambaServer,
  dirName: string,
  opts: string[],
  before?: FrameHook,
): Promise<{ dir: string; counter: FrameCounter }> {
  const counter = countFrames(true);
  const proxy = await startProxy({
    host: samba.host,
    port: samba.port,
    toServer: (f, i, relay) => {
      before?.(f, i, relay);
      counter.hook(f, i, relay);
    },
  });
  t.teardown(() => proxy.close());
  const mnt = await mountShare({ ...samba, port: proxy.port }, 'test', opts);
  t.teardown(() => unmount(mnt));
  return { dir: path.join(mnt, dirName), counter };
}

/** Run the shell command `cmd` (it must succeed), and the request frames it caused. */
export async function framesOf(counter: FrameCounter, cmd: string): Promise<string[]> {
  // What earlier commands sent without waiting (a listing's CLOSE leaves after
  // its answer, with the next turn of the daemon's loop) is not counted here.
  await new Promise((res) => setTimeout(res, 100));
  counter.reset();
  const r = await sh(cmd, { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return counter.frames();
}

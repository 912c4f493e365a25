/**
 * A lease (or oplock) break that reaches the client in the same read as the
 * CREATE reply that granted it: the break is handled before the code awaiting that
 * reply has recorded the lease. Two opens of one file with two new lease keys
 * make Samba break the first one's RWH lease to RH and hold the second CREATE
 * until the break is acknowledged; a proxy keeps the first CREATE's reply back
 * and sends it with the break, in one write. Unacknowledged, the second open
 * waits out the server's break timeout (some 30 s), longer than a FUSE call may
 * wait, as the load test saw (ETIMEDOUT on open of a shared file).
 */
import t from 'tap';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { connect, Dialect } from '../../transport/index.js';
import { LeaseState } from '../../transport/pdu/create.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { frameHeader, startProxy, type FrameHook } from '../helpers/proxy.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'lease-break-race';
const base = path.join(samba.sharePath, dirName);
await rm(base, { recursive: true, force: true });
await mkdir(base, { recursive: true });
await writeFile(path.join(base, 'shared.bin'), Buffer.alloc(4096, 7));
t.teardown(() => rm(base, { recursive: true, force: true }));

/** Holds the first successful CREATE reply back until a break notification comes, then sends both in one write. */
function createReplyWithBreak(): { hook: FrameHook; joined: () => boolean } {
  let held: Buffer | null = null;
  let joined = false;
  const hook: FrameHook = (frame, _i, relay) => {
    const h = frameHeader(frame);
    if (!h || !h.response) return;
    if (h.command === Smb2Command.CREATE && h.status === 0 && held === null && !joined) {
      held = Buffer.from(frame);
      return 'drop';
    }
    if (h.command === Smb2Command.OPLOCK_BREAK && held !== null) {
      relay.toClientJoined([held, frame]);
      held = null;
      joined = true;
      return 'drop';
    }
  };
  return { hook, joined: () => joined };
}

for (const [name, d] of [['2.0.2', Dialect.SMB2_0_2], ['2.1', Dialect.SMB2_1], ['3.1.1', Dialect.SMB3_1_1]] as const) {
  t.test(`dialect ${name}: a break read with the reply that granted the lease is acknowledged at once`, async (t) => {
    const race = createReplyWithBreak();
    const proxy = await startProxy({ host: samba.host, port: samba.port, toClient: race.hook });
    t.teardown(() => proxy.close());
    const client = await connect({
      host: proxy.host, port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
      timeoutMs: 60000, echoIntervalMs: 0, minDialect: d, maxDialect: d,
    });
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const file = `${dirName}\\shared.bin`;
    const started = Date.now();
    // Both CREATEs leave before either reply: neither finds a lease to share, so each has a key of its own.
    const [a, b] = await Promise.all([
      tree.create(file, { access: 'read', disposition: 'open', lease: true }),
      tree.create(file, { access: 'read', disposition: 'open', lease: true }),
    ]);
    const took = Date.now() - started;
    t.ok(race.joined(), 'the first reply and the break reached the client together');
    t.ok(took < 5000, `the second open did not wait out the server's break timeout (${took} ms)`);
    // One of the two was granted RWH (2.0.2: a batch oplock) and broken to RH (level II), the other granted that: neither may cache writes now.
    for (const o of [a, b]) t.equal(o.leaseState & LeaseState.WRITE_CACHING, 0, 'the open may not cache writes');
    if (d !== Dialect.SMB2_0_2) {
      t.ok(a.leaseKey && b.leaseKey && !a.leaseKey.equals(b.leaseKey), 'two lease keys');
      for (const o of [a, b]) t.equal(tree.leases.stateOf(o.leaseKey!)! & LeaseState.WRITE_CACHING, 0, 'nor does the lease table say so');
    }
    await tree.close(a.fileId);
    await tree.close(b.fileId);
  });
}

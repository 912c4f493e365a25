/**
 * A WRITE of ours that landed in part while the connection was down is ours,
 * not someone else's change. A Samba process that dies in the middle of a
 * WRITE leaves the file ending at any byte of it (CI: a 256 MiB dd lost its
 * handle when the file after the reconnect ended 133888 bytes into a 4 MiB
 * WRITE in flight). By size alone that is an append by another client, which
 * must cost the handle, so the reopen reads the part back and compares it
 * with the WRITE's bytes. Here the part is put in the file on the server's
 * disk while the client cannot reach it: once the WRITE's own first bytes,
 * once another client's bytes of the same length.
 */
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { connect, Dialect } from '../../transport/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startSamba } from '../helpers/samba.js';
import { sleep, until } from '../helpers/wait.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const proxy = await startFaultProxy({ host: samba.host, port: samba.port });
t.teardown(() => proxy.close());

const first = Buffer.alloc(4096, 7);
// Distinct bytes at every offset, so a part read back from the wrong place differs.
const payload = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + 11) & 0xff));
// As far into the WRITE as CI saw it land: not on a page boundary.
const PART = 133888;

/**
 * Write `first`, cut the connection and send `payload` after it (held for
 * the reconnect), append `part` to the file on the server's disk, then let
 * the client back. Resolves to what the WRITE came to and what the reconnect
 * reported.
 */
async function cutWith(name: string, part: Buffer) {
  const client = await connect({
    host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
    timeoutMs: 20000, minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1, reconnect: { softTimeoutMs: 0 },
  });
  try {
    const tree = await client.treeConnect('test');
    // No lease, so no durable handle: after the cut the file is opened afresh, the path that compares.
    const o = await tree.create(name, { access: 'readwrite', disposition: 'overwrite_if', lease: false });
    await tree.write(o.fileId, 0, [first]);
    const conns = proxy.stats.connections;
    proxy.refuse(true);
    proxy.cut();
    const written = tree.write(o.fileId, first.length, [payload.subarray(0, 30000), payload.subarray(30000)])
      .then((n) => `wrote ${n}`, (e: unknown) => String(e));
    await sleep(300);
    await appendFile(path.join(samba.sharePath, name), part);
    const before = client.stats().reconnects;
    proxy.refuse(false);
    const back = await until(() => client.stats().reconnects > before && proxy.stats.connections > conns, 20000);
    return { back, written: await written, reconnected: client.lastReconnected, onServer: await readFile(path.join(samba.sharePath, name)) };
  } finally {
    await client.close();
  }
}

t.test('our own WRITE, landed in part: the open comes back and the WRITE lands whole', async (t) => {
  const r = await cutWith('partial-ours.bin', payload.subarray(0, PART));
  t.ok(r.back, 'the client reconnected');
  t.equal(r.written, `wrote ${payload.length}`, 'the WRITE was sent again and answered');
  t.equal(r.reconnected?.lost, 0, 'no handle lost');
  t.equal(r.reconnected?.reopened, 1, 'the file was opened afresh');
  t.ok(r.onServer.equals(Buffer.concat([first, payload])), 'the file holds both writes and nothing else');
});

t.test('another client appended as many bytes: the handle is lost, the append kept', async (t) => {
  const other = Buffer.from(payload.subarray(0, PART));
  other[PART - 1] = other[PART - 1]! ^ 0xff;
  const r = await cutWith('partial-other.bin', other);
  t.ok(r.back, 'the client reconnected');
  t.match(r.written, /handle was lost in a reconnect: the file changed on the server/, 'the WRITE fails and says why');
  t.equal(r.reconnected?.lost, 1, 'the handle is lost');
  t.ok(r.onServer.equals(Buffer.concat([first, other])), 'the other change is not written over');
});

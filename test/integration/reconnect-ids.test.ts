/**
 * Requests built while a reconnect is under way reach the tree as it is
 * connected again. The reconnect sets the session up before it connects the
 * tree again; a WRITE built between the two held the new session's id and the
 * old tree id, and Samba failed it (STATUS_NETWORK_NAME_DELETED). netfs does
 * not retry a status error, so fsync reported EIO for data a later pass did
 * write (reconnect-proxy's "256 MiB dd write survives three cuts", seen once
 * in CI). Here WRITEs are issued without pause through a fault proxy that
 * cuts the connection 20 times, against the real Samba: every one must succeed.
 */
import t from 'tap';
import { connect, Dialect } from '../../transport/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const proxy = await startFaultProxy({ host: samba.host, port: samba.port });
t.teardown(() => proxy.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const d of [Dialect.SMB2_1, Dialect.SMB3_1_1]) {
  t.test(`WRITEs issued all through 20 reconnects all land (dialect 0x${d.toString(16)})`, async (t) => {
    const client = await connect({
      host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
      timeoutMs: 20000, minDialect: d, maxDialect: d, reconnect: { softTimeoutMs: 0 },
    });
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const o = await tree.create(`reconnect-ids-${d}.bin`, { access: 'write', disposition: 'overwrite_if', lease: true });
    const data = Buffer.alloc(4096, 7);
    const failures: string[] = [];
    const short: number[] = [];
    const writes: Promise<unknown>[] = [];
    // A few WRITEs every turn of the event loop: some are built in every phase of each reconnect.
    const issuer = setInterval(() => {
      for (let k = 0; k < 4; k++) {
        const at = (writes.length % 256) * 4096;
        writes.push(tree.write(o.fileId, at, [data]).then((n) => n === 4096 || short.push(n), (e: unknown) => failures.push(String(e))));
      }
    }, 0);
    // Each cut waits for the reconnect before it (a cut during one makes it a
    // second attempt, not a second reconnect: reconnect-cut-while-reclaiming).
    for (let c = 0; c < 20; c++) {
      await sleep(150);
      const before = client.stats().reconnects;
      proxy.cut();
      for (const end = Date.now() + 15000; client.stats().reconnects === before && Date.now() < end; ) await sleep(10);
    }
    await sleep(300);
    clearInterval(issuer);
    await Promise.all(writes);
    t.ok(client.stats().reconnects >= 20, `${client.stats().reconnects} reconnects`);
    t.same(failures.slice(0, 3), [], `${failures.length} of ${writes.length} WRITEs failed${failures.length ? `: ${failures[0]}` : ''}`);
    t.same(short, [], 'each wrote all 4096 bytes');
  });
}

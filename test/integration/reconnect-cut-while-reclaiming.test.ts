/**
 * A reconnect cut short while it takes the open files back leaves every open
 * for the next attempt. The durable table once emptied itself before taking
 * the opens back one by one, so a cut in the middle (CI: cuts 150 ms apart on
 * a loaded machine) dropped the rest: the next attempt took nothing back, and
 * every request on those handles went out with a FileId the server no longer
 * knew. Here the traffic is slowed so that taking eight opens back spans
 * several round trips, and the connection is cut in that phase.
 */
import t from 'tap';
import { connect, Dialect } from '../../transport/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startSamba } from '../helpers/samba.js';
import { sleep, until } from '../helpers/wait.js';

const samba = await startSamba();
t.teardown(() => samba.stop());
const proxy = await startFaultProxy({ host: samba.host, port: samba.port });
t.teardown(() => proxy.close());

for (const d of [Dialect.SMB2_1, Dialect.SMB3_1_1]) {
  t.test(`a cut while the opens are taken back loses none of them (dialect 0x${d.toString(16)})`, async (t) => {
    const client = await connect({
      host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
      timeoutMs: 20000, minDialect: d, maxDialect: d, reconnect: { softTimeoutMs: 0 },
    });
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const opens = [];
    for (let k = 0; k < 8; k++) {
      opens.push(await tree.create(`reclaim-cut-${d}-${k}.bin`, { access: 'write', disposition: 'overwrite_if', lease: true }));
    }
    const data = Buffer.alloc(4096, 3);
    // Each chunk held 25 ms: the eight CREATEs that take the opens back span about 0.4 s.
    proxy.delay(25);
    const cutsInReclaim: number[] = [];
    // WRITEs issued before the first cut are parked through every attempt, then resent.
    let parked: Promise<string[]> | null = null;
    for (let round = 0; round < 4; round++) {
      const conns = proxy.stats.connections;
      proxy.cut();
      parked ??= Promise.all(opens.map((o, k) =>
        tree.write(o.fileId, 4096, [data]).then((n) => `${k}: ${n}`, (e: unknown) => `${k}: ${String(e)}`)));
      t.ok(await until(() => proxy.stats.connections > conns, 5000), `round ${round}: the client dials again`);
      // NEGOTIATE, two SESSION_SETUPs and a TREE_CONNECT take about 0.2 s at this delay; then the CREATEs.
      const setupBytes = proxy.stats.bytes.toServer;
      t.ok(await until(() => proxy.stats.bytes.toServer - setupBytes > 1500, 5000), `round ${round}: the reconnect is under way`);
      await sleep(80 + 40 * round);
      cutsInReclaim.push(proxy.stats.bytes.toServer - setupBytes);
      proxy.cut();
    }
    proxy.delay(0);
    const before = client.stats().reconnects;
    t.ok(await until(() => client.stats().reconnects > before, 15000), 'connected again');
    const results = await Promise.all(opens.map((o, k) =>
      tree.write(o.fileId, 0, [data]).then((n) => `${k}: ${n}`, (e: unknown) => `${k}: ${String(e)}`)));
    t.same(results, opens.map((_, k) => `${k}: 4096`), 'a WRITE through each of the eight opens lands');
    t.same(await parked, opens.map((_, k) => `${k}: 4096`), 'so does each WRITE parked through all the attempts');
    t.equal(client.lastReconnected?.lost, 0, 'none reported lost');
    t.comment(`bytes to the server when each cut fell: ${cutsInReclaim.join(', ')}`);
  });
}

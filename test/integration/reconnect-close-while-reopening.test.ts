/**
 * A file closed while a reconnect takes the open files back is closed for
 * good. The table of opens once filed every open it took back again at the
 * end, closed meanwhile or not: a file whose handle closetimeo closed during
 * the reconnect (a Samba child killed under `dd`) was then reopened on the
 * server at every later reconnect, a handle nobody would close, and each time
 * the durable reclaim was tried for 1.5 s first. Here the traffic is slowed
 * so that taking two opens back spans a window, and one is closed in it.
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

t.test('an open closed while the reconnect takes it back is not taken back again', async (t) => {
  const client = await connect({
    host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
    timeoutMs: 20000, minDialect: Dialect.SMB3_1_1, maxDialect: Dialect.SMB3_1_1, reconnect: { softTimeoutMs: 0 },
  });
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const closing = await tree.create('close-in-reopen-a.bin', { access: 'readwrite', disposition: 'overwrite_if', lease: true });
  const kept = await tree.create('close-in-reopen-b.bin', { access: 'readwrite', disposition: 'overwrite_if', lease: true });
  await tree.write(closing.fileId, 0, [Buffer.alloc(4096, 1)]);
  await tree.write(kept.fileId, 0, [Buffer.alloc(4096, 2)]);

  // Each chunk held 150 ms: NEGOTIATE, two SESSION_SETUPs and a TREE_CONNECT
  // take about 1.2 s, then the two reclaims go out together and take 0.3 s.
  proxy.delay(150);
  const before = client.stats().reconnects;
  const conns = proxy.stats.connections;
  proxy.cut();
  t.ok(await until(() => proxy.stats.connections > conns, 5000), 'the client dials again');
  const setupBytes = proxy.stats.bytes.toServer;
  // The TREE_CONNECT is the fourth request, at about 1000 bytes; the reclaims follow it.
  t.ok(await until(() => proxy.stats.bytes.toServer - setupBytes > 1200, 10000), 'the reclaims are under way');
  await sleep(50);
  const closed = tree.close(closing.fileId).then(() => 'closed', (e: unknown) => String(e));
  t.ok(await until(() => client.stats().reconnects > before, 15000), 'connected again');
  t.equal(await closed, 'closed', 'the close waited for the reconnect and succeeded');
  t.equal((client.lastReconnected?.reclaimed ?? 0) + (client.lastReconnected?.reopened ?? 0), 2, 'both opens were being taken back');
  proxy.delay(0);

  // The next reconnect takes back only the open still open.
  const again = client.stats().reconnects;
  proxy.cut();
  t.ok(await until(() => client.stats().reconnects > again, 15000), 'connected again after a second cut');
  const r = client.lastReconnected;
  t.equal((r?.reclaimed ?? 0) + (r?.reopened ?? 0) + (r?.lost ?? 0), 1, 'one open taken back, not the closed one');
  t.equal(await tree.write(kept.fileId, 4096, [Buffer.alloc(10, 3)]), 10, 'the open file still works');
  await tree.close(kept.fileId);
});

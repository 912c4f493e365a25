/**
 * ECHO against Samba, and the keepalive against a peer that accepts the TCP
 * connection but never answers (a server gone quiet): the connection must be
 * closed and its waiters failed, not left hanging.
 */
import t from 'tap';
import net from 'node:net';
import { SmbConnection } from '../../transport/connection.js';
import { connect } from '../../transport/index.js';
import { startKeepalive } from '../../transport/keepalive.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

t.test('ECHO round trip on a live session', async (t) => {
  const c = await connect({ host: samba.host, port: samba.port, username: samba.user, password: samba.pass, domain: '', guest: false });
  t.teardown(() => c.close());
  await c.echo();
  t.pass('server answered ECHO');
});

t.test('a silent peer is detected and the connection closed', async (t) => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as net.AddressInfo).port;
  const conn = await SmbConnection.open('127.0.0.1', port, 300);
  const closed = new Promise<Error | null>((r) => conn.once('close', r));
  conn.lastReceiveAt = Date.now() - 1000;
  const t0 = Date.now();
  startKeepalive(conn, 100);
  const why = await closed;
  t.match(String(why?.message), /ECHO/, 'closed because ECHO went unanswered');
  t.ok(Date.now() - t0 < 3000, 'within a few timeouts');
  t.ok(conn.isClosed);
});

t.test('connect to a silent peer times out instead of hanging', async (t) => {
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  const port = (silent.address() as net.AddressInfo).port;
  await t.rejects(connect({ host: '127.0.0.1', port, username: 'a', password: 'b', domain: '', guest: false, timeoutMs: 300 }), { code: 'SMB_ERR_TIMEOUT' });
});

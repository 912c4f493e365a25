/**
 * The transport against impacket's `smbserver.py -smb2support`
 * (test/helpers/impacket.ts), through an observing proxy:
 *  - without `sign`: dialect 2.0.2, signing enabled by the server but not
 *    required; impacket signs its replies anyway, and the client does not
 *    check those signatures (MS-SMB2 3.2.5.1.3 verifies only where
 *    Session.SigningRequired, as the Linux client does), so compounded
 *    replies, which impacket signs wrongly, are accepted like unsigned ones;
 *  - with `sign`: every request is signed and every reply checked; single
 *    replies (TREE_CONNECT) verify, so the key and algorithm are right, while
 *    the first reply of a compound does not, and the call fails with a
 *    bad-signature error and a published event.
 */
import t from 'tap';
import diagnosticsChannel from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { connect, Dialect, SmbProtocolError, type SmbConnectOptions } from '../../transport/index.js';
import type { TransportEvent } from '../../transport/connection.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { startImpacket } from '../helpers/impacket.js';
import { frameHeader, startProxy } from '../helpers/proxy.js';

const srv = await startImpacket();
t.teardown(() => srv.stop());
const content = randomBytes(200_000);
await mkdir(path.join(srv.sharePath, 'dir'));
await writeFile(path.join(srv.sharePath, 'dir', 'data.bin'), content);

const events: TransportEvent[] = [];
const onEvent = (m: unknown) => void events.push(m as TransportEvent);
diagnosticsChannel.subscribe('smbfuse:transport', onEvent);
t.teardown(() => diagnosticsChannel.unsubscribe('smbfuse:transport', onEvent));

/** A proxy that records the replies it relays: signed ones, and members of compounds. */
async function observed() {
  const seen = { signed: 0, compoundSigned: 0, unsigned: 0 };
  const proxy = await startProxy({
    host: srv.host,
    port: srv.port,
    toClient: (fr) => {
      const h = frameHeader(fr);
      if (!h || !h.response) return;
      if (!h.signed) seen.unsigned++;
      else if (h.nextCommand !== 0) seen.compoundSigned++;
      else seen.signed++;
    },
  });
  t.teardown(() => proxy.close());
  return { proxy, seen };
}

function opts(port: number, extra: Partial<SmbConnectOptions> = {}): SmbConnectOptions {
  return {
    host: '127.0.0.1',
    port,
    username: srv.user,
    password: srv.pass,
    domain: '',
    guest: false,
    timeoutMs: 10000,
    echoIntervalMs: 0,
    ...extra,
  };
}

t.test('without sign: 2.0.2, replies signed by impacket are not checked, and the tree works', async (t) => {
  const { proxy, seen } = await observed();
  const client = await connect(opts(proxy.port));
  t.teardown(() => client.close());
  t.equal(client.dialect, Dialect.SMB2_0_2, 'impacket speaks 2.0.2');
  t.equal(client.session.signingRequired, false, 'neither side requires signing');
  const tree = await client.treeConnect(srv.share);
  t.equal((await tree.stat('dir\\data.bin')).size, content.length, 'stat through a compound');
  t.equal((await tree.stat('dir')).isDirectory, true, 'a directory');
  t.ok(seen.compoundSigned > 0, `impacket signed compounded replies (${seen.compoundSigned})`);
  t.equal(client.connection.signStats.signed, 0, 'no request signed');
  t.equal(client.connection.signStats.verified, 0, 'no reply signature checked');
  t.equal(client.connection.lastFatal, null, 'the connection is intact');
});

t.test('sign: single replies verify, the first reply of a compound does not and is refused', async (t) => {
  const { proxy, seen } = await observed();
  events.length = 0;
  const client = await connect(opts(proxy.port, { sign: true }));
  t.teardown(() => client.close());
  t.equal(client.session.signingRequired, true, 'the session signs everything');
  const tree = await client.treeConnect(srv.share);
  const st = client.connection.signStats;
  t.ok(st.verified >= 1, `the TREE_CONNECT reply verified (${st.verified}): the key and HMAC-SHA256 are right`);
  await t.rejects(tree.stat('dir\\data.bin'), /bad signature on reply to command 5 /, 'the compounded CREATE reply is refused');
  t.ok(client.connection.lastFatal instanceof SmbProtocolError, 'the connection was reset');
  t.equal(events[0]?.event, 'bad-signature', 'published on smbfuse:transport');
  t.equal(events[0]?.command, Smb2Command.CREATE);
  t.ok(seen.compoundSigned > 0, 'the refused reply came as a member of a compound');
});

/**
 * src/fault-log.ts: each actionable failure is logged once with what to do,
 * and re-armed only by the event that ends it (a reply for "not
 * answering", a successful WRITE for "disk full").
 */
import t from 'tap';
import { FaultLog } from '../../../src/fault-log.js';
import { NtStatus } from '../../../transport/ntstatus.js';
import { Smb2Command } from '../../../transport/pdu/commands.js';

function setup() {
  const lines: string[] = [];
  const probe = { received: 1000, written: 0 };
  const f = new FaultLog((l) => lines.push(l), { unc: '//h/s', hostPort: 'h:445', share: 's', mountpoint: '/mnt/s', timeoutMs: 30000 }, {
    lastReceiveAt: () => probe.received,
    bytesWritten: () => probe.written,
  });
  return { f, lines, probe };
}
const status = (command: number, s: number) => ({ command, messageId: 1n, status: s, ms: 1 });

t.test('disk full: once, again only after a write went through', async (t) => {
  const { f, lines, probe } = setup();
  for (let i = 0; i < 5; i++) f.note(status(Smb2Command.WRITE, NtStatus.STATUS_DISK_FULL));
  t.equal(lines.length, 1);
  t.match(lines[0], /^\/\/h\/s: the server's disk is full \(STATUS_DISK_FULL on WRITE\); writes fail with ENOSPC until space is freed on the server$/);
  probe.written += 4096;
  f.note(status(Smb2Command.WRITE, NtStatus.STATUS_DISK_FULL));
  f.note(status(Smb2Command.WRITE, NtStatus.STATUS_QUOTA_EXCEEDED));
  t.equal(lines.length, 2);
});

t.test('not answering: once per silence', async (t) => {
  const { f, lines, probe } = setup();
  f.note({ command: Smb2Command.READ, messageId: 1n, failure: 'timeout', ms: 30000 });
  f.note({ command: Smb2Command.CREATE, messageId: 2n, failure: 'timeout', ms: 30000 });
  t.equal(lines.length, 1);
  t.match(lines[0], /did not answer READ within 30 s; calls fail with ETIMEDOUT while it is silent/);
  probe.received += 10;
  f.note({ command: Smb2Command.READ, messageId: 3n, failure: 'timeout', ms: 30000 });
  t.equal(lines.length, 2, 'the server answered in between: a new silence');
});

t.test('session ended, share gone, connection lost: once each; nothing after stop()', async (t) => {
  const { f, lines } = setup();
  for (let i = 0; i < 3; i++) {
    f.note(status(Smb2Command.CREATE, NtStatus.STATUS_USER_SESSION_DELETED));
    f.note(status(Smb2Command.READ, NtStatus.STATUS_NETWORK_NAME_DELETED));
    f.note({ command: Smb2Command.READ, messageId: 9n, failure: 'lost', ms: 1, message: 'reset' });
    f.connectionLost(new Error('connection closed by server'));
  }
  t.equal(lines.length, 3);
  t.match(lines[0], /the server ended the session \(STATUS_USER_SESSION_DELETED on CREATE\); every call now fails: unmount \(fusermount -u \/mnt\/s\) and mount again/);
  t.match(lines[1], /share 's' is gone from the server \(STATUS_NETWORK_NAME_DELETED on READ\)/);
  t.match(lines[2], /connection to h:445 lost for good \(connection closed by server\); every call now fails with EIO/);
  const other = setup();
  other.f.stop();
  other.f.connectionLost(null);
  other.f.note(status(Smb2Command.WRITE, NtStatus.STATUS_DISK_FULL));
  t.same(other.lines, [], 'unmounting: our own close is not a fault');
  f.note(status(Smb2Command.CREATE, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND));
  t.equal(lines.length, 3, 'ordinary errors are not logged');
});

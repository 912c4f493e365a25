/**
 * A background daemon without log_file= logs to syslog through /dev/log
 * (issue 12, item 3). The host's /dev/log is never touched: the CLI runs in
 * a private mount namespace (unshare -m, as root) whose /dev is a tmpfs with
 * null, zero, urandom and random bound from the real one and a datagram
 * socket of this test at /dev/log. A mount that fails (connection refused)
 * must leave its error line there, with the syslog priority user.err, the
 * tag smbfuse[PID of the daemon], and not the password.
 * Where no private mount namespace can be made (a chroot: `unshare -m`
 * cannot make / private there) the test is skipped, saying so; it never
 * falls back to a namespace whose mounts could reach the host.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cliPath } from '../helpers/mount.js';
import { localTempDir } from '../helpers/rw.js';

const run = promisify(execFile);
const tmp = await localTempDir(t, 'smbfuse-syslog-');
const out = path.join(tmp, 'syslog.out');
const SECRET = 'Sekr1t-Pw-77';

// Inside the namespace: listener on /dev/log (stops 3 s after the last datagram), then the CLI.
const script = `
set -u
mkdir -p "$T/olddev" "$T/mp"
mount --bind /dev "$T/olddev"
mount -t tmpfs none /dev
for n in null zero urandom random; do touch /dev/$n; mount --bind "$T/olddev/$n" /dev/$n; done
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
print("ready", flush=True)
s.settimeout(10)
with open(sys.argv[1], "w") as f:
    try:
        while True:
            f.write(s.recv(65536).decode(errors="replace") + "\\n"); f.flush(); s.settimeout(3)
    except socket.timeout:
        pass
' "$OUT" > "$T/listener.ready" &
for i in $(seq 50); do [ -s "$T/listener.ready" ] && break; sleep 0.1; done
"$NODE" "$CLI" //127.0.0.1/test "$T/mp" -o port=1,username=u,password="$SECRET"
echo "cli status $?"
wait
`;

const namespaces = await run('timeout', ['10', 'unshare', '-m', 'true']).then(() => true, () => false);

t.test('background daemon logs to /dev/log', { skip: namespaces ? false : 'no private mount namespace here (unshare -m failed; a chroot?)' }, async (t) => {
  const r = await run('timeout', ['60', 'unshare', '-m', 'bash', '-c', script], {
    env: { ...process.env, T: tmp, OUT: out, NODE: process.execPath, CLI: cliPath, SECRET },
    timeout: 70_000,
  }).catch((e: { stdout?: string; stderr?: string; code?: number }) => e);
  t.match(r.stdout, /cli status 1/, `the mount failed as it should: ${r.stderr}`);
  const log = await readFile(out, 'utf8');
  t.match(log, /^<11>.*smbfuse\[\d+\]: \/\/127\.0\.0\.1\/test: connection refused by 127\.0\.0\.1:1 \(ECONNREFUSED\)$/m, `syslog got the line: ${log}`);
  t.notOk(log.includes(SECRET), 'no password in syslog');
});

#!/usr/bin/env node
// rate-relay: a TCP relay that paces each direction of each connection to a
// bit rate, to stand in for a slower link in benchmarks (bench-fsc.sh).
//
// usage: node scripts/rate-relay.mjs LISTEN_PORT TARGET_HOST TARGET_PORT MBIT_PER_S
//
// Listens on 127.0.0.1:LISTEN_PORT only. Each chunk is passed on at once and
// charged to a virtual clock at the rate; once the clock runs more than 4 ms
// ahead of real time the source is paused until it is 2 ms ahead (timers are
// too coarse to hold each 64 KiB chunk for its own 0.5 ms). The sender also
// waits for the receiver's drain. Prints "rate-relay: listening" on stdout
// once ready; exits on SIGTERM/SIGINT.
import net from 'node:net';

const [listenPort, host, targetPort, mbit] = process.argv.slice(2);
if (!listenPort || !host || !targetPort || !mbit) {
  console.error('usage: node scripts/rate-relay.mjs LISTEN_PORT TARGET_HOST TARGET_PORT MBIT_PER_S');
  process.exit(2);
}
const bytesPerMs = (Number(mbit) * 1e6) / 8 / 1000;
const AHEAD_MS = 4;

/** Pass src's bytes to dst at the rate. */
function pace(src, dst) {
  let clock = 0; // virtual time (ms) when the link is free again
  let held = 0; // reasons src is paused (timer, drain)
  const hold = () => (held++ === 0 ? src.pause() : undefined);
  const release = () => (--held === 0 ? src.resume() : undefined);
  src.on('data', (chunk) => {
    const now = performance.now();
    clock = Math.max(clock, now) + chunk.length / bytesPerMs;
    if (!dst.write(chunk)) {
      hold();
      dst.once('drain', release);
    }
    if (clock - now > AHEAD_MS) {
      hold();
      setTimeout(release, clock - now - AHEAD_MS / 2);
    }
  });
  src.on('end', () => dst.end());
  src.on('error', () => dst.destroy());
  dst.on('error', () => src.destroy());
}

const server = net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), host);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  pace(client, upstream);
  pace(upstream, client);
});
server.listen(Number(listenPort), '127.0.0.1', () => console.log('rate-relay: listening'));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

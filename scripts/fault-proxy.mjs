#!/usr/bin/env node
/**
 * Fault proxy for manual tries: relay 127.0.0.1:LISTEN to HOST:PORT and take
 * one-letter commands on stdin to break the traffic.
 *
 * usage: node scripts/fault-proxy.mjs HOST:PORT [LISTEN_PORT]
 *   then mount with port=LISTEN_PORT (host 127.0.0.1) and type:
 *   c  cut every connection        r  reset (RST) every connection
 *   s  stall / resume              d MS  delay each chunk MS ms (d 0: off)
 *   n BYTES  cut after BYTES more  x  refuse new connections / accept again
 *   > drop client→server  < drop server→client  = stop dropping   q  quit
 */
import readline from 'node:readline';
import { startFaultProxy } from './fault-proxy-lib.mjs';

const [target, listen] = process.argv.slice(2);
const m = /^(.+):(\d+)$/.exec(target ?? '');
if (!m) {
  process.stderr.write('usage: node scripts/fault-proxy.mjs HOST:PORT [LISTEN_PORT]\n');
  process.exit(2);
}
const proxy = await startFaultProxy({
  host: m[1],
  port: Number(m[2]),
  listenPort: listen ? Number(listen) : 0,
  log: (l) => process.stderr.write(`fault-proxy: ${l}\n`),
});
process.stderr.write(`fault-proxy: 127.0.0.1:${proxy.port} -> ${m[1]}:${m[2]}\n`);
let stalled = false;
let refusing = false;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'c': proxy.cut(); break;
    case 'r': proxy.reset(); break;
    case 's': stalled = !stalled; proxy.stall(stalled); break;
    case 'd': proxy.delay(Number(arg ?? 0)); break;
    case 'n': proxy.cutAfter(Number(arg ?? 0)); break;
    case 'x': refusing = !refusing; proxy.refuse(refusing); process.stderr.write(`fault-proxy: ${refusing ? 'refusing' : 'accepting'}\n`); break;
    case '>': proxy.drop('toServer'); break;
    case '<': proxy.drop('toClient'); break;
    case '=': proxy.drop(null); break;
    case 'q': void proxy.close().then(() => process.exit(0)); break;
    default: process.stderr.write('fault-proxy: commands: c r s d n x > < = q\n');
  }
});
rl.on('close', () => void proxy.close().then(() => process.exit(0)));

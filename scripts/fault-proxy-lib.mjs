/**
 * A fault-injecting TCP relay on loopback, for reconnect tests and manual
 * tries (scripts/fault-proxy.mjs). Plain JavaScript so the command line can
 * run it without a build; test/helpers/fault-proxy.ts gives it types.
 *
 * Each accepted client connection is relayed to the target. Faults apply to
 * every relayed connection at once:
 *   cut()            end every connection now (both sides see a close)
 *   reset()          the same with TCP RST
 *   cutAfter(n)      cut once n more bytes have been relayed (either way)
 *   stall(on)        hold all data in both directions (nothing is lost)
 *   delay(ms)        hold each chunk ms before passing it on
 *   drop(dir)        discard what travels one way ('toServer' | 'toClient'), null: stop
 *   refuse(on)       close new connections at once (a server that is down)
 */
import net from 'node:net';

/**
 * @param {{ host: string, port: number, listenPort?: number, log?: (line: string) => void }} opts
 */
export function startFaultProxy(opts) {
  const relays = new Set();
  const stats = { connections: 0, cuts: 0, bytes: { toServer: 0, toClient: 0 } };
  let stalled = false;
  let delayMs = 0;
  let dropped = null;
  let refusing = false;
  let cutAt = -1;
  const log = opts.log ?? (() => {});

  const totalBytes = () => stats.bytes.toServer + stats.bytes.toClient;

  const endAll = (how) => {
    for (const r of relays) r.end(how);
    stats.cuts++;
    log(`${how === 'rst' ? 'reset' : 'cut'} ${relays.size} connection(s) after ${totalBytes()} bytes`);
  };

  /** One relayed connection: client <-> server, with queues for stall and delay. */
  const relay = (client) => {
    const server = net.connect({ host: opts.host, port: opts.port });
    const pending = { toServer: [], toClient: [] };
    let ended = false;
    const r = {
      end(how) {
        if (ended) return;
        ended = true;
        relays.delete(r);
        if (how === 'rst') {
          client.resetAndDestroy();
          server.resetAndDestroy();
        } else {
          client.destroy();
          server.destroy();
        }
      },
      flush() {
        for (const dir of ['toServer', 'toClient']) {
          const out = dir === 'toServer' ? server : client;
          while (!stalled && pending[dir].length > 0 && !ended) {
            const chunk = pending[dir].shift();
            out.write(chunk);
          }
        }
      },
    };
    relays.add(r);
    stats.connections++;
    const pass = (dir, chunk) => {
      if (ended) return;
      if (dropped === dir) return;
      stats.bytes[dir] += chunk.length;
      if (cutAt >= 0 && totalBytes() >= cutAt) {
        cutAt = -1;
        endAll('fin');
        return;
      }
      const go = () => {
        if (ended) return;
        pending[dir].push(chunk);
        r.flush();
      };
      if (delayMs > 0) setTimeout(go, delayMs);
      else go();
    };
    client.on('data', (c) => pass('toServer', c));
    server.on('data', (c) => pass('toClient', c));
    for (const s of [client, server]) {
      s.on('error', () => r.end('fin'));
      s.on('close', () => r.end('fin'));
    }
  };

  const listener = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    relay(client);
  });

  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.listenPort ?? 0, '127.0.0.1', () => {
      const proxy = {
        host: '127.0.0.1',
        port: listener.address().port,
        stats,
        get openConnections() {
          return relays.size;
        },
        cut: () => endAll('fin'),
        reset: () => endAll('rst'),
        cutAfter(n) {
          cutAt = totalBytes() + n;
        },
        stall(on) {
          stalled = on;
          log(on ? 'stalled' : 'flowing');
          if (!on) for (const r of relays) r.flush();
        },
        delay(ms) {
          delayMs = ms;
        },
        drop(dir) {
          dropped = dir;
        },
        refuse(on) {
          refusing = on;
        },
        close() {
          for (const r of relays) r.end('fin');
          return new Promise((res) => listener.close(() => res()));
        },
      };
      resolve(proxy);
    });
  });
}

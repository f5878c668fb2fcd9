#!/usr/bin/env node
'use strict';
/**
 * A loopback TCP relay that makes a local server look far away, for the apply-scale bench:
 *
 * - every byte is delayed by half the round trip in each direction, so one request /
 *   response turn costs `rttMs` on top of what the server takes;
 * - a new connection carries nothing for its first `setupMs` (what TCP + TLS set-up
 *   costs on a real network: a client can only send its request once the handshakes are
 *   done), so the first turn on a connection costs `setupMs + rttMs` and a client that
 *   opens its connection early (or reuses one) saves it.
 *
 * Order within a direction is kept (one queue per direction, constant delay); half-close
 * and resets are passed on after the same delay. Counts connections and bytes so the
 * bench can report how many connections a run opened.
 *
 *   node bench/relay.js --target 127.0.0.1:8080 [--rtt 50] [--setup 100] [--port 0]
 *
 * prints `relay listening on http://127.0.0.1:PORT -> 127.0.0.1:8080 (rtt 50 ms, setup 100 ms)`
 * and runs until SIGINT/SIGTERM. From code: `const { startRelay } = require('./relay')`.
 */
const net = require('node:net');

/** One direction of a connection: chunks leave `delayMs` after they arrived, in order. */
function delayedPipe(from, to, delayMs, notBefore, onBytes) {
  const queue = [];
  let timer;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0].at <= now) {
      const item = queue.shift();
      if (item.end) {
        to.end();
        return;
      }
      to.write(item.chunk);
    }
    if (queue.length > 0) timer = setTimeout(flush, queue[0].at - now);
  };
  const push = (item) => {
    queue.push(item);
    if (timer === undefined) timer = setTimeout(flush, Math.max(0, item.at - Date.now()));
  };
  from.on('data', (chunk) => {
    onBytes(chunk.length);
    push({ at: Math.max(Date.now(), notBefore()) + delayMs, chunk });
  });
  from.on('end', () => {
    if (ended) return;
    ended = true;
    push({ at: Math.max(Date.now(), notBefore()) + delayMs, end: true });
  });
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    queue.length = 0;
  };
}

/**
 * Starts a relay on 127.0.0.1 (`port` 0 = any free port) to `target` ({host, port}).
 * Resolves to { port, url, stats: {connections, bytesUp, bytesDown}, resetStats(), close() }.
 */
function startRelay({ target, rttMs = 50, setupMs = 100, port = 0, host = '127.0.0.1' }) {
  if (!(rttMs >= 0) || !(setupMs >= 0)) throw new Error(`relay: rttMs ${rttMs} and setupMs ${setupMs} must be numbers >= 0`);
  const oneWay = rttMs / 2;
  const stats = { connections: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    stats.connections++;
    const openedAt = Date.now();
    // Client-to-server bytes wait for the set-up; the server's answer to them then takes
    // its own one-way delay back, so the first turn costs setup + rtt.
    const readyAt = () => openedAt + setupMs;
    const upstream = net.connect({ host: target.host, port: target.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const stops = [
      delayedPipe(client, upstream, oneWay, readyAt, (n) => (stats.bytesUp += n)),
      delayedPipe(upstream, client, oneWay, () => 0, (n) => (stats.bytesDown += n)),
    ];
    const teardown = () => {
      for (const stop of stops) stop();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // A reset or error on either side resets the other after the one-way delay.
    const reset = () => setTimeout(teardown, oneWay);
    client.on('error', reset);
    upstream.on('error', reset);
    client.on('close', () => (upstream.writableEnded || upstream.destroyed ? teardown() : reset()));
    upstream.on('close', () => (client.writableEnded || client.destroyed ? teardown() : reset()));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        port: actual,
        url: `http://${host}:${actual}`,
        rttMs,
        setupMs,
        stats,
        resetStats() {
          stats.connections = 0;
          stats.bytesUp = 0;
          stats.bytesDown = 0;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

module.exports = { startRelay };

if (require.main === module) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const t = /^([^:]+):(\d+)$/.exec(arg('target', '') ?? '');
  const num = (name, dflt) => {
    const v = Number(arg(name, dflt));
    if (!Number.isFinite(v) || v < 0) {
      console.error(`relay: --${name} ${JSON.stringify(arg(name, dflt))} is not a number >= 0 (milliseconds, or a port for --port)`);
      process.exit(2);
    }
    return v;
  };
  if (!t) {
    console.error('relay: --target HOST:PORT is required, e.g. --target 127.0.0.1:8080 (the server to relay to)');
    process.exit(2);
  }
  startRelay({ target: { host: t[1], port: Number(t[2]) }, rttMs: num('rtt', '50'), setupMs: num('setup', '100'), port: num('port', '0') }).then((r) => {
    console.log(`relay listening on ${r.url} -> ${t[1]}:${t[2]} (rtt ${r.rttMs} ms, setup ${r.setupMs} ms)`);
    const stop = () => r.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }, (e) => {
    console.error(`relay: cannot listen: ${e.message}`);
    process.exit(1);
  });
}

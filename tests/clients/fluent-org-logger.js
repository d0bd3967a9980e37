#!/usr/bin/env node
// Sends --count records with @fluent-org/logger in one event mode, with acks, and exits 0 only when every
// emit was acknowledged. Exit 3 = an emit failed (e.g. auth refused), 4 = overall timeout.
// Usage: node fluent-org-logger.js --port P [--host H] [--mode PackedForward] [--count N] [--tag T]
//        [--shared-key K --hostname H] [--tls-ca FILE]
'use strict';
const fs = require('fs');
const { FluentClient } = require('@fluent-org/logger');
const args = require('./args')(process.argv.slice(2));

const mode = args.mode || 'PackedForward';
const count = Number(args.count || 10);
const tag = args.tag || 'e2e.fluent-org';
const timeoutMs = Number(args.timeout || 30000);

const options = {
  eventMode: mode,
  ack: { ackTimeout: timeoutMs },
  socket: {
    host: args.host || '127.0.0.1',
    port: Number(args.port),
    timeout: timeoutMs,
    // A refused handshake must fail the run, not reconnect forever.
    disableReconnect: true,
  },
  // Batch Forward-family modes so the server sees multi-entry frames, not one event per frame.
  flushInterval: mode === 'Message' ? 0 : 20,
  eventRetry: { attempts: 1 },
  disconnect: { waitForPending: true, waitForPendingDelay: timeoutMs, socketDisconnectDelay: 100 },
};
if (args['shared-key'] !== undefined) {
  options.security = { clientHostname: args.hostname || 'e2e-client', sharedKey: args['shared-key'] };
}
if (args['tls-ca'] !== undefined) {
  options.socket.tls = { ca: fs.readFileSync(args['tls-ca']), servername: 'localhost' };
}

const timer = setTimeout(() => {
  console.error(`timeout after ${timeoutMs} ms`);
  process.exit(4);
}, timeoutMs + 5000);

async function main() {
  const client = new FluentClient(null, options);
  // Reconnect is off, so any socket error (refused handshake, TLS failure) ends the run: fail now instead
  // of waiting for the ack timeout.
  client.socketOn('error', (err) => {
    console.error(`socket error: ${err && err.message}`);
    process.exit(3);
  });
  // With disableReconnect the client does not connect by itself; connect() rejects when the server refuses.
  await client.connect();
  const pending = [];
  for (let i = 0; i < count; i++) {
    pending.push(client.emit(tag, { seq: i, client: '@fluent-org/logger', mode, msg: `hello ${mode} ${i} ünïcødé` }));
  }
  await Promise.all(pending);
  await client.disconnect();
  clearTimeout(timer);
  console.log(`sent ${count} acked records in ${mode} mode`);
}

main().catch((err) => {
  console.error(`emit failed: ${err && (err.stack || err.message || err)}`);
  process.exit(3);
});

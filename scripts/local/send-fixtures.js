#!/usr/bin/env node
// Sends every line of the fixture log files to a forward endpoint with @fluent-org/logger (PackedForward, acks on),
// one tag per file (local.<file name>), as a shipper's tail input would. Prints "<count>" of acked records.
// Usage: node send-fixtures.js <host> <port> <file>...
'use strict';
const fs = require('fs');
const path = require('path');
const { FluentClient } = require(path.join(__dirname, '../../tests/clients/node_modules/@fluent-org/logger'));

async function main() {
  const [host, port, ...files] = process.argv.slice(2);
  const client = new FluentClient(null, {
    eventMode: 'PackedForward',
    ack: { ackTimeout: 30000 },
    flushInterval: 20,
    socket: { host, port: Number(port), disableReconnect: true },
    disconnect: { waitForPending: true, waitForPendingDelay: 30000, socketDisconnectDelay: 100 },
  });
  // With disableReconnect the client does not connect by itself.
  await client.connect();
  const pending = [];
  for (const file of files) {
    const tag = 'local.' + path.basename(file).split('_')[0].replace(/[^A-Za-z0-9.-]/g, '_');
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line.length > 0) {
        pending.push(client.emit(tag, { log: line, file }));
      }
    }
  }
  await Promise.all(pending);
  await client.disconnect();
  console.log(pending.length);
}

main().catch((err) => {
  console.error(`send failed: ${err && (err.message || err)}`);
  process.exit(1);
});

#!/usr/bin/env node
// Sends --count records with the classic npm fluent-logger (Message mode), requireAckResponse on.
// Exit 0 only when every record was acknowledged; 3 = an emit failed, 4 = overall timeout.
'use strict';
const logger = require('fluent-logger');
const args = require('./args')(process.argv.slice(2));

const count = Number(args.count || 10);
const tag = args.tag || 'e2e.fluent-logger';
const timeoutMs = Number(args.timeout || 30000);

const timer = setTimeout(() => {
  console.error(`timeout after ${timeoutMs} ms`);
  process.exit(4);
}, timeoutMs + 5000);

const sender = logger.createFluentSender(null, {
  host: args.host || '127.0.0.1',
  port: Number(args.port),
  timeout: timeoutMs / 1000,
  reconnectInterval: 500,
  requireAckResponse: true,
  ackResponseTimeout: timeoutMs,
});
sender.on('error', (err) => {
  console.error(`sender error: ${err && err.message}`);
  process.exit(3);
});

function emit(i) {
  return new Promise((resolve, reject) => {
    sender.emit(tag, { seq: i, client: 'fluent-logger', msg: `hello fluent-logger ${i}` }, (err) => (err ? reject(err) : resolve()));
  });
}

(async () => {
  for (let i = 0; i < count; i++) {
    // One at a time: with acks on, the classic sender resolves each callback on the server's ack.
    await emit(i);
  }
  sender.end();
  clearTimeout(timer);
  console.log(`sent ${count} acked records`);
})().catch((err) => {
  console.error(`emit failed: ${err && (err.stack || err.message || err)}`);
  process.exit(3);
});

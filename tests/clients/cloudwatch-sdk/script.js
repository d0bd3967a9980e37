// Drives the AWS JS SDK v3 CloudWatch Logs client against an endpoint (the test fake) and checks the answers
// and error types a real service gives. Usage: node script.js <endpoint>. Credentials come from the
// environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); a second client with a wrong secret must be refused.
'use strict';

const {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  GetLogEventsCommand,
  DescribeLogStreamsCommand,
  PutRetentionPolicyCommand,
} = require('@aws-sdk/client-cloudwatch-logs');

const endpoint = process.argv[2];
if (!endpoint) {
  console.error('usage: node script.js <endpoint>');
  process.exit(2);
}

const region = process.env.AWS_REGION || 'us-east-1';
const client = new CloudWatchLogsClient({ endpoint, region, maxAttempts: 1 });
const failures = [];

function check(name, condition, detail) {
  if (condition) {
    console.log(`ok - ${name}`);
  } else {
    console.log(`not ok - ${name}: ${detail}`);
    failures.push(name);
  }
}

async function expectError(name, expectedType, action) {
  try {
    await action();
    check(name, false, `expected ${expectedType}, got success`);
  } catch (err) {
    check(name, err.name === expectedType, `expected ${expectedType}, got ${err.name}: ${err.message}`);
  }
}

async function main() {
  const group = '/sdk/proof';
  const stream = 'node-1-app';
  await client.send(new CreateLogGroupCommand({ logGroupName: group }));
  await client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
  await client.send(new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: 7 }));
  check('create group, stream and retention', true);

  const now = Date.now();
  const put = await client.send(new PutLogEventsCommand({
    logGroupName: group,
    logStreamName: stream,
    logEvents: [
      { timestamp: now, message: 'first' },
      { timestamp: now + 1, message: 'second "quoted" ünïcode' },
      { timestamp: now + 2, message: 'third' },
    ],
  }));
  check('put events accepted', put.rejectedLogEventsInfo === undefined, JSON.stringify(put.rejectedLogEventsInfo));

  const got = await client.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }));
  const messages = got.events.map((e) => e.message);
  check('get events returns what was put, in order',
    JSON.stringify(messages) === JSON.stringify(['first', 'second "quoted" ünïcode', 'third']), JSON.stringify(messages));

  const described = await client.send(new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: 'node-1' }));
  check('describe finds the stream', described.logStreams.some((s) => s.logStreamName === stream), JSON.stringify(described.logStreams));

  const old = now - 15 * 24 * 3600 * 1000;
  const rejected = await client.send(new PutLogEventsCommand({
    logGroupName: group, logStreamName: stream, logEvents: [{ timestamp: old, message: 'too old' }],
  }));
  check('too old events come back in rejectedLogEventsInfo',
    rejected.rejectedLogEventsInfo && rejected.rejectedLogEventsInfo.tooOldLogEventEndIndex === 0, JSON.stringify(rejected));

  await expectError('duplicate stream', 'ResourceAlreadyExistsException',
    () => client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream })));
  await expectError('missing stream', 'ResourceNotFoundException',
    () => client.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 'absent', logEvents: [{ timestamp: now, message: 'x' }] })));
  await expectError('missing group', 'ResourceNotFoundException',
    () => client.send(new CreateLogStreamCommand({ logGroupName: '/absent', logStreamName: 's' })));
  await expectError('invalid group name', 'InvalidParameterException',
    () => client.send(new CreateLogGroupCommand({ logGroupName: 'bad name with spaces' })));
  await expectError('events out of order', 'InvalidParameterException',
    () => client.send(new PutLogEventsCommand({
      logGroupName: group, logStreamName: stream,
      logEvents: [{ timestamp: now + 10, message: 'b' }, { timestamp: now, message: 'a' }],
    })));

  const badClient = new CloudWatchLogsClient({
    endpoint, region, maxAttempts: 1,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: 'wrong-secret' },
  });
  await expectError('wrong secret is refused', 'InvalidSignatureException',
    () => badClient.send(new CreateLogGroupCommand({ logGroupName: '/never' })));

  console.log(failures.length === 0 ? 'all checks passed' : `${failures.length} checks failed: ${failures.join(', ')}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(`unexpected error: ${err.name}: ${err.message}`);
  process.exit(1);
});

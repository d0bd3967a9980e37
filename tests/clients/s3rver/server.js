'use strict';
// A local S3 for the S3 output's tests and benchmark: s3rver on 127.0.0.1 with one bucket, plus a full AWS
// Signature V4 check in front of it. s3rver 3.7.1 (the current release) only checks that a V4 request names a
// known access key (its V4 calculation is unimplemented), so this middleware recomputes the signature with the
// secret and refuses a mismatch with SignatureDoesNotMatch, as S3 does.
//
// usage: node server.js --port N --directory DIR --bucket NAME
// prints "s3rver listening on 127.0.0.1:PORT" once ready. Credentials: S3RVER / S3RVER.
const crypto = require('crypto');
const S3rver = require('s3rver');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const accessKeyId = 'S3RVER';
const secretAccessKey = 'S3RVER';
let checked = 0;
let md5Checked = 0;

function rfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(search) {
  if (!search) return '';
  const pairs = search.split('&').filter(p => p.length > 0).map(p => {
    const eq = p.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, '%20'));
    return [rfc3986(key), rfc3986(value)];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function refuse(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

async function verifySignatureV4(ctx, next) {
  const auth = ctx.get('authorization');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!match) {
    refuse(ctx, 403, 'AccessDenied', 'Only AWS Signature Version 4 requests are accepted here');
    return;
  }

  const [, keyId, date, region, service, signedHeaders, signature] = match;
  if (keyId !== accessKeyId) {
    refuse(ctx, 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    return;
  }

  const url = ctx.req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const headerLines = signedHeaders.split(';').map(name => {
    const raw = ctx.req.headers[name];
    const value = Array.isArray(raw) ? raw.join(',') : (raw === undefined ? '' : String(raw));
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
  const payloadHash = ctx.get('x-amz-content-sha256') || 'UNSIGNED-PAYLOAD';
  const canonicalRequest = [ctx.method, path, canonicalQuery(q < 0 ? '' : url.slice(q + 1)), headerLines, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', ctx.get('x-amz-date'), scope,
    crypto.createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac('AWS4' + secretAccessKey, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign).toString('hex');
  if (expected !== signature) {
    refuse(ctx, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    return;
  }

  checked++;
  await next();
}

// ListMultipartUploads (GET /bucket?uploads), which s3rver leaves unimplemented, answered from the upload
// directories s3rver keeps until an upload is completed or aborted: the tests list what is in progress.
async function listMultipartUploads(ctx, next) {
  const url = ctx.req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  if (ctx.method !== 'GET' || !/^\/[^/]+\/?$/.test(path) || !query.split('&').some(p => p === 'uploads' || p.startsWith('uploads='))) {
    await next();
    return;
  }

  const bucket = path.replace(/\//g, '');
  const root = require('path').join(args.directory, bucket, '._S3rver_uploads');
  const fs = require('fs');
  const uploads = fs.existsSync(root) ? fs.readdirSync(root) : [];
  const entries = uploads.map(id => {
    const keyFile = require('path').join(root, id, 'key');
    const key = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8') : '';
    return `<Upload><Key>${key.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Key><UploadId>${id}</UploadId></Upload>`;
  }).join('');
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${entries}</ListMultipartUploadsResult>`;
}

// The body must match what the signature covers (x-amz-content-sha256) and, when sent, Content-MD5 (S3's
// XAmzContentSHA256Mismatch / BadDigest). s3rver checks neither; the body is read here, checked, and handed on.
async function verifyBody(ctx, next) {
  if (ctx.method !== 'PUT' && ctx.method !== 'POST') {
    await next();
    return;
  }

  const chunks = [];
  for await (const chunk of ctx.req) {
    chunks.push(chunk);
  }

  const body = Buffer.concat(chunks);
  const declared = ctx.get('x-amz-content-sha256');
  if (/^[0-9a-f]{64}$/.test(declared) && crypto.createHash('sha256').update(body).digest('hex') !== declared) {
    refuse(ctx, 400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    return;
  }

  const md5 = ctx.get('content-md5');
  if (md5 && crypto.createHash('md5').update(body).digest('base64') !== md5) {
    refuse(ctx, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    return;
  }

  if (md5) {
    md5Checked++;
  }

  const { Readable } = require('stream');
  const replay = Readable.from([body]);
  replay.headers = ctx.req.headers;
  ctx.req = replay;
  await next();
}

// AbortMultipartUpload, and S3's 404 NoSuchUpload for a part or completion naming an upload that was completed or aborted; s3rver
// fails with a 500 reading the missing upload directory. Answer as S3 does, so clients can tell the two apart.
async function noSuchUpload(ctx, next) {
  const match = /[?&]uploadId=([^&]+)/.exec(ctx.req.url);
  if (match && (ctx.method === 'PUT' || ctx.method === 'POST' || ctx.method === 'DELETE')) {
    const bucket = ctx.req.url.split('?')[0].split('/')[1];
    const dir = require('path').join(args.directory, bucket, '._S3rver_uploads', decodeURIComponent(match[1]));
    if (!require('fs').existsSync(dir)) {
      refuse(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
      return;
    }

    if (ctx.method === 'DELETE') {
      // AbortMultipartUpload, which s3rver does not implement: drop the upload and its parts.
      require('fs').rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
  }

  await next();
}

async function main() {
  const server = new S3rver({
    address: '127.0.0.1',
    port: Number(args.port || 0),
    directory: args.directory,
    silent: true,
    allowMismatchedSignatures: false,
    configureBuckets: [{ name: args.bucket, configs: [] }],
  });
  // Koa composes its middleware when the server starts: put the signature check first.
  server.middleware.unshift(verifySignatureV4, listMultipartUploads, noSuchUpload, verifyBody);
  const { address, port } = await server.run();
  console.log(`s3rver listening on ${address}:${port}`);
  process.on('SIGTERM', () => {
    console.log(`signatures verified: ${checked}, Content-MD5 verified: ${md5Checked}`);
    process.exit(0);
  });
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});

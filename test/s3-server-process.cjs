'use strict';
// Child process behind test/s3-server.ts. Runs s3rver, which encrypts ListObjectsV2 continuation tokens with
// DES; OpenSSL 3 only allows that with --openssl-legacy-provider, which is why this runs in its own process.
// Protocol: argv[2] is a JSON config; one JSON line {"port": n} on stdout once listening; exits (removing
// the data directory) when stdin closes, so the server dies with the test process that started it.
const crypto = require('node:crypto');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// s3rver removes emptied directories after a delete without expecting a concurrent delete to do the same,
// and fails with ENOENT/ENOTEMPTY when DeleteObjects removes two objects of one folder. The objects are
// gone by then; only the cleanup raced, which real S3 does not have.
const deleteObject = FilesystemStore.prototype.deleteObject;
FilesystemStore.prototype.deleteObject = async function (...args) {
  try {
    return await deleteObject.apply(this, args);
  } catch (err) {
    if (err && (err.code === 'ENOENT' || err.code === 'ENOTEMPTY')) return undefined;
    throw err;
  }
};

const { dataDir, buckets } = JSON.parse(process.argv[2]);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: process.env.S3RVER_DEBUG !== '1',
  directory: dataDir,
  configureBuckets: buckets.map((name) => ({ name })),
});

// s3rver accepts any AWS Signature V4 for a known access key; real S3 checks it. Verify it ourselves so a
// wrong secret key fails like it does against AWS.
server.middleware.unshift(async (ctx, next) => {
  const problem = sigV4Problem(ctx.req, 'S3RVER');
  if (problem === undefined) return next();
  ctx.status = 403;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request ' +
    `signature we calculated does not match the signature you provided (${problem}).</Message></Error>`;
  ctx.req.resume();
});

server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err && err.stack}\n`);
    process.exit(1);
  },
);

// The data directory belongs to this process; removing it here also covers a parent killed with SIGKILL.
const removeData = () => require('node:fs').rmSync(dataDir, { recursive: true, force: true });
const shutdown = () => {
  server
    .close()
    .catch(() => undefined)
    .finally(() => {
      removeData();
      process.exit(0);
    });
  setTimeout(() => {
    removeData();
    process.exit(0);
  }, 2000).unref();
};
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);

/** Why the request's header-based SigV4 signature is wrong, or undefined when it is right or absent. */
function sigV4Problem(req, secretAccessKey) {
  const auth = req.headers.authorization;
  if (!auth || !auth.startsWith('AWS4-HMAC-SHA256 ')) return undefined;
  const fields = Object.fromEntries(
    auth
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(/,\s*/)
      .map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]),
  );
  const [accessKeyId, date, region, service] = fields.Credential.split('/');
  if (accessKeyId !== 'S3RVER') return undefined; // s3rver answers InvalidAccessKeyId itself
  const signedHeaders = fields.SignedHeaders.split(';');
  const [path, query = ''] = req.url.split(/\?(.*)/s);
  const encode = (text) =>
    encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      const decode = (text) => decodeURIComponent(text.replace(/\+/g, '%20'));
      return [encode(decode(k)), encode(decode(v))];
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    req.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    fields.SignedHeaders,
    req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    req.headers['x-amz-date'],
    scope,
    crypto.createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
  const signingKey = [date, region, service, 'aws4_request'].reduce(hmac, `AWS4${secretAccessKey}`);
  const expected = crypto.createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return expected === fields.Signature ? undefined : 'signature mismatch';
}

#!/usr/bin/env node
// Smoke test for the local S3 server (scripts/s3/radosgw.sh start), using the
// same AWS SDK v3 settings maskflow uses. Run from the repo root:
//   node scripts/s3/smoke.mjs
// Env: S3_TEST_ENDPOINT (default http://127.0.0.1:$S3_TEST_PORT), S3_TEST_PORT (7480),
//      S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, S3_TEST_BUCKET (maskflow-smoke).
// Exits non-zero if any check fails.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const port = process.env.S3_TEST_PORT || '7480';
const endpoint = process.env.S3_TEST_ENDPOINT || `http://127.0.0.1:${port}`;
const accessKeyId = process.env.S3_TEST_ACCESS_KEY || 'maskflow-test-access';
const secretAccessKey = process.env.S3_TEST_SECRET_KEY || 'maskflow-test-secret-key-0123456789';
const bucket = process.env.S3_TEST_BUCKET || 'maskflow-smoke';

const clientConfig = (creds) => ({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: creds,
  // radosgw (Ceph 16) does not understand the SDK's default CRC32 trailers /
  // aws-chunked uploads: only send checksums when an operation requires them.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  maxAttempts: 2,
});
const s3 = new S3Client(clientConfig({ accessKeyId, secretAccessKey }));

let failures = 0;
const t0 = Date.now();
async function check(name, fn) {
  const t = Date.now();
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''} [${Date.now() - t} ms]`);
  } catch (err) {
    failures++;
    console.error(`FAIL ${name}: ${err?.name ?? ''} ${err?.message ?? err}`);
    if (err?.$metadata) console.error('     $metadata:', JSON.stringify(err.$metadata));
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Readable of unknown length that yields `buf` in irregular chunks. */
function streamOf(buf, chunk = 64 * 1024 + 17) {
  let off = 0;
  return new Readable({
    read() {
      if (off >= buf.length) return this.push(null);
      const end = Math.min(off + chunk, buf.length);
      this.push(buf.subarray(off, end));
      off = end;
    },
  });
}

async function bodyBuffer(body) {
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes);
}

const big = randomBytes(12 * 1024 * 1024 + 12345); // > 2 parts of 5 MiB => multipart
const small = randomBytes(100 * 1024);
const runId = `${Date.now()}-${process.pid}`;
const bigKey = `smoke/${runId}/big image.png`; // space: exercises key encoding
const smallKey = `smoke/${runId}/small.png`;

await check(`create bucket ${bucket} (tolerate already-exists)`, async () => {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return 'created';
  } catch (err) {
    if (err?.name === 'BucketAlreadyOwnedByYou' || err?.name === 'BucketAlreadyExists') return err.name;
    throw err;
  }
});
await check('head bucket', async () => {
  await s3.send(new HeadBucketCommand({ Bucket: bucket }));
});

await check('multipart Upload of 12 MiB stream of unknown length', async () => {
  const up = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: bigKey, Body: streamOf(big), ContentType: 'image/png' },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  });
  let parts = 0;
  up.on('httpUploadProgress', () => parts++);
  const res = await up.done();
  // radosgw 16 (Pacific) answers CompleteMultipartUpload with an empty <ETag></ETag>
  // (fixed in later Ceph releases), so Upload.done() has ETag ''. The stored object does
  // have the usual "<md5-of-md5s>-<parts>" ETag: read it back with HEAD.
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: bigKey }));
  assert(/^"[0-9a-f]{32}-3"$/.test(h.ETag ?? ''), `expected a 3-part multipart ETag on HEAD, got ${h.ETag}`);
  assert(res.ETag === '' || res.ETag === h.ETag, `Upload ETag ${res.ETag} != HEAD ETag ${h.ETag}`);
  res.ETag = `${JSON.stringify(res.ETag)} (HEAD: ${h.ETag})`;
  return `Upload ETag ${res.ETag}, ${parts} progress events`;
});

await check('Upload of 100 KiB stream (single PUT)', async () => {
  const up = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: smallKey, Body: streamOf(small), ContentType: 'image/png' },
  });
  const res = await up.done();
  const md5 = createHash('md5').update(small).digest('hex');
  assert(res.ETag === `"${md5}"`, `ETag ${res.ETag} != md5 ${md5}`);
  return `ETag ${res.ETag}`;
});

for (const [key, buf] of [
  [bigKey, big],
  [smallKey, small],
]) {
  await check(`HEAD ${key}`, async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert(h.ContentLength === buf.length, `ContentLength ${h.ContentLength} != ${buf.length}`);
    assert(h.ContentType === 'image/png', `ContentType ${h.ContentType}`);
    return `${h.ContentLength} bytes, ${h.ContentType}`;
  });
  await check(`GET ${key} sha256`, async () => {
    const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const got = await bodyBuffer(g.Body);
    assert(got.length === buf.length, `length ${got.length} != ${buf.length}`);
    assert(sha256(got) === sha256(buf), 'sha256 mismatch');
    return sha256(got).slice(0, 16);
  });
  await check(`presigned GET ${key} via fetch`, async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const got = Buffer.from(await res.arrayBuffer());
    assert(sha256(got) === sha256(buf), 'sha256 mismatch');
    assert(res.headers.get('content-type') === 'image/png', `content-type ${res.headers.get('content-type')}`);
    return `${got.length} bytes`;
  });
}

await check('ranged GET', async () => {
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: bigKey, Range: 'bytes=100-199' }));
  const got = await bodyBuffer(g.Body);
  assert(got.equals(big.subarray(100, 200)), 'range content mismatch');
});

await check('presigned PUT via fetch', async () => {
  const key = `smoke/${runId}/presigned-put.bin`;
  const data = randomBytes(2048);
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }), {
    expiresIn: 300,
  });
  const res = await fetch(url, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert(sha256(await bodyBuffer(g.Body)) === sha256(data), 'sha256 mismatch');
});

await check('GET missing key -> NoSuchKey', async () => {
  try {
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `smoke/${runId}/missing` }));
  } catch (err) {
    assert(err.name === 'NoSuchKey', `got ${err.name}`);
    return err.name;
  }
  throw new Error('expected an error');
});

await check('wrong secret key is rejected', async () => {
  const bad = new S3Client(clientConfig({ accessKeyId, secretAccessKey: `${secretAccessKey}-WRONG` }));
  try {
    await bad.send(new ListObjectsV2Command({ Bucket: bucket }));
  } catch (err) {
    const status = err?.$metadata?.httpStatusCode;
    assert(
      status === 403 || ['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied'].includes(err.name),
      `unexpected error ${err.name} (${status})`,
    );
    return `${status} ${err.name}`;
  } finally {
    bad.destroy();
  }
  throw new Error('request with a wrong secret key succeeded');
});

await check('unknown access key is rejected', async () => {
  const bad = new S3Client(clientConfig({ accessKeyId: 'no-such-access-key', secretAccessKey }));
  try {
    await bad.send(new ListBucketsCommand({}));
  } catch (err) {
    const status = err?.$metadata?.httpStatusCode;
    assert(status === 403, `unexpected error ${err.name} (${status})`);
    return `${status} ${err.name}`;
  } finally {
    bad.destroy();
  }
  throw new Error('request with an unknown access key succeeded');
});

await check('DeleteObjects (bulk) + DeleteObject cleanup', async () => {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `smoke/${runId}/` }));
  const keys = (listed.Contents ?? []).map((o) => o.Key);
  assert(keys.length === 3, `listed ${keys.length} objects, expected 3`);
  const res = await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(1).map((Key) => ({ Key })) } }),
  );
  assert(!res.Errors?.length, `DeleteObjects errors: ${JSON.stringify(res.Errors)}`);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0] }));
  const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `smoke/${runId}/` }));
  assert((after.KeyCount ?? 0) === 0, `still ${after.KeyCount} objects`);
  return `${keys.length} deleted`;
});

s3.destroy();
console.log(`${failures === 0 ? 'SMOKE OK' : `SMOKE FAILED (${failures} failed checks)`} against ${endpoint} in ${Date.now() - t0} ms`);
process.exit(failures === 0 ? 0 : 1);

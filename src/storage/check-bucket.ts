import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import { createS3Client, resolveEndpoint, type S3ClientOptions } from './client.js';
import { explainS3Error } from './s3-errors.js';
import { joinKey, parseS3Uri } from './uri.js';

/** Options of {@link checkBucket}: the client options plus an overall deadline. */
export interface CheckBucketOptions extends S3ClientOptions {
  /** Give up after this many ms in total (default 10000). */
  deadlineMs?: number;
}

/**
 * Checks, before training starts, that `uri`'s bucket exists and that we may write
 * under its prefix: ListObjects, then put and delete a small probe object. Uses its
 * own client with one attempt and short timeouts, so a wrong bucket, rejected or
 * missing credentials, or an unreachable endpoint fail in seconds.
 * @throws SslError (code S3_CHECK_FAILED) with one line saying what to change.
 */
export async function checkBucket(uri: string, opts: CheckBucketOptions = {}): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  const client = createS3Client({ connectionTimeoutMs: 3000, requestTimeoutMs: 5000, ...opts, maxAttempts: 1 });
  const abort = new AbortController();
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const timer = setTimeout(() => abort.abort(), deadlineMs);
  const endpoint = resolveEndpoint(opts);
  const where = endpoint === undefined ? { uri, bucket } : { uri, bucket, endpoint };
  try {
    const signal = { abortSignal: abort.signal };
    // ListObjectsV2 rather than HeadBucket: its errors carry a body (NoSuchBucket, InvalidAccessKeyId, ...), and resume/prune
    // need List. The prefix matches nothing, so the answer is tiny and never paginated (s3rver cannot paginate on OpenSSL 3).
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: joinKey(key, '.ssl-bucket-check/') }), signal);
    const probeKey = joinKey(key, `.ssl-write-probe-${randomBytes(6).toString('hex')}`);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: probeKey, Body: 'ssl write probe\n' }), signal);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probeKey }), signal);
  } catch (e) {
    const msg = abort.signal.aborted
      ? `S3 check of ${uri} timed out after ${deadlineMs} ms: check --s3-endpoint / AWS_ENDPOINT_URL_S3, the network and credentials`
      : explainS3Error(e, where);
    throw new SslError(msg, { code: 'S3_CHECK_FAILED', cause: e });
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

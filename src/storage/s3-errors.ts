/** Classifies S3/SDK/network errors: transient (retry) or permanent (tell the user what to change). */

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequestsException',
  'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError',
  'IntegrityMismatch',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

function shape(e: unknown): SdkErrorShape {
  return (typeof e === 'object' && e !== null ? e : { message: String(e) }) as SdkErrorShape;
}

/** HTTP status of an SDK error, if the server answered. */
export function httpStatusOf(e: unknown): number | undefined {
  return shape(e).$metadata?.httpStatusCode;
}

/** Network-level error code (ECONNREFUSED, ...) of an error or its cause. */
export function networkCodeOf(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = shape(cur).cause, depth++) {
    const code = shape(cur).code;
    if (code && TRANSIENT_CODES.has(code)) return code;
    // the SDK wraps non-Error throwables ("AWS SDK error wrapper for Error: connect ECONNREFUSED ...") without the code
    const inMessage = /\b(E[A-Z_]{3,})\b/.exec(shape(cur).message ?? '')?.[1];
    if (inMessage && TRANSIENT_CODES.has(inMessage)) return inMessage;
  }
  return undefined;
}

/** True for errors worth retrying: 5xx, 429/throttling, timeouts, connection resets/refusals, integrity mismatches. */
export function isTransientS3Error(e: unknown): boolean {
  const s = shape(e);
  const status = httpStatusOf(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (s.name && TRANSIENT_NAMES.has(s.name)) return true;
  if (networkCodeOf(e)) return true;
  return status === undefined && s.$retryable !== undefined;
}

/** Short one-line description of an SDK error: `NoSuchBucket (404)`, `ECONNREFUSED`, ... */
export function shortS3Error(e: unknown): string {
  const s = shape(e);
  const status = httpStatusOf(e);
  const net = networkCodeOf(e);
  if (net && status === undefined) return `${net}${s.message && !s.message.includes(net) ? `: ${s.message}` : ''}`;
  const name = s.name && s.name !== 'Unknown' && s.name !== 'UnknownError' ? s.name : status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : (s.name ?? 'Error');
  return status !== undefined ? `${name} (HTTP ${status})` : `${name}: ${s.message ?? ''}`.trim();
}

/**
 * One line saying what to change, for errors met while checking a bucket.
 * @param where `s3://bucket/prefix` and the endpoint (or 'AWS') used.
 */
export function explainS3Error(e: unknown, where: { uri: string; bucket: string; endpoint?: string }): string {
  const s = shape(e);
  const status = httpStatusOf(e);
  const endpoint = where.endpoint ?? 'AWS S3';
  const msg = s.message ?? '';
  if (s.name === 'CredentialsProviderError' || /Could not load credentials/i.test(msg)) {
    return `no AWS credentials found for ${where.uri}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity/instance role`;
  }
  if (/Region is missing/i.test(msg)) return `no AWS region for ${where.uri}: set AWS_REGION (or the profile's region)`;
  if (s.name === 'NoSuchBucket' || (status === 404 && s.name !== 'NoSuchKey')) {
    return `bucket '${where.bucket}' does not exist at ${endpoint}: create it or fix the bucket name in ${where.uri}`;
  }
  if (s.name === 'InvalidAccessKeyId' || s.name === 'SignatureDoesNotMatch' || s.name === 'InvalidToken' || s.name === 'ExpiredToken') {
    return `S3 rejected the credentials (${s.name}) for ${where.uri} at ${endpoint}: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE`;
  }
  if (status === 403 || s.name === 'AccessDenied') {
    return `access denied to ${where.uri} at ${endpoint}: the credentials need s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it`;
  }
  if (status === 301 || s.name === 'PermanentRedirect') return `bucket '${where.bucket}' is in another region: set AWS_REGION to the bucket's region`;
  const net = networkCodeOf(e);
  if (net || s.name === 'TimeoutError') {
    return `cannot reach the S3 endpoint ${endpoint} (${net ?? 'timeout'}): check --s3-endpoint / AWS_ENDPOINT_URL_S3 and the network`;
  }
  return `S3 check of ${where.uri} at ${endpoint} failed: ${shortS3Error(e)}`;
}

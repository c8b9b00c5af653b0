import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** How to reach the object store. Everything is optional: AWS defaults apply. */
export interface S3ClientOptions {
  /** Custom endpoint for MinIO/Ceph/any S3-compatible store (default: env AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL). Implies path-style addressing. */
  endpoint?: string;
  /** Region (default: AWS_REGION, AWS_DEFAULT_REGION, the shared profile's, or us-east-1 with a custom endpoint). */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default true with a custom endpoint. */
  forcePathStyle?: boolean;
  /** Explicit credentials; default: the SDK's standard chain (env, shared profile, web identity, SSO, process, container/instance metadata). */
  credentials?: S3ClientConfig['credentials'];
  /** SDK-level attempts per request (default 3; the bucket probe uses 1). */
  maxAttempts?: number;
  /** TCP connect timeout in ms (default 5000). */
  connectionTimeoutMs?: number;
  /** Socket inactivity timeout in ms (default 120000). */
  requestTimeoutMs?: number;
}

/** The endpoint a client will use: the option, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL; undefined for AWS itself. */
export function resolveEndpoint(opts: S3ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const e = opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return e === undefined || e === '' ? undefined : e;
}

/**
 * An S3 client with the standard AWS credential chain. With a custom endpoint
 * (MinIO, Ceph, s3rver) it uses path-style addressing and computes request
 * checksums only when an API requires them: many S3-compatible stores reject the
 * SDK's default CRC32 trailers. Integrity is checked by us after upload anyway.
 */
export function createS3Client(opts: S3ClientOptions = {}): S3Client {
  // package.json allows Node 20; the SDK's "Node >= 22 soon" warning on every command tells users nothing they can act on
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = resolveEndpoint(opts);
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  const config: S3ClientConfig = {
    maxAttempts: opts.maxAttempts ?? 3,
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: opts.connectionTimeoutMs ?? 5000, requestTimeout: opts.requestTimeoutMs ?? 120_000 },
  };
  if (region !== undefined) config.region = region;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  if (endpoint !== undefined) {
    config.endpoint = endpoint;
    config.forcePathStyle = opts.forcePathStyle ?? true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  } else if (opts.forcePathStyle !== undefined) {
    config.forcePathStyle = opts.forcePathStyle;
  }
  return new S3Client(config);
}

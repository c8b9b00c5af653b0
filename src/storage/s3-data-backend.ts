/**
 * Registers the `s3` file backend of src/data (mmcv FileClient role): data sources with
 * `data_prefix: s3://bucket/prefix` (or `file_client_args: {backend: 's3', ...}`) read
 * through it. Importing this module registers it; it loads the AWS SDK only when a
 * backend is first built, so loader worker threads that import it stay light.
 *
 * `file_client_args` for s3: `endpoint` (MinIO/Ceph; default AWS_ENDPOINT_URL_S3), `region`,
 * `cache_dir` (default SSL_S3_CACHE_DIR, then ~/.cache/ssl/s3), `trust_cache` (skip the
 * ETag revalidation for datasets that never change).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { registerFileBackend, type FileBackend } from '../data/file-client.js';

const ACCEPTED = ['endpoint', 'region', 'cache_dir', 'trust_cache'];
const backends = new Map<string, Promise<FileBackend>>();

/** The cache directory used when `cache_dir` is not given. */
export function defaultS3CacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SSL_S3_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ssl', 's3');
}

/** Joins `s3://bucket/a/` and `b/c.png` into `s3://bucket/a/b/c.png`. */
export function joinS3Path(...parts: string[]): string {
  const [first = '', ...rest] = parts;
  return [first.replace(/\/+$/, ''), ...rest.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '')].join('/');
}

/** Builds (once per distinct args) an S3-backed {@link FileBackend}. @throws ConfigError on unknown args. */
export function s3FileBackend(args: Record<string, unknown>): Promise<FileBackend> {
  const unknown = Object.keys(args).filter((k) => !ACCEPTED.includes(k));
  if (unknown.length > 0) throw new ConfigError(`file_client_args for backend s3 do not accept ${unknown.join(', ')} (accepted: ${ACCEPTED.join(', ')})`);
  const key = JSON.stringify(args);
  let b = backends.get(key);
  if (!b) {
    b = build(args);
    backends.set(key, b);
  }
  return b;
}

async function build(args: Record<string, unknown>): Promise<FileBackend> {
  const [{ createS3Client }, { S3FileBackend }, { ListObjectsV2Command }, { parseS3Uri, asDirPrefix }] = await Promise.all([
    import('./client.js'),
    import('./s3-file-backend.js'),
    import('@aws-sdk/client-s3'),
    import('./uri.js'),
  ]);
  const clientOpts: { endpoint?: string; region?: string } = {};
  if (typeof args.endpoint === 'string') clientOpts.endpoint = args.endpoint;
  if (typeof args.region === 'string') clientOpts.region = args.region;
  const client = createS3Client(clientOpts);
  const files = new S3FileBackend({
    client,
    cacheDir: typeof args.cache_dir === 'string' ? args.cache_dir : defaultS3CacheDir(),
    trustCache: args.trust_cache === true,
  });
  return {
    get: (path) => files.get(path),
    getText: async (path) => Buffer.from(await files.get(path)).toString('utf8'),
    async list(path) {
      const { bucket, key } = parseS3Uri(path);
      const prefix = asDirPrefix(key);
      const out: { name: string; dir: boolean }[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push({ name: p.Prefix.slice(prefix.length).replace(/\/$/, ''), dir: true });
        for (const o of page.Contents ?? []) if (o.Key && o.Key !== prefix) out.push({ name: o.Key.slice(prefix.length), dir: false });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    join: joinS3Path,
  };
}

registerFileBackend('s3', s3FileBackend, import.meta.url);

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { httpStatusOf, shortS3Error } from './s3-errors.js';
import { asDirPrefix, formatS3Uri, parseS3Uri } from './uri.js';

/** Settings of an {@link S3FileBackend}. */
export interface S3FileBackendOptions {
  client: S3Client;
  /** Local cache directory (created on demand). */
  cacheDir: string;
  /** Serve a cached copy without asking S3 whether it changed (datasets that never change). Default false. */
  trustCache?: boolean;
  retry?: RetryPolicy;
}

/**
 * Read-bytes-by-path for data sources whose `data_prefix` is `s3://...` (the role of
 * mmcv's FileClient with an S3 backend). Objects are cached on local disk keyed by
 * bucket/key; a cached copy is revalidated with its ETag (`If-None-Match`: 304 = reuse,
 * nothing downloaded) unless `trustCache`.
 */
export class S3FileBackend {
  readonly cacheDir: string;
  private readonly client: S3Client;
  private readonly trustCache: boolean;
  private readonly retry: RetryPolicy | undefined;
  /** Counters for tests and logs: objects downloaded vs served from the cache. */
  readonly stats = { downloads: 0, cacheHits: 0, bytesDownloaded: 0 };

  constructor(opts: S3FileBackendOptions) {
    this.client = opts.client;
    this.cacheDir = opts.cacheDir;
    this.trustCache = opts.trustCache ?? false;
    this.retry = opts.retry;
  }

  /** The bytes of `s3://bucket/key`. @throws SslError when the object cannot be read. */
  async get(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    const base = this.cachePath(bucket, key);
    const cachedEtag = existsSync(`${base}.etag`) && existsSync(base) ? readFileSync(`${base}.etag`, 'utf8') : undefined;
    if (cachedEtag !== undefined && this.trustCache) return this.hit(base);
    try {
      return await withRetry(async () => {
        try {
          const got = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: cachedEtag }));
          const bytes = await got.Body!.transformToByteArray();
          this.store(base, bytes, got.ETag ?? ''); // kept quoted, as If-None-Match wants it
          this.stats.downloads++;
          this.stats.bytesDownloaded += bytes.length;
          return bytes;
        } catch (e) {
          if (cachedEtag !== undefined && httpStatusOf(e) === 304) return this.hit(base);
          throw e;
        }
      }, this.retry);
    } catch (e) {
      throw new SslError(`cannot read ${uri}: ${shortS3Error(e)}`, { code: 'S3_READ_FAILED', cause: e });
    }
  }

  /** Every key under `prefixUri` (recursive), as s3:// URIs, sorted. */
  async list(prefixUri: string): Promise<string[]> {
    const { bucket, key } = parseS3Uri(prefixUri);
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: asDirPrefix(key), ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) out.push(formatS3Uri(bucket, o.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  private cachePath(bucket: string, key: string): string {
    const h = createHash('sha256').update(`${bucket}/${key}`).digest('hex');
    return join(this.cacheDir, h.slice(0, 2), h);
  }

  private hit(base: string): Uint8Array {
    this.stats.cacheHits++;
    return new Uint8Array(readFileSync(base));
  }

  private store(base: string, bytes: Uint8Array, etag: string): void {
    mkdirSync(join(base, '..'), { recursive: true });
    const tmp = `${base}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, base);
    writeFileSync(`${tmp}.etag`, etag);
    renameSync(`${tmp}.etag`, `${base}.etag`);
  }
}

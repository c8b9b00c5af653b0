import { SslError } from '../errors.js';

/** A parsed `s3://bucket/key-or-prefix` address. `key` has no leading slash ('' for the bucket root). */
export interface S3Uri {
  bucket: string;
  key: string;
}

/** True for strings that start with `s3://`. */
export function isS3Uri(path: string): boolean {
  return path.startsWith('s3://');
}

/**
 * Parses `s3://bucket/prefix/name` into `{bucket, key}`.
 * @throws SslError when the string is not an s3:// URI or has no bucket.
 * @example parseS3Uri('s3://ckpts/runs/simclr') // {bucket: 'ckpts', key: 'runs/simclr'}
 */
export function parseS3Uri(uri: string): S3Uri {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new SslError(`not an S3 URI: '${uri}' (expected s3://bucket/prefix)`, { code: 'S3_BAD_URI' });
  return { bucket: m[1]!, key: m[2]!.replace(/^\/+/, '') };
}

/** `s3://bucket/key` for a bucket and key. */
export function formatS3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Joins key parts with single slashes: joinKey('runs/a/', 'epoch_1.ckpt') -> 'runs/a/epoch_1.ckpt'. */
export function joinKey(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
}

/** The prefix as a directory for listing: '' stays '', 'a/b' becomes 'a/b/'. */
export function asDirPrefix(key: string): string {
  const k = key.replace(/^\/+|\/+$/g, '');
  return k === '' ? '' : `${k}/`;
}

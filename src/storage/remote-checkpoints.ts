import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import { shortS3Error } from './s3-errors.js';
import { SHA256_METADATA_KEY } from './upload-file.js';
import { asDirPrefix, formatS3Uri, parseS3Uri } from './uri.js';

/** Checkpoint file names the runner writes: `epoch_N.ckpt`, `iter_N.ckpt`. */
export const CHECKPOINT_NAME = /^(epoch|iter)_(\d+)\.ckpt$/;

/** A checkpoint object directly under a prefix. */
export interface RemoteCheckpoint {
  name: string;
  key: string;
  uri: string;
  kind: 'epoch' | 'iter';
  number: number;
  size: number;
}

/** Parses `epoch_12.ckpt` -> {kind: 'epoch', number: 12}; undefined for other names. */
export function parseCheckpointName(name: string): { kind: 'epoch' | 'iter'; number: number } | undefined {
  const m = CHECKPOINT_NAME.exec(name);
  return m ? { kind: m[1] as 'epoch' | 'iter', number: Number(m[2]) } : undefined;
}

/** Keys directly under `prefixUri` (one level, paginated), with sizes. */
export async function listObjects(client: S3Client, prefixUri: string): Promise<{ key: string; size: number }[]> {
  const { bucket, key } = parseS3Uri(prefixUri);
  const prefix = asDirPrefix(key);
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Checkpoints directly under `prefixUri`, oldest first (by kind, then number). */
export async function listRemoteCheckpoints(client: S3Client, prefixUri: string): Promise<RemoteCheckpoint[]> {
  const { bucket } = parseS3Uri(prefixUri);
  const found: RemoteCheckpoint[] = [];
  for (const o of await listObjects(client, prefixUri)) {
    const name = basename(o.key);
    const parsed = parseCheckpointName(name);
    if (parsed) found.push({ name, key: o.key, uri: formatS3Uri(bucket, o.key), size: o.size, ...parsed });
  }
  return found.sort((a, b) => (a.kind === b.kind ? a.number - b.number : a.kind < b.kind ? -1 : 1));
}

/**
 * The newest valid checkpoint under `prefixUri` (for `--auto-resume` on a fresh
 * node): highest epoch (else iter) number whose object carries our SHA-256
 * metadata, i.e. one this tool uploaded completely. Undefined when there is none.
 */
export async function findLatestRemoteCheckpoint(client: S3Client, prefixUri: string): Promise<string | undefined> {
  const all = await listRemoteCheckpoints(client, prefixUri);
  const newestFirst = [...all.filter((c) => c.kind === 'epoch'), ...all.filter((c) => c.kind === 'iter')].sort((a, b) =>
    a.kind === b.kind ? b.number - a.number : a.kind === 'epoch' ? -1 : 1,
  );
  for (const c of newestFirst) {
    const { bucket } = parseS3Uri(c.uri);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: c.key }));
    if (head.Metadata?.[SHA256_METADATA_KEY] && head.ContentLength === c.size && c.size > 0) return c.uri;
  }
  return undefined;
}

/**
 * Applies `max_keep_ckpts` to the S3 copies: keeps the newest `keep` checkpoints of
 * each kind under `prefixUri` and deletes the older ones. `keep <= 0` keeps all.
 * @returns the names deleted.
 */
export async function pruneRemote(client: S3Client, prefixUri: string, keep: number): Promise<string[]> {
  if (keep <= 0) return [];
  const { bucket } = parseS3Uri(prefixUri);
  const all = await listRemoteCheckpoints(client, prefixUri);
  const deleted: string[] = [];
  for (const kind of ['epoch', 'iter'] as const) {
    const ofKind = all.filter((c) => c.kind === kind);
    for (const c of ofKind.slice(0, Math.max(0, ofKind.length - keep))) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: c.key }));
      deleted.push(c.name);
    }
  }
  return deleted;
}

/**
 * Downloads `uri` into `localDir` under its own name (temp file + rename), checking
 * the SHA-256 metadata when present.
 * @returns the local path.
 * @throws SslError when the object is missing, unreadable or corrupt.
 */
export async function downloadToDir(client: S3Client, uri: string, localDir: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const dest = join(localDir, basename(key));
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  try {
    // the object first: a missing one is an error before anything is created locally
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    mkdirSync(localDir, { recursive: true });
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(got.Body as NodeJS.ReadableStream, tap, createWriteStream(tmp));
    const expected = got.Metadata?.[SHA256_METADATA_KEY];
    const actual = hash.digest('hex');
    if (expected !== undefined && expected !== actual) {
      throw new SslError(`${uri} is corrupt (sha256 ${actual} != stored ${expected}): re-upload it or pick another checkpoint`, { code: 'S3_CORRUPT' });
    }
    renameSync(tmp, dest);
    return dest;
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof SslError) throw e;
    if ((e as { name?: string }).name === 'NoSuchKey') throw new SslError(`${uri} does not exist (no such object)`, { code: 'NO_CHECKPOINT', cause: e });
    throw new SslError(`cannot download ${uri}: ${shortS3Error(e)}`, { code: 'S3_DOWNLOAD_FAILED', cause: e });
  }
}

/** Downloads a checkpoint for `--resume-from s3://...` / `--auto-resume`; see {@link downloadToDir}. */
export const downloadCheckpoint = downloadToDir;

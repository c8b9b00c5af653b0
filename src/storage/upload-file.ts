import { createReadStream } from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { bareEtag, digestBytes, digestFile, type FileDigest } from './digest.js';
import type { S3Uri } from './uri.js';
import { createHash } from 'node:crypto';

/** Metadata key (x-amz-meta-sha256) holding the hex SHA-256 of the object's bytes. */
export const SHA256_METADATA_KEY = 'sha256';

/** Multipart settings: parts of `partSize` bytes (>= 5 MiB), `queueSize` parts in flight per file. */
export interface PartOptions {
  partSize: number;
  queueSize: number;
}

export const DEFAULT_PARTS: PartOptions = { partSize: 8 * 1024 * 1024, queueSize: 4 };

/** What was uploaded and verified. */
export interface UploadResult {
  size: number;
  sha256: string;
  etag: string;
  /** Parts used (1 = single PUT). */
  parts: number;
  /** How the stored bytes were checked: the ETag matched the local MD5s, or the object was read back and hashed. */
  verifiedBy: 'etag' | 'readback';
}

/** An uploaded object that does not match the local bytes (retried as transient). */
export class IntegrityMismatch extends Error {
  override name = 'IntegrityMismatch';
}

/**
 * Uploads a local file (streamed; multipart with parallel parts when larger than
 * `partSize`) or bytes to `dest`, storing its SHA-256 as metadata, then verifies
 * the stored object: size and SHA-256 metadata via HeadObject, and the ETag against
 * the locally computed MD5 forms; when the ETag is not comparable (e.g. SSE-KMS)
 * the object is read back and hashed.
 * @throws IntegrityMismatch when the stored object differs; SDK errors otherwise.
 */
export async function uploadVerified(
  client: S3Client,
  source: { path: string } | { bytes: Uint8Array },
  dest: S3Uri,
  parts: PartOptions = DEFAULT_PARTS,
  onBytes?: (loaded: number) => void,
): Promise<UploadResult> {
  const digest = 'path' in source ? await digestFile(source.path, parts.partSize) : await digestBytes(source.bytes, parts.partSize);
  const upload = new Upload({
    client,
    params: {
      Bucket: dest.bucket,
      Key: dest.key,
      Body: 'path' in source ? createReadStream(source.path) : source.bytes,
      ContentLength: digest.size,
      Metadata: { [SHA256_METADATA_KEY]: digest.sha256 },
    },
    partSize: parts.partSize,
    queueSize: parts.queueSize,
  });
  if (onBytes) upload.on('httpUploadProgress', (p) => onBytes(p.loaded ?? 0));
  await upload.done();
  const nParts = Math.max(1, Math.ceil(digest.size / parts.partSize));
  const verifiedBy = await verifyObject(client, dest, digest);
  return { size: digest.size, sha256: digest.sha256, etag: digest.expectedEtags[nParts > 1 ? 1 : 0] ?? '', parts: nParts, verifiedBy };
}

/** Checks the stored object against `digest`; returns how it was verified. @throws IntegrityMismatch */
export async function verifyObject(client: S3Client, dest: S3Uri, digest: FileDigest): Promise<'etag' | 'readback'> {
  const head = await client.send(new HeadObjectCommand({ Bucket: dest.bucket, Key: dest.key }));
  const where = `s3://${dest.bucket}/${dest.key}`;
  if (head.ContentLength !== digest.size) throw new IntegrityMismatch(`${where}: stored size ${head.ContentLength} != local ${digest.size}`);
  const storedSha = head.Metadata?.[SHA256_METADATA_KEY];
  if (storedSha !== digest.sha256) throw new IntegrityMismatch(`${where}: stored sha256 metadata ${storedSha} != local ${digest.sha256}`);
  if (digest.expectedEtags.includes(bareEtag(head.ETag))) return 'etag';
  const readSha = await readObjectSha256(client, dest);
  if (readSha !== digest.sha256) throw new IntegrityMismatch(`${where}: read-back sha256 ${readSha} != local ${digest.sha256}`);
  return 'readback';
}

/** Streams an object and returns the hex SHA-256 of its bytes. */
export async function readObjectSha256(client: S3Client, src: S3Uri): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
  const hash = createHash('sha256');
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import { createS3Client, type S3ClientOptions } from './client.js';
import { shortS3Error } from './s3-errors.js';
import { uploadVerified } from './upload-file.js';
import { isS3Uri, parseS3Uri } from './uri.js';

/** Reads a local file or an s3:// object into memory. @throws SslError when it cannot be read. */
export async function readPathBytes(path: string, opts: { client?: S3Client } & S3ClientOptions = {}): Promise<Uint8Array> {
  if (!isS3Uri(path)) {
    try {
      return new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new SslError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { code: 'READ_FAILED' });
    }
  }
  const client = opts.client ?? createS3Client(opts);
  const { bucket, key } = parseS3Uri(path);
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await got.Body!.transformToByteArray();
  } catch (e) {
    throw new SslError(`cannot read ${path}: ${shortS3Error(e)}`, { code: 'S3_READ_FAILED', cause: e });
  } finally {
    if (!opts.client) client.destroy();
  }
}

/** Writes bytes to a local file (temp + rename) or uploads them to s3:// (verified). */
export async function writePathBytes(path: string, bytes: Uint8Array, opts: { client?: S3Client } & S3ClientOptions = {}): Promise<void> {
  if (!isS3Uri(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    return;
  }
  const client = opts.client ?? createS3Client(opts);
  try {
    await uploadVerified(client, { bytes }, parseS3Uri(path));
  } catch (e) {
    throw new SslError(`cannot write ${path}: ${shortS3Error(e)}`, { code: 'S3_WRITE_FAILED', cause: e });
  } finally {
    if (!opts.client) client.destroy();
  }
}

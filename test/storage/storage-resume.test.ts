import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { downloadCheckpoint, findLatestRemoteCheckpoint } from '../../src/storage/remote-checkpoints.js';
import { digestBytes } from '../../src/storage/digest.js';
import { IntegrityMismatch, uploadVerified, verifyObject } from '../../src/storage/upload-file.js';
import { SslError } from '../../src/errors.js';
import { LocalS3 } from './s3-server.js';

const s3 = new LocalS3();
let client: S3Client;
const PART = 5 * 1024 * 1024;

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('ckpts');
  client = s3.client();
});
afterAll(async () => {
  client.destroy();
  await s3.dispose();
});

const put = (key: string, body: Uint8Array, metadata?: Record<string, string>) =>
  client.send(new PutObjectCommand({ Bucket: 'ckpts', Key: key, Body: body, Metadata: metadata }));

test('the newest complete checkpoint under a prefix is found (numeric order; foreign or incomplete objects skipped)', async () => {
  for (const n of [2, 9, 10]) await uploadVerified(client, { bytes: randomBytes(100 + n) }, { bucket: 'ckpts', key: `runs/a/epoch_${n}.ckpt` });
  await put('runs/a/epoch_11.ckpt', randomBytes(50)); // no sha256 metadata: not written by us
  await put('runs/a/latest.ckpt', randomBytes(10));
  await uploadVerified(client, { bytes: randomBytes(10) }, { bucket: 'ckpts', key: 'runs/a/sub/epoch_99.ckpt' });
  expect(await findLatestRemoteCheckpoint(client, 's3://ckpts/runs/a')).toBe('s3://ckpts/runs/a/epoch_10.ckpt');
  expect(await findLatestRemoteCheckpoint(client, 's3://ckpts/runs/a/')).toBe('s3://ckpts/runs/a/epoch_10.ckpt');
  expect(await findLatestRemoteCheckpoint(client, 's3://ckpts/runs/empty')).toBeUndefined();
});

test('downloadCheckpoint writes identical bytes under the object name and rejects a corrupt object', async () => {
  const bytes = randomBytes(7 * 1024 * 1024);
  await uploadVerified(client, { bytes }, { bucket: 'ckpts', key: 'runs/b/iter_40.ckpt' }, { partSize: PART, queueSize: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'ssl-dl-'));
  const path = await downloadCheckpoint(client, 's3://ckpts/runs/b/iter_40.ckpt', dir);
  expect(path).toBe(join(dir, 'iter_40.ckpt'));
  expect(readFileSync(path).equals(bytes)).toBe(true);

  await put('runs/b/iter_50.ckpt', randomBytes(100), { sha256: '0'.repeat(64) });
  await expect(downloadCheckpoint(client, 's3://ckpts/runs/b/iter_50.ckpt', dir)).rejects.toThrow(/iter_50\.ckpt is corrupt/);
  await expect(downloadCheckpoint(client, 's3://ckpts/runs/b/iter_60.ckpt', dir)).rejects.toBeInstanceOf(SslError);
  expect(readdirSync(dir)).toEqual(['iter_40.ckpt']); // no partial files left behind
});

test('verification: a stored object that differs from the local bytes is an IntegrityMismatch; an opaque ETag falls back to read-back', async () => {
  const bytes = randomBytes(4096);
  const digest = await digestBytes(bytes, PART);
  await put('v/x.bin', bytes, { sha256: digest.sha256 });
  expect(await verifyObject(client, { bucket: 'ckpts', key: 'v/x.bin' }, digest)).toBe('etag');
  // an ETag we cannot compare (as with SSE-KMS): the object is read back and hashed
  expect(await verifyObject(client, { bucket: 'ckpts', key: 'v/x.bin' }, { ...digest, expectedEtags: ['opaque'] })).toBe('readback');
  // same size and metadata but other bytes
  const other = Buffer.from(bytes);
  other[100] = (other[100]! + 1) % 256;
  await put('v/y.bin', other, { sha256: digest.sha256 });
  await expect(verifyObject(client, { bucket: 'ckpts', key: 'v/y.bin' }, { ...digest, expectedEtags: ['opaque'] })).rejects.toBeInstanceOf(IntegrityMismatch);
  await expect(verifyObject(client, { bucket: 'ckpts', key: 'v/y.bin' }, digest)).rejects.toBeInstanceOf(IntegrityMismatch);
});

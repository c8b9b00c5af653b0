import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3FileBackend } from '../../src/storage/s3-file-backend.js';
import { LocalS3 } from './s3-server.js';

const s3 = new LocalS3();
let client: S3Client;

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('data');
  client = s3.client();
});
afterAll(async () => {
  client.destroy();
  await s3.dispose();
});

const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));

test('reads objects through a local cache revalidated by ETag', async () => {
  await put('imgs/a.png', 'A1');
  await put('imgs/sub/b.png', 'B1');
  const cacheDir = mkdtempSync(join(tmpdir(), 'ssl-cache-'));
  const fb = new S3FileBackend({ client, cacheDir });
  expect(Buffer.from(await fb.get('s3://data/imgs/a.png')).toString()).toBe('A1');
  expect(Buffer.from(await fb.get('s3://data/imgs/a.png')).toString()).toBe('A1');
  expect(fb.stats).toMatchObject({ downloads: 1, cacheHits: 1 });

  await put('imgs/a.png', 'A2-changed');
  expect(Buffer.from(await fb.get('s3://data/imgs/a.png')).toString()).toBe('A2-changed');
  expect(fb.stats.downloads).toBe(2);

  // a second backend on the same cache dir (another loader worker, a later run) reuses the files
  const again = new S3FileBackend({ client, cacheDir, trustCache: true });
  expect(Buffer.from(await again.get('s3://data/imgs/a.png')).toString()).toBe('A2-changed');
  expect(again.stats).toMatchObject({ downloads: 0, cacheHits: 1 });

  expect(await fb.list('s3://data/imgs')).toEqual(['s3://data/imgs/a.png', 's3://data/imgs/sub/b.png']);
  await expect(fb.get('s3://data/imgs/missing.png')).rejects.toThrow(/cannot read s3:\/\/data\/imgs\/missing\.png: NoSuchKey/);
});

// The `s3` backend of src/data's FileClient seam: an ImageNet-style source read from s3rver.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { encodePng } from '../../src/data/decode.js';
import { fileClient } from '../../src/data/file-client.js';
import { ImageNet } from '../../src/data/sources/image-folder.js';
import '../../src/storage/s3-data-backend.js';
import { joinS3Path } from '../../src/storage/s3-data-backend.js';
import { LocalS3, S3RVER_CREDENTIALS } from './s3-server.js';

const s3 = new LocalS3();
const saved = { ...process.env };
beforeAll(async () => {
  await s3.start();
  await s3.createBucket('data');
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' });
  const c = s3.client();
  for (const [cls, value] of [['cat', 10], ['dog', 200]] as const) {
    for (const i of [0, 1]) {
      const png = await encodePng({ data: new Uint8Array(4 * 4 * 3).fill(value + i), height: 4, width: 4, channels: 3 });
      await c.send(new PutObjectCommand({ Bucket: 'data', Key: `imgs/train/${cls}/${i}.png`, Body: png }));
    }
  }
  await c.send(new PutObjectCommand({ Bucket: 'data', Key: 'imgs/train/dog/notes.txt', Body: 'not an image' }));
  c.destroy();
});
afterAll(async () => {
  process.env = saved;
  await s3.dispose();
});

test('joinS3Path keeps the scheme and single slashes', () => {
  expect(joinS3Path('s3://data/imgs/', 'train', '/cat/0.png')).toBe('s3://data/imgs/train/cat/0.png');
});

test('an ImageNet source with data_prefix s3://... lists class folders and decodes images through the cache', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'ssl-s3-data-'));
  const src = new ImageNet({ data_prefix: 's3://data/imgs/train', file_client_args: { backend: 's3', endpoint: s3.endpoint, cache_dir: cacheDir } });
  await src.init();
  expect(src.CLASSES).toEqual(['cat', 'dog']);
  expect(src.length).toBe(4);
  expect(Array.from(src.getGtLabels())).toEqual([0, 0, 1, 1]);
  const img = await src.getImage(3);
  expect([img.height, img.width, img.channels]).toEqual([4, 4, 3]);
  expect(img.data[0]).toBe(201);
  expect(readdirSync(cacheDir).length).toBeGreaterThan(0);
});

test('the backend is chosen by the s3:// scheme alone (endpoint from AWS_ENDPOINT_URL_S3) and rejects unknown args', async () => {
  process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  process.env.SSL_S3_CACHE_DIR = mkdtempSync(join(tmpdir(), 'ssl-s3-data-'));
  const fc = await fileClient(undefined, 's3://data/imgs');
  expect(await fc.list('s3://data/imgs/train/dog')).toEqual([
    { name: '0.png', dir: false },
    { name: '1.png', dir: false },
    { name: 'notes.txt', dir: false },
  ]);
  expect(await fc.getText('s3://data/imgs/train/dog/notes.txt')).toBe('not an image');
  await expect(fc.get('s3://data/imgs/none.png')).rejects.toThrow(/NoSuchKey/);
  await expect(fileClient({ backend: 's3', bucket_name: 'x' })).rejects.toThrow(/do not accept bucket_name/);
});

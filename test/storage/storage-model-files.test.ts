import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../../src/engine/safetensors.js';
import { extractBackbone, publishModel, publishedName } from '../../src/storage/model-files.js';
import { LocalS3 } from './s3-server.js';

const s3 = new LocalS3();
let client: S3Client;
const dir = mkdtempSync(join(tmpdir(), 'ssl-model-'));

const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: new Uint8Array(new Float32Array(values).buffer) });
const i64 = (v: number): RawTensor => ({ dtype: 'I64', shape: [], bytes: new Uint8Array(new BigInt64Array([BigInt(v)]).buffer) });

/** A checkpoint in the runner's format: state_dict.* + optimizer.* tensors, `meta` JSON with optimizer meta. */
function checkpointBytes(): Buffer {
  const t = new Map<string, RawTensor>([
    ['state_dict.backbone.conv1.weight', f32([2, 1, 1, 1], [1, 2])],
    ['state_dict.backbone.bn1.num_batches_tracked', i64(7)],
    ['state_dict.neck.mlp.0.weight', f32([2, 2], [3, 4, 5, 6])],
    ['optimizer.state.0.momentum_buffer', f32([2, 1, 1, 1], [9, 9])],
  ]);
  const meta = { epoch: 3, iter: 30, layout: 'pytorch', optimizer: { type: 'SGD', lr: 0.1 } };
  return encodeSafetensors(t, { meta: JSON.stringify(meta), format: 'ssl-checkpoint' });
}

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('models');
  client = s3.client();
});
afterAll(async () => {
  client.destroy();
  await s3.dispose();
});

test('publishedName appends the first 8 hex digits before the extension', () => {
  expect(publishedName('out/simclr.ckpt', 'abcdef0123')).toBe('out/simclr-abcdef01.ckpt');
  expect(publishedName('s3://m/x/simclr', 'abcdef0123')).toBe('s3://m/x/simclr-abcdef01.ckpt');
});

test('publish keeps weights and meta, drops optimizer state, and names the file by its SHA-256 (local)', async () => {
  const src = join(dir, 'epoch_3.ckpt');
  writeFileSync(src, checkpointBytes());
  const r = await publishModel(src, join(dir, 'simclr.ckpt'));
  const bytes = readFileSync(r.path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  expect(r.sha256).toBe(sha);
  expect(r.path).toBe(join(dir, `simclr-${sha.slice(0, 8)}.ckpt`));
  expect(r.dropped).toBe(1);
  const { tensors, metadata } = decodeSafetensors(bytes);
  expect([...tensors.keys()]).toEqual(['state_dict.backbone.conv1.weight', 'state_dict.backbone.bn1.num_batches_tracked', 'state_dict.neck.mlp.0.weight']);
  expect(Array.from(new Float32Array(new Uint8Array(tensors.get('state_dict.neck.mlp.0.weight')!.bytes).buffer))).toEqual([3, 4, 5, 6]);
  expect(JSON.parse(metadata.meta!)).toEqual({ epoch: 3, iter: 30, layout: 'pytorch' });
  expect(existsSync(join(dir, 'simclr.ckpt'))).toBe(false);
});

test('extract-backbone keeps backbone.* with the prefix stripped, any dtype, from and to S3', async () => {
  await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'runs/epoch_3.ckpt', Body: checkpointBytes() }));
  const r = await extractBackbone('s3://models/runs/epoch_3.ckpt', 's3://models/backbone.ckpt', { client });
  expect(r.tensors).toBe(2);
  const got = await client.send(new GetObjectCommand({ Bucket: 'models', Key: 'backbone.ckpt' }));
  const { tensors, metadata } = decodeSafetensors(await got.Body!.transformToByteArray());
  expect([...tensors.keys()].sort()).toEqual(['state_dict.bn1.num_batches_tracked', 'state_dict.conv1.weight']);
  const nbt = tensors.get('state_dict.bn1.num_batches_tracked')!;
  expect(nbt.dtype).toBe('I64');
  expect(new DataView(new Uint8Array(nbt.bytes).buffer).getBigInt64(0, true)).toBe(7n);
  expect(JSON.parse(metadata.meta!)).toMatchObject({ layout: 'pytorch' });
  expect(got.Metadata?.sha256).toBe(createHash('sha256').update(encodeSafetensors(tensors, metadata)).digest('hex'));
});

test('publish from S3 to S3 writes OUT-<hash8>.ckpt there', async () => {
  const r = await publishModel('s3://models/runs/epoch_3.ckpt', 's3://models/release/simclr.ckpt', { client });
  expect(r.path).toBe(`s3://models/release/simclr-${r.sha256.slice(0, 8)}.ckpt`);
  const got = await client.send(new GetObjectCommand({ Bucket: 'models', Key: `release/simclr-${r.sha256.slice(0, 8)}.ckpt` }));
  const bytes = await got.Body!.transformToByteArray();
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
});

test('a checkpoint without a backbone or not a checkpoint at all is a one-line error', async () => {
  const noBackbone = join(dir, 'neck.ckpt');
  writeFileSync(noBackbone, encodeSafetensors(new Map([['state_dict.neck.w', f32([1], [1])]]), { meta: '{}' }));
  await expect(extractBackbone(noBackbone, join(dir, 'x.ckpt'))).rejects.toThrow(/cannot find a backbone module/);
  writeFileSync(join(dir, 'junk.ckpt'), 'not a checkpoint');
  await expect(publishModel(join(dir, 'junk.ckpt'), join(dir, 'y.ckpt'))).rejects.toThrow(/is not a readable checkpoint/);
  await expect(publishModel('s3://models/none.ckpt', join(dir, 'y.ckpt'), { client })).rejects.toThrow(/cannot read s3:\/\/models\/none\.ckpt: NoSuchKey/);
});

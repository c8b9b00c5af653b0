import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CheckpointUploader, formatProgress, type UploadProgress } from '../../src/storage/checkpoint-uploader.js';
import { listRemoteCheckpoints } from '../../src/storage/remote-checkpoints.js';
import { LocalS3 } from './s3-server.js';

const s3 = new LocalS3();
let client: S3Client;
const calls: string[] = [];
let inFlightParts = 0;
let maxInFlightParts = 0;
const work = mkdtempSync(join(tmpdir(), 'ssl-up-'));

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('ckpts');
  client = s3.client();
  // records every S3 operation and how many UploadPart requests overlap
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      calls.push(name);
      if (name === 'UploadPartCommand') maxInFlightParts = Math.max(maxInFlightParts, ++inFlightParts);
      try {
        return await next(args);
      } finally {
        if (name === 'UploadPartCommand') inFlightParts--;
      }
    },
    { step: 'initialize', name: 'recordCalls' },
  );
});
afterAll(async () => {
  client.destroy();
  await s3.dispose();
});

async function readBack(key: string): Promise<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: 'ckpts', Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

test('a 20 MB checkpoint uploads as multipart with parallel parts and reads back identical', async () => {
  const bytes = randomBytes(20 * 1024 * 1024);
  const path = join(work, 'epoch_1.ckpt');
  writeFileSync(path, bytes);
  const up = new CheckpointUploader({ client, prefixUri: 's3://ckpts/big', parts: { partSize: 8 * 1024 * 1024, queueSize: 3 } });
  calls.length = 0;
  await up.enqueue(path);
  const progress: UploadProgress[] = [];
  const summary = await up.drain((p) => progress.push(p));
  expect(summary.ok).toBe(true);
  expect(summary.uploaded).toEqual([expect.objectContaining({ name: 'epoch_1.ckpt', size: bytes.length, parts: 3, verifiedBy: 'etag' })]);
  expect(calls.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
  expect(calls).toContain('CreateMultipartUploadCommand');
  expect(calls).toContain('CompleteMultipartUploadCommand');
  expect(maxInFlightParts).toBeGreaterThan(1);
  const back = await readBack('big/epoch_1.ckpt');
  expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  expect(back.equals(bytes)).toBe(true);
  expect(up.isVerified('epoch_1.ckpt')).toBe(true);
  expect(formatProgress(progress[0]!)).toMatch(/S3: 1 checkpoint upload\(s\) pending/);
});

test('retention keeps the newest max_keep_ckpts S3 copies and never touches local files', async () => {
  const up = new CheckpointUploader({ client, prefixUri: 's3://ckpts/keep', maxKeepCkpts: 2 });
  const paths: string[] = [];
  for (let e = 1; e <= 4; e++) {
    const p = join(work, `keep-epoch_${e}`);
    writeFileSync(p, randomBytes(1000 + e));
    paths.push(p);
    await up.enqueue(p, `epoch_${e}.ckpt`);
  }
  const s = await up.drain();
  expect(s.ok).toBe(true);
  expect(s.pruned.sort()).toEqual(['epoch_1.ckpt', 'epoch_2.ckpt']);
  const remote = await listRemoteCheckpoints(client, 's3://ckpts/keep');
  expect(remote.map((r) => r.name)).toEqual(['epoch_3.ckpt', 'epoch_4.ckpt']);
  for (const p of paths) expect(existsSync(p)).toBe(true);
  for (let e = 1; e <= 4; e++) expect(up.isVerified(`epoch_${e}.ckpt`)).toBe(true);
});

test('enqueue returns at once for 2 pending checkpoints and waits when the queue is full', async () => {
  const up = new CheckpointUploader({ client, prefixUri: 's3://ckpts/queue', maxQueued: 2 });
  const files = [1, 2, 3].map((i) => {
    const p = join(work, `q-iter_${i}.ckpt`);
    writeFileSync(p, randomBytes(3 * 1024 * 1024));
    return p;
  });
  let uploadedWhenThirdAccepted = -1;
  await up.enqueue(files[0]!, 'iter_1.ckpt');
  await up.enqueue(files[1]!, 'iter_2.ckpt');
  expect(up.summary().uploaded).toHaveLength(0); // both accepted before any upload finished
  await up.enqueue(files[2]!, 'iter_3.ckpt').then(() => {
    uploadedWhenThirdAccepted = up.summary().uploaded.length;
  });
  expect(uploadedWhenThirdAccepted).toBeGreaterThanOrEqual(1);
  const s = await up.drain();
  expect(s.uploaded.map((u) => u.name)).toEqual(['iter_1.ckpt', 'iter_2.ckpt', 'iter_3.ckpt']);
});

test('syncFile uploads a snapshot of a growing log; repeated syncs of a waiting file coalesce', async () => {
  const log = join(work, 'run.log');
  writeFileSync(log, 'epoch 1\n');
  const up = new CheckpointUploader({ client, prefixUri: 's3://ckpts/logs' });
  const big = join(work, 'logs-epoch_1.ckpt');
  writeFileSync(big, randomBytes(2 * 1024 * 1024));
  await up.enqueue(big, 'epoch_1.ckpt'); // keeps the worker busy so the syncs below wait
  const a = up.syncFile(log);
  appendFileSync(log, 'epoch 2\n');
  const b = up.syncFile(log);
  await Promise.all([a, b]);
  const s = await up.drain();
  expect(s.uploaded.filter((u) => u.name === 'run.log')).toHaveLength(1);
  expect((await readBack('logs/run.log')).toString()).toBe('epoch 1\nepoch 2\n');
});

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointUploader, formatSummary } from '../../src/storage/checkpoint-uploader.js';
import { listRemoteCheckpoints } from '../../src/storage/remote-checkpoints.js';
import { LocalS3 } from './s3-server.js';

const s3 = new LocalS3();
const workDir = mkdtempSync(join(tmpdir(), 'ssl-fail-'));
const FAST_RETRY = { attempts: 4, baseDelayMs: 50, maxDelayMs: 200 };

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('ckpts');
});
afterAll(async () => {
  await s3.dispose();
});

function writeCkpt(name: string, size = 6 * 1024 * 1024): string {
  const p = join(workDir, name);
  writeFileSync(p, randomBytes(size));
  return p;
}

test('server stopped mid-run: retries, reports the checkpoint by name, keeps it locally; a re-run uploads what is missing', async () => {
  const logs: string[] = [];
  const client = s3.client({ maxAttempts: 1, connectionTimeoutMs: 1000 });
  const up = new CheckpointUploader({ client, prefixUri: 's3://ckpts/run', retry: FAST_RETRY, parts: { partSize: 5 * 1024 * 1024, queueSize: 1 }, log: (l) => logs.push(l) });

  await up.enqueue(writeCkpt('epoch_1.ckpt'));
  expect((await up.drain()).ok).toBe(true);

  // the server goes away while epoch_2's multipart upload is in progress (after its first part)
  const lost = writeCkpt('epoch_2.ckpt', 16 * 1024 * 1024);
  await up.enqueue(lost);
  let stopping: Promise<void> | undefined;
  const summary = await up.drain((p) => {
    if (p.current === 'epoch_2.ckpt' && p.currentBytes > 0) stopping ??= s3.stop();
  });
  await stopping;
  expect(stopping).toBeDefined();

  expect(summary.ok).toBe(false); // the runner turns this into a non-zero exit code
  expect(summary.failed).toEqual([expect.objectContaining({ name: 'epoch_2.ckpt', localPath: lost, error: expect.stringMatching(/ECONNREFUSED|ECONNRESET|EPIPE/) })]);
  expect(logs.filter((l) => /upload of epoch_2\.ckpt failed .* retry \d\/3/.test(l))).toHaveLength(3);
  expect(logs.at(-1)).toMatch(/epoch_2\.ckpt was NOT uploaded .* kept locally at/);
  expect(formatSummary(summary, 's3://ckpts/run').join('\n')).toMatch(/FAILED checkpoint epoch_2\.ckpt/);
  expect(up.isVerified('epoch_1.ckpt')).toBe(true);
  expect(up.isVerified('epoch_2.ckpt')).toBe(false);
  expect(existsSync(lost)).toBe(true);

  // still down: the next checkpoint tries once instead of waiting out the backoff again
  const retriesBefore = logs.filter((l) => /retry/.test(l)).length;
  await up.enqueue(writeCkpt('epoch_3.ckpt', 1000));
  expect((await up.drain()).failed.map((f) => f.name)).toEqual(['epoch_2.ckpt', 'epoch_3.ckpt']);
  expect(logs.filter((l) => /retry/.test(l)).length).toBe(retriesBefore);
  client.destroy();

  // a later run, server back (same port and data): only the missing checkpoint goes up
  await s3.start();
  const client2 = s3.client();
  const rerun = new CheckpointUploader({ client: client2, prefixUri: 's3://ckpts/run', retry: FAST_RETRY });
  expect(await rerun.uploadMissing(workDir)).toEqual(['epoch_2.ckpt', 'epoch_3.ckpt']);
  const s2 = await rerun.drain();
  expect(s2.ok).toBe(true);
  expect(s2.uploaded.map((u) => u.name)).toEqual(['epoch_2.ckpt', 'epoch_3.ckpt']);
  expect(rerun.isVerified('epoch_1.ckpt')).toBe(true); // present remotely with the same sha256
  expect((await listRemoteCheckpoints(client2, 's3://ckpts/run')).map((c) => c.name)).toEqual(['epoch_1.ckpt', 'epoch_2.ckpt', 'epoch_3.ckpt']);
  client2.destroy();
});

test('a permanent error (missing bucket) is not retried', async () => {
  const logs: string[] = [];
  const client = s3.client();
  const up = new CheckpointUploader({ client, prefixUri: 's3://no-such-bucket/run', retry: FAST_RETRY, log: (l) => logs.push(l) });
  await up.enqueue(writeCkpt('iter_5.ckpt', 1000));
  const s = await up.drain();
  client.destroy();
  expect(s.failed.map((f) => f.name)).toEqual(['iter_5.ckpt']);
  expect(s.failed[0]!.error).toMatch(/NoSuchBucket/);
  expect(logs.filter((l) => /retry/.test(l))).toHaveLength(0);
});

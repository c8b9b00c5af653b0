// End to end with the trainer's worker (in-process, like test/runner/train-e2e): --s3 and --auto-resume against s3rver.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/index.js';
import { listObjects, listRemoteCheckpoints } from '../../src/storage/remote-checkpoints.js';
import { captured, quiet } from '../runner/helpers.js';
import { LocalS3, S3RVER_CREDENTIALS } from './s3-server.js';

const TINY = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml';
const workerSrc = join(process.cwd(), 'src', 'runner', 'worker-main.ts');
// the worker passes --s3 to src/storage once the trainer wires it (see src/storage/index.ts)
const wired = existsSync(workerSrc) && readFileSync(workerSrc, 'utf8').includes('storage/run-sync');
if (!wired) console.warn('storage e2e skipped: src/runner/worker-main.ts does not use src/storage/run-sync yet');

const s3 = new LocalS3();
const saved = { ...process.env };
beforeAll(async () => {
  await s3.start();
  await s3.createBucket('ckpts');
  // fast retries (the policy's knobs) keep the outage test short
  Object.assign(process.env, { SSL_S3_RETRY_ATTEMPTS: '3', SSL_S3_RETRY_BASE_MS: '50', AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' });
});
afterAll(async () => {
  process.env = saved;
  await s3.dispose();
});


function config(dir: string, epochs: number): string {
  const cfg = loadConfig(TINY) as Record<string, any>;
  cfg.runner.max_epochs = epochs;
  // one batch of 8 per epoch: 3 training iterations in the whole test
  cfg.data.train.data_source.num_samples = 8;
  const path = join(dir, 'cfg.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

const logOf = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');

(wired ? describe : describe.skip)('ssl-worker with --s3', () => {
  test('--auto-resume in an empty work dir resumes from the S3 copy and ends with the same weights as an uninterrupted run', async () => {
    const { runWorker } = await import('../../src/runner/worker-main.js');
    const { decodeSafetensors } = await import('../../src/engine/safetensors.js');
    const dir = mkdtempSync(join(tmpdir(), 'ssl-s3-e2e-'));
    const cfg = config(dir, 2);
    const common = ['--config', cfg, '--seed', '3', '--deterministic', '--backend', 'wasm'];
    const s3Args = ['--s3', 's3://ckpts/runs/tiny', '--s3-endpoint', s3.endpoint];

    // node 1: an uninterrupted 2-epoch run with --s3 (its epoch_2.ckpt is the reference)
    const a = join(dir, 'node1');
    expect(await quiet(() => runWorker([...common, '--work-dir', a, ...s3Args]))).toBe(0);
    const client = s3.client();
    expect((await listRemoteCheckpoints(client, 's3://ckpts/runs/tiny')).map((c) => c.name)).toEqual(['epoch_1.ckpt', 'epoch_2.ckpt']);
    const synced = (await listObjects(client, 's3://ckpts/runs/tiny')).map((o) => o.key);
    expect(synced.some((k) => k.endsWith('.log'))).toBe(true);
    expect(synced.some((k) => k.endsWith('.log.json'))).toBe(true);
    expect(synced).toContain('runs/tiny/cfg.json');
    // as if node 1 had been lost right after epoch 1: epoch 2 never reached S3
    await client.send(new DeleteObjectCommand({ Bucket: 'ckpts', Key: 'runs/tiny/epoch_2.ckpt' }));

    // node 2: empty work dir, --auto-resume finds epoch_1 on S3
    const b = join(dir, 'node2');
    expect(await quiet(() => runWorker([...common, '--work-dir', b, '--auto-resume', ...s3Args]))).toBe(0);
    expect(logOf(b)).toMatch(/resuming from s3:\/\/ckpts\/runs\/tiny\/epoch_1\.ckpt/);
    expect(logOf(b)).toMatch(/resumed epoch 1, iter 1/);
    expect(logOf(b)).not.toMatch(/Epoch \[1\]\[/); // epoch 1 was not trained again
    const ta = decodeSafetensors(readFileSync(join(a, 'epoch_2.ckpt'))).tensors;
    const mine = readFileSync(join(b, 'epoch_2.ckpt'));
    const tb = decodeSafetensors(mine).tensors;
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    expect(ta.size).toBeGreaterThan(100);
    for (const [k, t] of ta) expect({ k, equal: Buffer.from(t.bytes).equals(Buffer.from(tb.get(k)!.bytes)) }).toEqual({ k, equal: true });
    const remote2 = await client.send(new GetObjectCommand({ Bucket: 'ckpts', Key: 'runs/tiny/epoch_2.ckpt' }));
    expect(Buffer.from(await remote2.Body!.transformToByteArray()).equals(mine)).toBe(true);
    client.destroy();
  });

  test('server stopped mid-run: the failed checkpoint is named and kept, exit code 4; a re-run uploads what is missing', async () => {
    const { runWorker } = await import('../../src/runner/worker-main.js');
    const dir = mkdtempSync(join(tmpdir(), 'ssl-s3-e2e-'));
    const w = join(dir, 'w');
    const args = ['--config', config(dir, 2), '--work-dir', w, '--seed', '1', '--backend', 'wasm', '--s3', 's3://ckpts/runs/flaky', '--s3-endpoint', s3.endpoint];
    let stopping: Promise<void> | undefined;
    const watch = setInterval(() => {
      if (existsSync(join(w, 'epoch_1.ckpt'))) stopping ??= s3.stop(); // the server dies once training has saved its first checkpoint
    }, 5);
    const code = await quiet(() => runWorker(args));
    clearInterval(watch);
    await stopping;
    expect(stopping).toBeDefined();
    expect(code).toBe(4);
    expect(logOf(w)).toMatch(/S3: FAILED checkpoint epoch_2\.ckpt .*kept locally at/);
    expect(existsSync(join(w, 'epoch_2.ckpt'))).toBe(true);

    await s3.start();
    expect(await quiet(() => runWorker([...args, '--auto-resume']))).toBe(0);
    const client = s3.client();
    expect((await listRemoteCheckpoints(client, 's3://ckpts/runs/flaky')).map((c) => c.name)).toEqual(['epoch_1.ckpt', 'epoch_2.ckpt']);
    const remote2 = await client.send(new GetObjectCommand({ Bucket: 'ckpts', Key: 'runs/flaky/epoch_2.ckpt' }));
    expect(Buffer.from(await remote2.Body!.transformToByteArray()).equals(readFileSync(join(w, 'epoch_2.ckpt')))).toBe(true);
    client.destroy();
  });

  test('a missing bucket fails before the first iteration, in seconds', async () => {
    const { runWorker } = await import('../../src/runner/worker-main.js');
    const dir = mkdtempSync(join(tmpdir(), 'ssl-s3-e2e-'));
    const w = join(dir, 'w');
    const t0 = Date.now();
    const { result: code, out } = await captured(() => runWorker(['--config', config(dir, 1), '--work-dir', w, '--backend', 'wasm', '--s3', 's3://no-such-bucket/x', '--s3-endpoint', s3.endpoint]));
    expect(code).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out).toMatch(/bucket 'no-such-bucket' does not exist/);
    expect(out).not.toMatch(/Epoch \[1\]/);
    expect(existsSync(w)).toBe(false); // failed before it started: nothing written
  });
});

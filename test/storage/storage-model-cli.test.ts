// Runs the built CLI (`npm run build` first): `ssl model publish` / `ssl model extract-backbone` against s3rver.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { encodeSafetensors, type RawTensor } from '../../src/engine/safetensors.js';
import { execFile } from 'node:child_process';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { LocalS3, S3RVER_CREDENTIALS } from './s3-server.js';

const built = existsSync(join(REPO_ROOT, 'lib', 'src', 'commands', 'model', 'publish.js'));
const s3 = new LocalS3();
const dir = mkdtempSync(join(tmpdir(), 'ssl-model-cli-'));
const f32 = (v: number[]): RawTensor => ({ dtype: 'F32', shape: [v.length], bytes: new Uint8Array(new Float32Array(v).buffer) });
const ckpt = encodeSafetensors(
  new Map([
    ['state_dict.backbone.fc.weight', f32([1, 2])],
    ['optimizer.state.0.momentum_buffer', f32([0, 0])],
  ]),
  { meta: JSON.stringify({ epoch: 1, optimizer: { type: 'SGD' } }) },
);

beforeAll(async () => {
  await s3.start();
  await s3.createBucket('models');
});
afterAll(async () => {
  await s3.dispose();
});

/** Like runCli, but asynchronous: the S3 server runs in this process and must keep answering. */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const env = () => ({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' });

(built ? test : test.skip)('ssl model publish and extract-backbone work on local and s3:// paths (needs npm run build)', async () => {
  const c = s3.client();
  await c.send(new PutObjectCommand({ Bucket: 'models', Key: 'runs/epoch_1.ckpt', Body: ckpt }));
  c.destroy();
  const pub = await runCliAsync(['model', 'publish', 's3://models/runs/epoch_1.ckpt', join(dir, 'simclr.ckpt')], env());
  expect(pub.stderr).toBe('');
  expect(pub.status).toBe(0);
  const published = readdirSync(dir).filter((n) => /^simclr-[0-9a-f]{8}\.ckpt$/.test(n));
  expect(published).toHaveLength(1);
  expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  expect(pub.stdout).toContain(published[0]);
  expect(pub.stdout).toMatch(/1 optimizer tensor\(s\) dropped/);

  const ext = await runCliAsync(['model', 'extract-backbone', join(dir, published[0]!), 's3://models/backbone.ckpt'], env());
  expect(ext.status).toBe(0);
  expect(ext.stdout).toMatch(/s3:\/\/models\/backbone\.ckpt \(1 backbone tensor/);

  const missing = await runCliAsync(['model', 'extract-backbone', 's3://no-such-bucket/x.ckpt', join(dir, 'b.ckpt')], env());
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/^Error: cannot read s3:\/\/no-such-bucket\/x\.ckpt: NoSuchBucket/m);
});


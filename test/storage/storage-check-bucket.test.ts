import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBucket } from '../../src/storage/check-bucket.js';
import { SslError } from '../../src/errors.js';
import { LocalS3, S3RVER_CREDENTIALS } from './s3-server.js';

const s3 = new LocalS3();
const AWS_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const k of AWS_ENV) saved[k] = process.env[k];
  await s3.start();
  await s3.createBucket('ckpts');
});
afterAll(async () => {
  await s3.dispose();
});
beforeEach(() => {
  // an isolated credential chain: nothing from the machine, no instance metadata lookups
  for (const k of AWS_ENV) delete process.env[k];
  const none = join(tmpdir(), 'ssl-no-such-aws-file');
  process.env.AWS_SHARED_CREDENTIALS_FILE = none;
  process.env.AWS_CONFIG_FILE = none;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterEach(() => {
  for (const k of AWS_ENV) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
});

async function failure(p: Promise<unknown>): Promise<{ error: SslError; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (e) {
    return { error: e as SslError, ms: Date.now() - t0 };
  }
  throw new Error('expected the bucket check to fail');
}

test('a writable bucket passes, with credentials from the environment (standard chain)', async () => {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  await expect(checkBucket('s3://ckpts/runs/a', { endpoint: s3.endpoint })).resolves.toBeUndefined();
});

test('credentials from a shared profile are used (AWS_PROFILE)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-aws-'));
  writeFileSync(join(dir, 'credentials'), `[train]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n`);
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_PROFILE = 'train';
  await expect(checkBucket('s3://ckpts/runs/a', { endpoint: s3.endpoint })).resolves.toBeUndefined();
});

test('a missing bucket fails fast with a line naming the bucket', async () => {
  const { error, ms } = await failure(checkBucket('s3://no-such-bucket/x', { endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS }));
  expect(error).toBeInstanceOf(SslError);
  expect(error.message).toMatch(/bucket 'no-such-bucket' does not exist/);
  expect(error.message).not.toMatch(/\n/);
  expect(ms).toBeLessThan(5000);
});

test('an access key the server does not know fails fast (InvalidAccessKeyId)', async () => {
  const { error, ms } = await failure(checkBucket('s3://ckpts/x', { endpoint: s3.endpoint, credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'x' } }));
  expect(error.message).toMatch(/S3 rejected the credentials \(InvalidAccessKeyId\).*AWS_ACCESS_KEY_ID/);
  expect(ms).toBeLessThan(5000);
});

test('no credentials anywhere fails fast and says how to provide them', async () => {
  const { error, ms } = await failure(checkBucket('s3://ckpts/x', { endpoint: s3.endpoint }));
  expect(error.message).toMatch(/no AWS credentials found/);
  expect(ms).toBeLessThan(5000);
});

test('an unreachable endpoint fails fast and points at --s3-endpoint', async () => {
  const stopped = new LocalS3();
  await stopped.start();
  const endpoint = stopped.endpoint;
  await stopped.dispose(); // nothing listens on that port now
  const { error, ms } = await failure(checkBucket('s3://ckpts/x', { endpoint, credentials: S3RVER_CREDENTIALS }));
  expect(error.message).toMatch(/cannot reach the S3 endpoint .*ECONNREFUSED.*--s3-endpoint/);
  expect(ms).toBeLessThan(5000);
});

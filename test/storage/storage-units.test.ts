import { backoffDelayMs, retryPolicyFromEnv, DEFAULT_RETRY } from '../../src/storage/retry.js';
import { explainS3Error, isTransientS3Error, shortS3Error } from '../../src/storage/s3-errors.js';
import { runPrefix } from '../../src/storage/run-sync.js';
import { joinKey, parseS3Uri } from '../../src/storage/uri.js';
import { parseCheckpointName } from '../../src/storage/remote-checkpoints.js';
import { digestBytes } from '../../src/storage/digest.js';
import { createHash } from 'node:crypto';

const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }), ...extra });

test('parseS3Uri splits bucket and key and rejects other strings', () => {
  expect(parseS3Uri('s3://ckpts/runs/a/')).toEqual({ bucket: 'ckpts', key: 'runs/a/' });
  expect(parseS3Uri('s3://ckpts')).toEqual({ bucket: 'ckpts', key: '' });
  expect(() => parseS3Uri('/local/path')).toThrow(/not an S3 URI: '\/local\/path'/);
  expect(joinKey('runs/a/', '/epoch_1.ckpt')).toBe('runs/a/epoch_1.ckpt');
  expect(joinKey('', 'epoch_1.ckpt')).toBe('epoch_1.ckpt');
});

test('checkpoint names: epoch_N / iter_N only', () => {
  expect(parseCheckpointName('epoch_12.ckpt')).toEqual({ kind: 'epoch', number: 12 });
  expect(parseCheckpointName('iter_3000.ckpt')).toEqual({ kind: 'iter', number: 3000 });
  expect(parseCheckpointName('latest.ckpt')).toBeUndefined();
  expect(parseCheckpointName('epoch_1.ckpt.tmp')).toBeUndefined();
});

test.each([
  ['500 InternalError', sdkError('InternalError', 500), true],
  ['503 SlowDown', sdkError('SlowDown', 503), true],
  ['429', sdkError('Unknown', 429), true],
  ['RequestTimeout', sdkError('RequestTimeout', 400), true],
  ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
  ['wrapped ECONNREFUSED', new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1'), true],
  ['NoSuchBucket', sdkError('NoSuchBucket', 404), false],
  ['AccessDenied', sdkError('AccessDenied', 403), false],
  ['InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403), false],
])('transient: %s -> %s', (_label, e, transient) => {
  expect(isTransientS3Error(e)).toBe(transient);
});

test('explainS3Error says what to change', () => {
  const where = { uri: 's3://b/p', bucket: 'b', endpoint: 'http://minio:9000' };
  expect(explainS3Error(sdkError('AccessDenied', 403), where)).toMatch(/access denied to s3:\/\/b\/p .*s3:PutObject/);
  expect(explainS3Error(sdkError('PermanentRedirect', 301), where)).toMatch(/set AWS_REGION/);
  expect(explainS3Error(sdkError('CredentialsProviderError'), where)).toMatch(/AWS_PROFILE/);
  expect(shortS3Error(sdkError('Unknown', 403))).toBe('Forbidden (HTTP 403)');
});

test('backoff doubles up to the cap, with jitter in [0.5, 1]; env overrides the policy', () => {
  const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 350 };
  expect([1, 2, 3, 4].map((k) => backoffDelayMs(p, k, () => 1))).toEqual([100, 200, 350, 350]);
  expect(backoffDelayMs(p, 2, () => 0)).toBe(100);
  expect(retryPolicyFromEnv({ SSL_S3_RETRY_ATTEMPTS: '2', SSL_S3_RETRY_BASE_MS: '10' })).toEqual({ attempts: 2, baseDelayMs: 10, maxDelayMs: DEFAULT_RETRY.maxDelayMs });
  expect(retryPolicyFromEnv({ SSL_S3_RETRY_ATTEMPTS: 'lots' })).toEqual(DEFAULT_RETRY);
});

test('run prefix: --s3 as given, or checkpoint_config.out_dir s3:// plus the work dir name (mmcv out_dir rule)', () => {
  expect(runPrefix({ s3: 's3://b/runs/x', outDir: 's3://other', workDir: '/w/simclr' })).toBe('s3://b/runs/x');
  expect(runPrefix({ outDir: 's3://b/ckpts/', workDir: '/w/simclr' })).toBe('s3://b/ckpts/simclr');
  expect(runPrefix({ outDir: '/local/out', workDir: '/w/simclr' })).toBeUndefined();
});

test('expected ETags: plain MD5, and for several parts the AWS multipart form md5(part md5s)-N', async () => {
  const bytes = Buffer.alloc(25, 7);
  const md5 = (b: Buffer) => createHash('md5').update(b).digest();
  const d = await digestBytes(bytes, 10);
  expect(d.size).toBe(25);
  expect(d.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  const composite = createHash('md5').update(Buffer.concat([md5(bytes.subarray(0, 10)), md5(bytes.subarray(10, 20)), md5(bytes.subarray(20))])).digest('hex');
  expect(d.expectedEtags).toEqual([md5(bytes).toString('hex'), `${composite}-3`]);
  expect((await digestBytes(bytes, 100)).expectedEtags).toEqual([md5(bytes).toString('hex')]);
});

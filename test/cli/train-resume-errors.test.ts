/**
 * Issue 23: every resume path fails cleanly — --resume-from / --load-from / ssl eval knn --checkpoint naming a
 * missing file, a directory, a truncated or corrupt file, a checkpoint of another architecture, an S3 URI with
 * no object: one line naming the path and what is wrong, exit 2, no stack (--debug shows it), nothing written.
 * --auto-resume that finds only corrupt checkpoints fails unless --auto-resume=fresh-ok.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { writeTree } from '../helpers/tmp-files.js';
import { LocalS3, S3RVER_CREDENTIALS } from '../storage/s3-server.js';

const TINY = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
const built = existsSync(join(REPO_ROOT, 'lib', 'src', 'commands', 'train.js'));
const s3 = new LocalS3();
const dir = writeTree({ 'keep.txt': '' });
let good = '';

/** Asynchronous (the S3 server runs in this process). */
function ssl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; out: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], { cwd: dir, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, stderr });
    });
  });
}

/** The error lines: `Error: ...` from the command, `- ERROR -` from the worker's logger. */
const errorLines = (out: string) => out.split('\n').filter((l) => l.startsWith('Error:') || l.includes(' - ERROR - '));
const s3env = () => ({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' });
const train = (wd: string, extra: string[]) => ['train', TINY, '--work-dir', wd, '--backend', 'wasm', ...extra];

beforeAll(async () => {
  if (!built) return;
  await s3.start();
  await s3.createBucket('ckpts');
  // one real checkpoint of the tiny config (1 epoch of 2 iterations)
  const r = await ssl(train(join(dir, 'src'), []));
  expect(r.status).toBe(0);
  good = join(dir, 'src', 'epoch_1.ckpt');
  const bytes = readFileSync(good);
  writeFileSync(join(dir, 'truncated.ckpt'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  writeFileSync(join(dir, 'cut-header.ckpt'), bytes.subarray(0, 100));
  writeFileSync(join(dir, 'text.ckpt'), 'this is not a checkpoint\n');
  const flipped = Buffer.from(bytes);
  flipped.write('\u0001', 40); // a control character inside the JSON header
  writeFileSync(join(dir, 'bad-json.ckpt'), flipped);
  mkdirSync(join(dir, 'a-dir'));
}, 120_000);
afterAll(async () => {
  await s3.dispose();
});

(built ? describe : describe.skip)('bad resume inputs: one line, exit 2, nothing written (needs npm run build)', () => {
  test.each([
    ['--resume-from: a missing file', () => ['--resume-from', join(dir, 'nope.ckpt')], /^Error: --resume-from: \S+nope\.ckpt does not exist$/],
    ['--resume-from: a directory', () => ['--resume-from', join(dir, 'src')], /^Error: --resume-from: \S+src is a directory, not a checkpoint file \(did you mean \S+latest\.ckpt\?\)$/],
    ['--resume-from: a truncated file', () => ['--resume-from', join(dir, 'truncated.ckpt')], /^Error: --resume-from: \S+truncated\.ckpt is truncated: \d+ of \d+ bytes$/],
    ['--resume-from: a file cut inside its header', () => ['--resume-from', join(dir, 'cut-header.ckpt')], /^Error: --resume-from: \S+cut-header\.ckpt is truncated: its header needs \d+ bytes, the file has 100$/],
    ['--resume-from: a text file', () => ['--resume-from', join(dir, 'text.ckpt')], /^Error: --resume-from: \S+text\.ckpt is not an ssl checkpoint/],
    ['--resume-from: a corrupt header', () => ['--resume-from', join(dir, 'bad-json.ckpt')], /^Error: --resume-from: \S+bad-json\.ckpt is corrupt: its header is not valid JSON/],
    ['--load-from: a missing file', () => ['--load-from', join(dir, 'nope.ckpt')], /^Error: --load-from: \S+nope\.ckpt does not exist$/],
    ['--load-from: a truncated file', () => ['--load-from', join(dir, 'truncated.ckpt')], /^Error: --load-from: \S+truncated\.ckpt is truncated/],
    [
      '--resume-from: another architecture',
      () => ['--resume-from', good, '--cfg-options', 'model.backbone.depth=50'],
      /- ERROR - --resume-from: \S+epoch_1\.ckpt is a checkpoint of another model: backbone\.layer1\.0\.conv1\.weight is \[8, 8, 3, 3\] there and \[8, 8, 1, 1\] in this model$/,
    ],
    [
      '--load-from: another architecture',
      () => ['--load-from', good, '--cfg-options', 'model.backbone.depth=50'],
      /- ERROR - --load-from: \S+epoch_1\.ckpt does not fit this model: backbone\.layer1\.0\.conv1\.weight is \[8, 8, 3, 3\] there and \[8, 8, 1, 1\] in this model$/,
    ],
    ['--resume-from: an S3 URI with no object', () => ['--resume-from', 's3://ckpts/runs/none/epoch_9.ckpt'], /^Error: --resume-from: s3:\/\/ckpts\/runs\/none\/epoch_9\.ckpt does not exist \(no such object\)$/],
    ['--load-from: an S3 URI with no object', () => ['--load-from', 's3://ckpts/none.ckpt'], /^Error: --load-from: s3:\/\/ckpts\/none\.ckpt does not exist \(no such object\)$/],
  ])('%s', async (_what, extra, message) => {
    const wd = join(dir, `wd-${Math.random().toString(36).slice(2)}`);
    const r = await ssl(train(wd, extra()), s3env());
    expect(r.status).toBe(2);
    expect(errorLines(r.out)).toEqual([expect.stringMatching(message)]);
    expect(r.out).not.toMatch(/\n\s+at /);
    expect(existsSync(wd)).toBe(false);
  }, 60_000);

  test('an existing work dir is left as it was (the resolved config of the last run kept)', async () => {
    const wd = join(dir, 'existing');
    mkdirSync(wd);
    writeFileSync(join(wd, 'simclr_resnet18-cifar_1xb8-2it_synthetic.json'), '{"previous": true}\n');
    const r = await ssl(train(wd, ['--resume-from', good, '--cfg-options', 'model.neck.out_channels=4']));
    expect(r.status).toBe(2);
    expect(readdirSync(wd)).toEqual(['simclr_resnet18-cifar_1xb8-2it_synthetic.json']);
    expect(readFileSync(join(wd, 'simclr_resnet18-cifar_1xb8-2it_synthetic.json'), 'utf8')).toBe('{"previous": true}\n');
  }, 60_000);

  test('--debug shows the stack trace', async () => {
    const pre = await ssl(train(join(dir, 'dbg1'), ['--resume-from', join(dir, 'truncated.ckpt'), '--debug']));
    expect(pre.status).toBe(2);
    expect(pre.stderr).toMatch(/BadCheckpointError: --resume-from: .*truncated\.ckpt is truncated[^\n]*\n\s+at /);
    const worker = await ssl(train(join(dir, 'dbg2'), ['--resume-from', good, '--cfg-options', 'model.backbone.depth=50', '--debug']));
    expect(worker.status).toBe(2);
    expect(worker.stderr).toMatch(/BadCheckpointError: --resume-from: .*another model[^\n]*\n\s+at checkSameArchitecture/);
  }, 60_000);

  test('ssl eval knn --checkpoint: missing, truncated, another architecture', async () => {
    const knn = (ckpt: string, extra: string[] = []) => ssl(['eval', 'knn', TINY, '--checkpoint', ckpt, '--backend', 'wasm', ...extra]);
    for (const [ckpt, extra, message] of [
      [join(dir, 'nope.ckpt'), [], /^Error: --checkpoint: \S+nope\.ckpt does not exist$/],
      [join(dir, 'truncated.ckpt'), [], /^Error: --checkpoint: \S+truncated\.ckpt is truncated/],
      [join(dir, 'a-dir'), [], /^Error: --checkpoint: \S+a-dir is a directory, not a checkpoint file$/],
      [good, ['--cfg-options', 'model.backbone.depth=50'], /^Error: --checkpoint: \S+epoch_1\.ckpt does not fit this model: backbone\.layer1\.0\.conv1\.weight is \[8, 8, 3, 3\] there/],
    ] as [string, string[], RegExp][]) {
      const r = await knn(ckpt, extra);
      expect({ ckpt, status: r.status }).toEqual({ ckpt, status: 2 });
      expect(errorLines(r.out)).toEqual([expect.stringMatching(message)]);
      expect(r.out).not.toMatch(/\n\s+at /);
    }
  }, 120_000);

  test('--auto-resume: only corrupt checkpoints is exit 2 naming them; =fresh-ok starts from scratch; a good one among them is used', async () => {
    const wd = join(dir, 'corrupt');
    mkdirSync(wd);
    copyFileSync(join(dir, 'truncated.ckpt'), join(wd, 'epoch_1.ckpt'));
    copyFileSync(join(dir, 'text.ckpt'), join(wd, 'iter_2.ckpt'));
    const failed = await ssl(train(wd, ['--auto-resume']));
    expect(failed.status).toBe(2);
    expect(errorLines(failed.out)).toEqual([
      expect.stringMatching(/^Error: --auto-resume: the 2 checkpoints in \S+corrupt are all unusable \(\S+epoch_1\.ckpt is truncated: \d+ of \d+ bytes\); delete or replace them, or pass --auto-resume=fresh-ok to start from scratch$/),
    ]);
    expect(readdirSync(wd).sort()).toEqual(['epoch_1.ckpt', 'iter_2.ckpt']);

    const fresh = await ssl(train(wd, ['--auto-resume=fresh-ok']));
    expect(fresh.status).toBe(0);
    expect(fresh.out).toMatch(/WARNING - --auto-resume: the 2 checkpoints in \S+ are all unusable .*--auto-resume=fresh-ok: starting from scratch/);
    expect(fresh.out).toMatch(/Epoch \[1\]\[2\/2\]/);

    // now epoch_1.ckpt is good (the fresh run wrote it) and iter_2.ckpt is still text: plain --auto-resume uses the good one
    const again = await ssl(train(wd, ['--auto-resume', '--cfg-options', 'runner.max_epochs=2']));
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/auto-resume: found \S+epoch_1\.ckpt/);
    expect(again.out).toMatch(/WARNING - auto-resume: skipped \S+iter_2\.ckpt \(not an ssl checkpoint/);
    expect(again.out).toMatch(/resumed epoch 1, iter 2/);
  }, 120_000);
});

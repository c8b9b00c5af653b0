/**
 * MMSelfSup's InterCLR config trains 2 iterations unchanged on the synthetic source with a ResNet-18
 * chosen by --cfg-options: InterCLRHook extracts the features, k-means fills the memory bank, the
 * online labels are kept, and the epoch's memory is saved as MMSelfSup's .npy files.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../src/runner/hooks/npy.js';
import { SHARED_DIR, runCli } from '../helpers/run-cli.js';

const CONFIG = join(SHARED_DIR, 'data', 'mmselfsup-configs', 'selfsup', 'interclr', 'interclr-moco_resnet50_8xb32-coslr-200e_in1k.py');
const synthetic = (at: string) => [`${at}.type=SyntheticShapes`, `${at}.ann_file=None`, `${at}.data_prefix=None`, `${at}.num_samples=8`];
const OPTIONS = [
  ...synthetic('data.train.data_source'),
  ...synthetic('custom_hooks.0.extractor.dataset.data_source'),
  'custom_hooks.0.extractor.dataset.pipeline.0.size=32', 'custom_hooks.0.extractor.dataset.pipeline.1.size=32',
  'custom_hooks.0.extractor.samples_per_gpu=4', 'custom_hooks.0.extractor.workers_per_gpu=0', 'custom_hooks.0.clustering.k=2', 'custom_hooks.0.interval=1',
  'data.samples_per_gpu=4', 'data.workers_per_gpu=0', 'data.train.pipelines.0.0.size=32', 'runner.max_epochs=1', 'log_config.interval=1',
  'model.backbone.depth=18', 'model.neck.in_channels=512', 'model.neck.hid_channels=512', 'model.queue_len=16',
  'model.memory_bank.length=8', 'model.memory_bank.num_classes=2', 'model.memory_bank.min_cluster=1', 'model.num_classes=2',
  'model.neg_num=2', 'model.semihard_neg_pool_num=8',
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ssl-interclr-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const have = existsSync(CONFIG);

(have ? test : test.skip)('the InterCLR config trains 2 iterations with its hook (k-means init, online labels, saved memory)', () => {
  const wd = join(work, 'run');
  const r = runCli(['train', CONFIG, '--work-dir', wd, '--backend', 'wasm', '--seed', '0', '--cfg-options', ...OPTIONS], { timeoutMs: 240_000 });
  expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
  expect(r.status).toBe(0);
  const log = readFileSync(join(wd, readdirSync(wd).find((f) => f.endsWith('.log'))!), 'utf8');
  expect(log).toMatch(/k-means: 8 × 128 into 2 clusters/);
  expect(log).toMatch(/empty_num: 0\tmin_cluster: \d+\tmax_cluster: \d+/);
  const steps = [...log.matchAll(/Epoch \[1\]\[\d\/2\].*?intra_loss: ([\d.]+), inter_loss: ([\d.]+), change_ratio: ([\d.]+), loss: ([\d.]+)/g)];
  expect(steps).toHaveLength(2);
  for (const m of steps) {
    const [intra, inter, ratio, loss] = m.slice(1).map(Number);
    expect(intra).toBeGreaterThan(0);
    expect(inter).toBeGreaterThan(0);
    expect(ratio).toBeGreaterThanOrEqual(0);
    expect(ratio).toBeLessThanOrEqual(1);
    expect(loss).toBeCloseTo(intra + inter, 3);
  }
  expect(readNpy(join(wd, 'cluster_epoch_0.npy')).shape).toEqual([8]);
  const feats = readNpy(join(wd, 'feature_epoch_1.npy'));
  expect(feats.shape).toEqual([8, 128]);
  for (let r = 0; r < 8; r++) expect(Math.hypot(...feats.data.subarray(r * 128, (r + 1) * 128))).toBeCloseTo(1, 4);
  const labels = readNpy(join(wd, 'cluster_epoch_1.npy')).data;
  expect(new Set(labels).size).toBe(2);
  expect(existsSync(join(wd, 'epoch_1.ckpt'))).toBe(true);
}, 300_000);

(have ? test : test.skip).each([
  ['a memory bank longer than the data set', ['model.memory_bank.length=20'], /model\.memory_bank\.length is 20 but the training data set has 8 samples/],
  ['more clusters than samples', ['custom_hooks.0.clustering.k=10', 'model.memory_bank.num_classes=10', 'model.num_classes=10'], /num_classes \(10\) is larger than length \(8/],
  ['neg_num not below the memory size', ['model.neg_num=8'], /neg_num \(8\) must be smaller than memory_bank\.length \(8/],
])('InterCLR: %s is a one-line error, exit 2', (_what, opts, message) => {
  const r = runCli(['train', CONFIG, '--work-dir', join(work, 'bad'), '--backend', 'wasm', '--cfg-options', ...OPTIONS, ...opts], { timeoutMs: 120_000 });
  expect(r.status).toBe(2);
  const out = r.stdout + r.stderr;
  expect(out).not.toMatch(/^\s+at /m);
  const errors = out.split('\n').filter((l) => / - ERROR - |^Error/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
}, 150_000);

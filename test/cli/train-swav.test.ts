/**
 * MMSelfSup's SwAV config (2×224 + 6×96 multi-crop, SwAVHook, prototypes frozen by
 * optimizer_config.frozen_layers_cfg) builds with PyTorch's parameter counts and trains 2 iterations
 * unchanged on the synthetic source at 32/16-pixel crops with a ResNet-18 (--cfg-options), the queue
 * started at epoch 0; num_crops that do not match the views and crops_for_assign out of range are
 * one-line errors.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR, runCli } from '../helpers/run-cli.js';

const CFG = join(SHARED_DIR, 'data', 'mmselfsup-configs', 'selfsup', 'swav', 'swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py');
const SYNTHETIC = ['data.train.data_source.type=SyntheticShapes', 'data.train.data_source.ann_file=None', 'data.train.data_source.data_prefix=None', 'data.train.data_source.num_samples=8'];
const SMALL = [
  'data.samples_per_gpu=4', 'data.workers_per_gpu=0', 'runner.max_epochs=1', 'log_config.interval=1',
  'model.backbone.depth=18', 'model.neck.in_channels=512', 'model.neck.hid_channels=64', 'model.neck.out_channels=16',
  'model.head.feat_dim=16', 'model.head.num_prototypes=20', 'data.train.pipelines.0.0.size=32', 'data.train.pipelines.1.0.size=16',
  'custom_hooks.0.feat_dim=16', 'custom_hooks.0.batch_size=4', 'custom_hooks.0.queue_length=4', 'custom_hooks.0.epoch_queue_starts=0',
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ssl-swav-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const have = existsSync(CFG);

(have ? test : test.skip)('builds with count-params: ResNet-50 backbone, SwAVNeck, 3000 prototypes', () => {
  const r = runCli(['model', 'count-params', CFG, '--json'], { timeoutMs: 120_000 });
  expect(r.status).toBe(0);
  const parts = Object.fromEntries((JSON.parse(r.stdout).parts as { part: string; total: number }[]).map((p) => [p.part, p.total]));
  // torch: ResNet(50) 23,508,032; Linear(2048,2048) + BN1d(2048) + Linear(2048,128); Linear(128,3000,bias=False)
  expect(parts).toEqual({ backbone: 23_508_032, neck: 2048 * 2048 + 2048 + 2 * 2048 + 2048 * 128 + 128, head: 128 * 3000 });
}, 150_000);

(have ? test : test.skip)('trains 2 iterations on the synthetic source, queue on', () => {
  const wd = join(work, 'swav');
  const r = runCli(['train', CFG, '--work-dir', wd, '--backend', 'wasm', '--seed', '0', '--cfg-options', ...SYNTHETIC, ...SMALL], { timeoutMs: 240_000 });
  expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
  expect(r.status).toBe(0);
  const log = readFileSync(join(wd, readdirSync(wd).find((f) => f.endsWith('.log'))!), 'utf8');
  const losses = [...log.matchAll(/Epoch \[1\]\[\d\/2\].*?loss: ([\d.]+)/g)].map((m) => Number(m[1]));
  expect(losses).toHaveLength(2);
  expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
  expect(existsSync(join(wd, 'epoch_1.ckpt'))).toBe(true);
  expect(existsSync(join(wd, 'queue.pth'))).toBe(true);
}, 300_000);

(have ? test : test.skip).each([
  ['num_crops not matching the pipeline views', ['data.train.num_views=[2,2]'], /SwAV: model\.head\.num_crops \[2,6\] makes 8 crops but the data pipeline gives 4 views/],
  ['crops_for_assign out of range', ['model.head.crops_for_assign=[0,8]'], /SwAVHead: crops_for_assign \[0,8\] has 8, outside the 8 crops/],
])('%s is a one-line error, exit 2', (_what, opts, message) => {
  const r = runCli(['train', CFG, '--work-dir', join(work, 'bad'), '--backend', 'wasm', '--cfg-options', ...SYNTHETIC, ...SMALL, ...opts], { timeoutMs: 120_000 });
  expect(r.status).toBe(2);
  const out = r.stdout + r.stderr;
  expect(out).not.toMatch(/^\s+at /m);
  const errors = out.split('\n').filter((l) => / - ERROR - |^Error/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
}, 150_000);

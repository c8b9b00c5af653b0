/**
 * MMSelfSup's MoCo v3 config builds with PyTorch's parameter counts, trainable ones included (`ssl model
 * count-params`), and the DenseCL and MoCo v3 configs train 2 iterations unchanged on the synthetic source, with
 * small models chosen by --cfg-options.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR, runCli } from '../helpers/run-cli.js';

const DIR = join(SHARED_DIR, 'data', 'mmselfsup-configs', 'selfsup');
const DENSECL = join(DIR, 'densecl', 'densecl_resnet50_8xb32-coslr-200e_in1k.py');
const MOCOV3 = join(DIR, 'mocov3', 'mocov3_vit-small-p16_32xb128-fp16-coslr-300e_in1k-224.py');
const SYNTHETIC = ['data.train.data_source.type=SyntheticShapes', 'data.train.data_source.ann_file=None', 'data.train.data_source.data_prefix=None', 'data.train.data_source.num_samples=8'];
const SMALL = ['data.samples_per_gpu=4', 'data.workers_per_gpu=0', 'runner.max_epochs=1', 'log_config.interval=1'];

// torch: ResNet(50) 23,508,032; DenseCLNeck(2048, 2048, 128): 2 × (Linear/Conv1×1(2048, 2048) + (2048, 128), with biases)
// torch: mmcls ViT mocov3-small at 224/16: patch projection 295,296, cls token 384, pos_embed 197 × 384,
// 12 layers × 1,774,464, final LN 768; NonLinearNeck 384-4096-4096-256 (no biases, last BN without affine);
// predictor 256-4096-256
const VIT_S = 295_296 + 384 + 197 * 384 + 12 * 1_774_464 + 768;
const MOCOV3_NECK = 384 * 4096 + 2 * 4096 + 4096 * 4096 + 2 * 4096 + 4096 * 256;
const MOCOV3_HEAD = 256 * 4096 + 2 * 4096 + 4096 * 256;

const RUNS: [string, string, string[], RegExp][] = [
  [
    'DenseCL', DENSECL,
    ['model.backbone.depth=18', 'model.neck.in_channels=512', 'model.neck.hid_channels=64', 'model.neck.out_channels=16', 'model.feat_dim=16', 'model.queue_len=16', 'data.train.pipelines.0.0.size=32'],
    /loss_single: [\d.]+, loss_dense: [\d.]+, loss: ([\d.]+)/,
  ],
  [
    'MoCoV3', MOCOV3,
    [
      'model.backbone.img_size=32', 'model.backbone.arch=deit-tiny', 'model.neck.in_channels=192', 'model.neck.hid_channels=64', 'model.head.predictor.hid_channels=64',
      'data.train.pipelines.0.0.size=32', 'data.train.pipelines.1.0.size=32',
    ],
    /loss: ([\d.]+)/,
  ],
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ssl-densecl-mocov3-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

// DenseCL's counts are checked with every other selfsup config's in test/models/selfsup-param-counts.test.ts
(existsSync(MOCOV3) ? test : test.skip)('MoCo v3 builds with count-params: ViT-small (patch projection and pos_embed frozen), projector, predictor', () => {
  const r = runCli(['model', 'count-params', MOCOV3, '--json'], { timeoutMs: 120_000 });
  expect(r.status).toBe(0);
  const parts = JSON.parse(r.stdout).parts as { part: string; total: number; trainable: number }[];
  expect(Object.fromEntries(parts.map((p) => [p.part, [p.total, p.trainable]]))).toEqual({
    backbone: [VIT_S, VIT_S - 295_296 - 197 * 384],
    base_encoder: [VIT_S + MOCOV3_NECK, VIT_S + MOCOV3_NECK - 295_296 - 197 * 384],
    momentum_encoder: [VIT_S + MOCOV3_NECK, 0],
    head: [MOCOV3_HEAD, MOCOV3_HEAD],
  });
}, 150_000);

describe.each(RUNS)('%s', (name, cfg, extra, lossLine) => {
  (existsSync(cfg) ? test : test.skip)('trains 2 iterations on the synthetic source', () => {
    const wd = join(work, name);
    const r = runCli(['train', cfg, '--work-dir', wd, '--backend', 'wasm', '--seed', '0', '--cfg-options', ...SYNTHETIC, ...SMALL, ...extra], { timeoutMs: 240_000 });
    expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
    expect(r.status).toBe(0);
    const log = readFileSync(join(wd, readdirSync(wd).find((f) => f.endsWith('.log'))!), 'utf8');
    const losses = [...log.matchAll(new RegExp(`Epoch \\[1\\]\\[\\d/2\\].*?${lossLine.source}`, 'g'))].map((m) => Number(m[1]));
    expect(losses).toHaveLength(2);
    expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
    expect(existsSync(join(wd, 'epoch_1.ckpt'))).toBe(true);
  }, 300_000);
});

/** Issue 18: the seed's SimMIM configs and Swin fine-tuning configs build and train 2 iterations on the synthetic source at 64² (--cfg-options). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { runWorker } from '../../../src/runner/worker-main.js';
import { quiet, tempDir } from '../../runner/helpers.js';
import { runCli } from '../../helpers/run-cli.js';

const CONFIGS = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs');
const SEED = join(CONFIGS, 'selfsup', 'simmim');
const CLS = join(CONFIGS, 'benchmarks', 'classification', 'imagenet');

async function trainTwoIterations(file: string, opts: string[]): Promise<{ code: number; log: string }> {
  const cfg = loadConfig(file, { cfgOptions: opts }) as Record<string, any>;
  cfg.data.train.data_source = { type: 'SyntheticShapes', num_samples: 2 * cfg.data.samples_per_gpu, image_size: 72, num_classes: 4 };
  if (cfg.data.val) cfg.data.val.data_source = { type: 'SyntheticShapes', num_samples: 4, image_size: 72, num_classes: 4, seed: 1 };
  cfg.data.workers_per_gpu = 0;
  const dir = tempDir('ssl-simmim-cfg-');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
  const code = await quiet(() => runWorker(['--config', join(dir, 'cfg.json'), '--work-dir', join(dir, 'w'), '--backend', 'wasm', '--seed', '0']));
  const log = readdirSync(join(dir, 'w')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, 'w', f), 'utf8')).join('\n');
  return { code, log };
}

// a narrow Swin (embed_dims 16, two blocks per stage) at 64²: maps 16, 8, 4, 2 with 2×2 windows; the mask generator at 64² with 32-pixel mask patches
const NARROW_SWIN = [
  'model.backbone.arch._delete_=True', 'model.backbone.arch.embed_dims=16', 'model.backbone.arch.depths=[2,2,2,2]', 'model.backbone.arch.num_heads=[1,1,2,4]',
  'model.backbone.img_size=64', 'model.backbone.stage_cfgs.block_cfgs.window_size=2',
];
const SMALL_SIMMIM = [
  ...NARROW_SWIN, 'model.neck.in_channels=128',
  'data.samples_per_gpu=2', 'data.train.pipeline.0.size=64', 'data.train.pipeline.4.input_size=64', 'runner.max_epochs=1',
];

describe.each(readdirSync(SEED).filter((f) => f.endsWith('.py')))('selfsup/simmim/%s', (name) => {
  test('trains 2 iterations at 64² (a narrow Swin, window 2)', async () => {
    const { code, log } = await trainTwoIterations(join(SEED, name), SMALL_SIMMIM);
    expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
    expect(code).toBe(0);
  }, 120_000);
});

test('ssl train runs the config file unchanged with only --cfg-options (synthetic source, 2 iterations)', () => {
  const dir = tempDir('ssl-simmim-cli-');
  const synthetic = ['data.train.data_source._delete_=True', 'data.train.data_source.type=SyntheticShapes', 'data.train.data_source.num_samples=4', 'data.train.data_source.image_size=72'];
  const r = runCli(['train', join(SEED, 'simmim_swin-base_8xb256-coslr-100e_in1k-192.py'), '--work-dir', dir, '--backend', 'wasm', '--seed', '0',
    '--cfg-options', ...SMALL_SIMMIM, 'data.workers_per_gpu=0', ...synthetic], { timeoutMs: 110_000 });
  expect(r.stdout + r.stderr).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
  expect(r.status).toBe(0);
  expect(readdirSync(dir)).toContain('latest.ckpt');
}, 120_000);

// MMClsImageClassifierWrapper with mmcls.SwinTransformer, GlobalAveragePooling, LinearClsHead (label smoothing), Mixup/CutMix, RandomAug, layer decay
const SMALL_SWIN_FT = [
  ...NARROW_SWIN, 'model.head.in_channels=128', 'model.head.num_classes=4', 'model.train_cfg.augments.0.num_classes=4', 'model.train_cfg.augments.1.num_classes=4',
  'data.samples_per_gpu=4', 'data.train.pipeline.0.input_size=64', 'data.val.pipeline.0.size=72', 'data.val.pipeline.1.size=64', 'runner.max_epochs=1',
];

describe.each(readdirSync(CLS).filter((f) => f.startsWith('swin-') && f.endsWith('.py')))('benchmarks/classification/imagenet/%s', (name) => {
  test('fine-tunes 2 iterations at 64² (a narrow Swin, window 2)', async () => {
    const { code, log } = await trainTwoIterations(join(CLS, name), SMALL_SWIN_FT);
    expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
    expect(code).toBe(0);
  }, 120_000);
});

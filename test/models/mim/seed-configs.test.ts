/** Issue 18: the seed's MIM configs build and train 2 iterations on the synthetic source at a small size (--cfg-options). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { runWorker } from '../../../src/runner/worker-main.js';
import { quiet, tempDir } from '../../runner/helpers.js';

const SEED = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs');

/** Loads a seed config with `opts` as --cfg-options, swaps its data source for 2 batches of synthetic shapes, trains. */
export async function trainTwoIterations(file: string, opts: string[]): Promise<{ code: number; log: string }> {
  const cfg = loadConfig(file, { cfgOptions: opts }) as Record<string, any>;
  const size = cfg.data.train.data_source.image_size ?? 32;
  cfg.data.train.data_source = { type: 'SyntheticShapes', num_samples: 2 * cfg.data.samples_per_gpu, image_size: size, num_classes: 4 };
  if (cfg.data.val) cfg.data.val.data_source = { type: 'SyntheticShapes', num_samples: 4, image_size: size, num_classes: 4, seed: 1 };
  cfg.data.workers_per_gpu = 0;
  const dir = tempDir('ssl-mim-cfg-');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
  const code = await quiet(() => runWorker(['--config', join(dir, 'cfg.json'), '--work-dir', join(dir, 'w'), '--backend', 'wasm', '--seed', '0']));
  const log = readdirSync(join(dir, 'w')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, 'w', f), 'utf8')).join('\n');
  return { code, log };
}

const SMALL_MAE = [
  'model.backbone.img_size=32', 'model.backbone.arch=deit-tiny', 'model.neck.embed_dim=192', 'model.neck.decoder_embed_dim=32',
  'model.neck.decoder_depth=1', 'model.neck.decoder_num_heads=2', 'data.samples_per_gpu=2', 'data.train.pipeline.0.size=32', 'runner.max_epochs=1',
];

describe.each(readdirSync(join(SEED, 'selfsup', 'mae')).filter((f) => f.endsWith('.py')))('selfsup/mae/%s', (name) => {
  test('trains 2 iterations at 32² (ViT deit-tiny, 1-block decoder)', async () => {
    const { code, log } = await trainTwoIterations(join(SEED, 'selfsup', 'mae', name), SMALL_MAE);
    expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
    expect(code).toBe(0);
  }, 120_000);
});

const CLS = join(SEED, 'benchmarks', 'classification', 'imagenet');
const SMALL_CLS = ['model.backbone.img_size=32', 'model.head.num_classes=4', 'data.samples_per_gpu=4', 'data.val.pipeline.0.size=36', 'data.val.pipeline.1.size=32', 'runner.max_epochs=1'];
const SMALL_FT = [
  ...SMALL_CLS, 'model.backbone.arch=deit-tiny', 'model.head.embed_dim=192', 'model.train_cfg.augments.0.num_classes=4', 'model.train_cfg.augments.1.num_classes=4',
  'data.train.pipeline.0.input_size=32',
];

describe.each([
  ['vit-base-p16_ft-8xb128-coslr-100e_in1k.py', SMALL_FT],
  ['vit-base-p16_ft-8xb256-coslr-100e_in1k.py', SMALL_FT],
  ['vit-small-p16_linear-8xb128-coslr-90e_in1k.py', [...SMALL_CLS, 'data.train.pipeline.0.size=32']],
])('benchmarks/classification/imagenet/%s', (name, opts) => {
  test('trains 2 iterations at 32²', async () => {
    const { code, log } = await trainTwoIterations(join(CLS, name), opts);
    expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
    expect(code).toBe(0);
  }, 120_000);
});

/** Issue 18: the seed's MaskFeat and CAE configs build and train 2 iterations on the synthetic source at 32² (--cfg-options). */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { runWorker } from '../../../src/runner/worker-main.js';
import { quiet, tempDir } from '../../runner/helpers.js';

const SEED = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs', 'selfsup');

async function trainTwoIterations(file: string, opts: string[], edit: (cfg: Record<string, any>) => void = () => {}): Promise<{ code: number; log: string }> {
  const cfg = loadConfig(file, { cfgOptions: opts }) as Record<string, any>;
  cfg.data.train.data_source = { type: 'SyntheticShapes', num_samples: 2 * cfg.data.samples_per_gpu, image_size: 40, num_classes: 4 };
  cfg.data.workers_per_gpu = 0;
  edit(cfg);
  const dir = tempDir('ssl-mim-cfg-');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
  const code = await quiet(() => runWorker(['--config', join(dir, 'cfg.json'), '--work-dir', join(dir, 'w'), '--backend', 'wasm', '--seed', '0']));
  const log = readdirSync(join(dir, 'w')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, 'w', f), 'utf8')).join('\n');
  return { code, log };
}

const SMALL_MASKFEAT = [
  'model.backbone.img_size=32', 'model.backbone.arch=deit-tiny', 'model.head.embed_dim=192', 'data.samples_per_gpu=2', 'data.train.pipeline.0.size=32',
  'data.train.pipeline.4.mask_window_size=2', 'data.train.pipeline.4.min_num_patches=1', 'runner.max_epochs=1',
];

describe.each(readdirSync(join(SEED, 'maskfeat')).filter((f) => f.endsWith('.py')))('selfsup/maskfeat/%s', (name) => {
  test('trains 2 iterations at 32² (ViT deit-tiny, 2×2 patches, HOG of 8² cells)', async () => {
    const { code, log } = await trainTwoIterations(join(SEED, 'maskfeat', name), SMALL_MASKFEAT);
    expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
    expect(code).toBe(0);
  }, 120_000);
});

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

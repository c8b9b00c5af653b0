/** A sweep whose train stage runs the online kNN monitor (issue 19) takes knn.top1/top5 from the training log. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runWorker } from '../../src/runner/worker-main.js';
import { planSweep } from '../../src/sweep/driver.js';
import { newestJsonLog, trainLogMetrics } from '../../src/sweep/stages.js';
import { quiet, tempDir, TINY_SIMCLR, writeConfig } from '../runner/helpers.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

test('train-only sweeps may list knn.top1 (the monitor yields it); other eval metrics still need their stage', () => {
  const spec = planSweep({ file: sweepDir({ ...SMOKE, configs: [SIMCLR], stages: ['train'], metrics: ['knn.top1', 'knn.top5', 'loss'] }).file, trainFlags: ['gpus', 'seed'] }).spec;
  expect(spec.metrics).toEqual(['knn.top1', 'knn.top5', 'loss']);
  expect(() => planSweep({ file: sweepDir({ ...SMOKE, configs: [SIMCLR], stages: ['train'], metrics: ['linear.top1'] }).file, trainFlags: ['gpus'] })).toThrow(/comes from the eval linear stage/);
});

test('trainLogMetrics: the last kNN monitor evaluation of the run, beside loss and images/s', async () => {
  const dir = tempDir('ssl-sweep-knn-');
  const split = (seed: number, n: number) => ({ type: 'SingleViewDataset', data_source: { type: 'SyntheticShapes', num_samples: n, image_size: 8, num_classes: 4, seed }, pipeline: [{ type: 'ToTensor' }] });
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    c.data.samples_per_gpu = 4;
    c.data.train.data_source.image_size = 8;
    c.data.train.pipelines[0][0].size = 8;
    c.model.backbone.base_channels = 4;
    c.model.backbone.stem_channels = 4;
    c.model.neck.in_channels = 32;
    c.runner.max_epochs = 2;
    c.evaluation = { type: 'knn', k: 3, data: { train: split(3, 12), val: split(7, 8), samples_per_gpu: 4 } };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--seed', '0', '--backend', 'wasm']))).toBe(0);
  const m = trainLogMetrics(w);
  expect(m.loss).toBeGreaterThan(0);
  expect(m.images_per_s).toBeGreaterThan(0);
  // two evaluations (epochs 1 and 2): the last one is reported
  const val = readFileSync(newestJsonLog(w)!, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.mode === 'val');
  expect(val.map((r) => r.epoch)).toEqual([1, 2]);
  expect(m['knn.top1']).toBe(val[1]['knn.top1']);
  expect(m['knn.top1']! % 12.5).toBe(0);
  expect(m['knn.top5']).toBeGreaterThanOrEqual(m['knn.top1']!);
}, 120_000);

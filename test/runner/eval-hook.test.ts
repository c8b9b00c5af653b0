/** Issue 24, item 5: evaluation = dict(...) runs MMSelfSup's EvalHook: top-k on data.val for Classification, kNN otherwise. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDataLoader, buildDataset } from '../../src/data/index.js';
import { tf } from '../../src/engine/tf.js';
import { evaluateKnn } from '../../src/eval/knn.js';
import { buildModel } from '../../src/models/index.js';
import type { Classification } from '../../src/models/algorithms/classification.js';
import { layoutsOf, readCheckpoint } from '../../src/runner/checkpoint.js';
import { topkCorrect } from '../../src/runner/evaluation.js';
import { EvalHook } from '../../src/runner/hooks/eval-hook.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

function logText(d: string): string {
  return readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

const source = (seed: number, n: number) => ({ type: 'SyntheticShapes', num_samples: n, image_size: 8, num_classes: 4, seed });

/** A linear-evaluation-style Classification run on synthetic 8x8 shapes (4 classes). */
function classificationCfg(evaluation: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: {
      type: 'Classification',
      backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 4, stem_channels: 4, in_channels: 3, out_indices: [4], norm_cfg: { type: 'BN' } },
      head: { type: 'ClsHead', with_avg_pool: true, in_channels: 32, num_classes: 4 },
    },
    data: {
      samples_per_gpu: 8,
      workers_per_gpu: 0,
      train: { type: 'SingleViewDataset', data_source: source(0, 16), pipeline: [{ type: 'ToTensor' }] },
      val: { type: 'SingleViewDataset', data_source: source(1, 12), pipeline: [{ type: 'ToTensor' }] },
    },
    optimizer: { type: 'SGD', lr: 0.5, momentum: 0.9 },
    optimizer_config: {},
    runner: { type: 'EpochBasedRunner', max_epochs: 3 },
    checkpoint_config: { interval: 1 },
    log_config: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
    ...(evaluation ? { evaluation } : {}),
    ...extra,
  };
}

test('topkCorrect counts labels among the k best scores', () => {
  const scores = Float32Array.from([0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.3, 0.3, 0.4]);
  expect(topkCorrect(scores, 3, [1, 2, 0], [1, 2])).toEqual([1, 2]);
});

test('shouldEvaluate follows mmcv: every interval, or from start on', () => {
  const every2 = new EvalHook({ interval: 2 }, async () => ({ results: {}, batches: 0 }));
  expect([1, 2, 3, 4].map((e) => every2.shouldEvaluate(e))).toEqual([false, true, false, true]);
  const from3 = new EvalHook({ interval: 2, start: 3 }, async () => ({ results: {}, batches: 0 }));
  expect([1, 2, 3, 4, 5].map((e) => from3.shouldEvaluate(e))).toEqual([false, false, true, false, true]);
  expect(() => new EvalHook({ interval: 0 }, async () => ({ results: {}, batches: 0 }))).toThrow(/evaluation.interval must be a positive integer/);
});

describe('Classification: top-1/top-5 on data.val', () => {
  const dir = tempDir('ssl-eval-');
  const w = join(dir, 'w');
  let code: number;
  beforeAll(async () => {
    const cfg = join(dir, 'cls.json');
    writeFileSync(cfg, JSON.stringify(classificationCfg({ interval: 1, save_best: 'auto' })));
    code = await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--seed', '0', '--backend', 'wasm']));
  }, 120_000);

  test('logged every epoch as MMSelfSup does (Epoch(val) [e][batches]), also in the JSON log', () => {
    expect(code).toBe(0);
    const log = logText(w);
    for (const e of [1, 2, 3]) expect(log).toMatch(new RegExp(`Epoch\\(val\\) \\[${e}\\]\\[2\\]\\thead4_top1: [0-9.]+, head4_top5: 100`));
    expect(log).toContain('(LOW         ) EvalHook');
    const json = readdirSync(w).find((f) => f.endsWith('.log.json'))!;
    const val = readFileSync(join(w, json), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.mode === 'val');
    expect(val.map((l) => [l.epoch, l.iter])).toEqual([[1, 2], [2, 2], [3, 2]]);
  });

  test('the logged top-1 is the accuracy of that epoch\'s weights on data.val (computed here independently)', async () => {
    const log = logText(w);
    const logged = Number(/Epoch\(val\) \[3\]\[2\]\thead4_top1: ([0-9.]+)/.exec(log)![1]);
    const c = classificationCfg(undefined) as Record<string, any>;
    const model = buildModel(c.model) as Classification;
    const ck = await readCheckpoint(join(w, 'epoch_3.ckpt'), layoutsOf(model));
    model.loadStateDict(ck.stateDict);
    ck.dispose();
    model.eval();
    const ds = await buildDataset(c.data.val);
    const loader = buildDataLoader(ds, { samplesPerGpu: 5, shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1, log: () => {} });
    let right = 0;
    let n = 0;
    for await (const b of loader.epoch(0)) {
      const pred = tf.tidy(() => tf.argMax(model.head.forward(model.extractFeat(tf.tensor(b.views[0].data, [...b.views[0].shape], 'float32')))[0], 1));
      const p = pred.dataSync();
      pred.dispose();
      for (let i = 0; i < b.labels!.length && n < ds.length; i++, n++) if (p[i] === b.labels![i]) right++;
    }
    await loader.close();
    expect(n).toBe(12);
    expect(logged).toBeCloseTo((right * 100) / 12, 3);
  });

  test('save_best keeps one best_head4_top1_epoch_<e>.ckpt and logs the best score', () => {
    const best = readdirSync(w).filter((f) => f.startsWith('best_'));
    expect(best).toHaveLength(1);
    expect(best[0]).toMatch(/^best_head4_top1_epoch_[123]\.ckpt$/);
    const log = logText(w);
    expect(log).toContain(`Now best checkpoint is saved as ${best[0]}.`);
    expect(log).toMatch(/Best head4_top1 is [0-9.]+ at 3 epoch\./);
  });
});

test('Classification without data.val: exit 2, one line saying so', async () => {
  const dir = tempDir();
  const c = classificationCfg({ interval: 1 }) as Record<string, any>;
  delete c.data.val;
  const cfg = join(dir, 'cls.json');
  writeFileSync(cfg, JSON.stringify(c));
  const w = join(dir, 'w');
  const r = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']));
  expect(r.result).toBe(2);
  expect(r.out).toContain('ERROR - evaluation of a Classification model needs data.val');
  expect(existsSync(join(w, 'epoch_1.ckpt'))).toBe(false);
});

test('a self-supervised model: kNN at the interval, equal to ssl eval knn on that checkpoint', async () => {
  const dir = tempDir();
  const cfgPath = writeConfig(dir, TINY_SIMCLR, (c) => {
    c.data.samples_per_gpu = 4;
    c.data.train.data_source.num_samples = 8;
    c.data.train.data_source.image_size = 8;
    c.data.train.pipelines[0][0].size = 8;
    c.model.backbone.base_channels = 4;
    c.model.backbone.stem_channels = 4;
    c.model.neck.in_channels = 32;
    c.runner.max_epochs = 2;
    c.evaluation = { interval: 2 };
    c.knn = { k: 3, temperature: 0.1, samples_per_gpu: 4 };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfgPath, '--work-dir', w, '--seed', '0', '--backend', 'wasm']))).toBe(0);
  const log = logText(w);
  expect(log).not.toMatch(/Epoch\(val\) \[1\]/);
  const m = /Epoch\(val\) \[2\]\[2\]\tknn_top1: ([0-9.]+), knn_top5: ([0-9.]+)/.exec(log);
  expect(m).not.toBeNull();
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  const r = await evaluateKnn(cfg, { checkpoint: join(w, 'epoch_2.ckpt'), backend: 'wasm' });
  expect(Number(m![1])).toBeCloseTo(r.top1, 3);
  expect(Number(m![2])).toBeCloseTo(r.top5, 3);
}, 120_000);

describe("workflow [['train', 1], ['val', 1]]", () => {
  test('each val epoch logs the losses of data.val (train pipeline, eval mode, no gradients): equal to that epoch\'s weights computed here', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'cls.json');
    writeFileSync(cfg, JSON.stringify(classificationCfg(undefined, { workflow: [['train', 1], ['val', 1]] })));
    const w = join(dir, 'w');
    expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--seed', '0', '--backend', 'wasm']))).toBe(0);
    const log = logText(w);
    const lines = log.split('\n').filter((l) => l.includes('Epoch(val)'));
    expect(lines).toHaveLength(3);
    const m = /Epoch\(val\) \[1\]\[2\]\tloss: ([0-9.]+), acc: ([0-9.]+)/.exec(lines[0]);
    expect(m).not.toBeNull();
    expect(log).toMatch(/before_val_epoch:\n[^\n]*TextLoggerHook/);

    const c = classificationCfg(undefined) as Record<string, any>;
    const model = buildModel(c.model) as Classification;
    const ck = await readCheckpoint(join(w, 'epoch_1.ckpt'), layoutsOf(model));
    model.loadStateDict(ck.stateDict);
    ck.dispose();
    model.eval();
    const ds = await buildDataset(c.data.val);
    const loader = buildDataLoader(ds, { samplesPerGpu: 12, shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1, log: () => {} });
    let loss = 0;
    for await (const b of loader.epoch(0)) {
      const l = tf.tidy(() => model.head.loss(model.head.forward(model.extractFeat(tf.tensor(b.views[0].data, [...b.views[0].shape], 'float32'))), tf.tensor1d(b.labels!, 'int32')).loss);
      loss = l.dataSync()[0];
      l.dispose();
    }
    await loader.close();
    expect(Number(m![1])).toBeCloseTo(loss, 3);
  }, 120_000);

  test('a val entry without data.val, or with IterBasedRunner: exit 2, one line', async () => {
    const dir = tempDir();
    const noVal = classificationCfg(undefined, { workflow: [['train', 1], ['val', 1]] }) as Record<string, any>;
    delete noVal.data.val;
    writeFileSync(join(dir, 'a.json'), JSON.stringify(noVal));
    const a = await captured(() => runWorker(['--config', join(dir, 'a.json'), '--work-dir', join(dir, 'a'), '--backend', 'wasm']));
    expect(a.result).toBe(2);
    expect(a.out).toContain('ERROR - workflow has a val entry, which needs data.val');
    const iter = classificationCfg(undefined, { workflow: [['train', 1], ['val', 1]], runner: { type: 'IterBasedRunner', max_iters: 2 } });
    writeFileSync(join(dir, 'b.json'), JSON.stringify(iter));
    const b = await captured(() => runWorker(['--config', join(dir, 'b.json'), '--work-dir', join(dir, 'b'), '--backend', 'wasm']));
    expect(b.result).toBe(2);
    expect(b.out).toContain('ERROR - workflow mode "val" is supported with EpochBasedRunner; with IterBasedRunner use evaluation = dict(interval=N)');
  });
});

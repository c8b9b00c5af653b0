/** Issue 19: the online kNN monitor, evaluation = dict(type='knn', interval, k, data, by_epoch). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDataset } from '../../src/data/index.js';
import { evenlySpaced, SubsetDataset } from '../../src/data/datasets/wrappers.js';
import { evaluateKnn } from '../../src/eval/knn.js';
import { knnMonitorSettings } from '../../src/eval/knn-monitor.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { runCli } from '../helpers/run-cli.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

const NORM = { type: 'Normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const split = (seed: number, n: number) => ({
  type: 'SingleViewDataset',
  data_source: { type: 'SyntheticShapes', num_samples: n, image_size: 8, num_classes: 4, seed },
  pipeline: [{ type: 'ToTensor' }, NORM],
});
const MONITOR = { train: split(3, 12), val: split(7, 10), samples_per_gpu: 4, num_train: null, num_val: null };

/** Tiny SimCLR on 16 synthetic 8x8 images, batch 4: 4 iterations an epoch. */
function monitoredConfig(dir: string, evaluation: Record<string, unknown>, extra: (c: Record<string, any>) => void = () => {}): string {
  return writeConfig(dir, TINY_SIMCLR, (c) => {
    c.data.samples_per_gpu = 4;
    c.data.train.data_source.image_size = 8;
    c.data.train.pipelines[0][0].size = 8;
    c.model.backbone.base_channels = 4;
    c.model.backbone.stem_channels = 4;
    c.model.neck.in_channels = 32;
    c.runner.max_epochs = 2;
    c.log_config = { interval: 1, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] };
    c.evaluation = evaluation;
    extra(c);
  });
}

const logText = (d: string) => readdirSync(d).filter((f) => /^\d.*\.log$/.test(f)).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
const jsonLog = (d: string) => readFileSync(join(d, readdirSync(d).find((f) => f.endsWith('.log.json'))!), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** Scalars of a TensorBoard event file: [tag, step, value] (Event: step = field 2; summary.value: tag 1, simple_value 2). */
function scalars(path: string): [string, number, number][] {
  const buf = readFileSync(path);
  const out: [string, number, number][] = [];
  const varint = (b: Buffer, p: number): [number, number] => {
    let v = 0;
    let s = 0;
    for (;;) {
      const x = b[p++];
      v += (x & 0x7f) * 2 ** s;
      s += 7;
      if (!(x & 0x80)) return [v, p];
    }
  };
  for (let off = 0; off < buf.length;) {
    const len = Number(buf.readBigUInt64LE(off));
    const ev = buf.subarray(off + 12, off + 12 + len);
    off += 16 + len;
    let step = 0;
    for (let p = 0; p < ev.length;) {
      const [key, q] = varint(ev, p);
      p = q;
      const field = key >> 3;
      const wire = key & 7;
      if (wire === 1) p += 8;
      else if (wire === 0) [step, p] = field === 2 ? varint(ev, p) : [step, varint(ev, p)[1]];
      else if (wire === 2) {
        const [l, r] = varint(ev, p);
        const body = ev.subarray(r, r + l);
        p = r + l;
        if (field !== 5) continue;
        // summary { value { tag, simple_value } }
        const [vl, vr] = varint(body, 1);
        const value = body.subarray(vr, vr + vl);
        const [tl, tr] = varint(value, 1);
        out.push([value.subarray(tr, tr + tl).toString(), step, value.readFloatLE(tr + tl + 1)]);
      }
    }
  }
  return out;
}

test('evenly spaced subsets: indices spread over the split, labels and items of the picked images', async () => {
  expect(evenlySpaced(10, 4)).toEqual([0, 2, 5, 7]);
  expect(evenlySpaced(3, 5)).toEqual([0, 1, 2]);
  const d = await buildDataset(split(1, 10));
  const s = new SubsetDataset(d, [9, 2]);
  expect(s.length).toBe(2);
  expect(s.getLabel(0)).toBe(d.getLabel(9));
  expect(() => new SubsetDataset(d, [10])).toThrow(/index 10 is outside the dataset \(10 items\)/);
});

test('settings: k/temperature/batch from the key, then the config\'s knn section; bank/queries default to 10,000 / 2,000', () => {
  const cfg = { evaluation: { type: 'knn', k: 7 }, knn: { temperature: 0.2, samples_per_gpu: 64, train: split(0, 4), val: split(1, 4) } };
  expect(knnMonitorSettings(cfg)).toMatchObject({ k: 7, temperature: 0.2, batchSize: 64, numTrain: 10000, numVal: 2000, train: split(0, 4) });
  expect(knnMonitorSettings({ ...cfg, evaluation: { type: 'knn', data: MONITOR } })).toMatchObject({ k: 20, numTrain: null, numVal: null, batchSize: 4, val: split(7, 10) });
  expect(() => knnMonitorSettings({ ...cfg, evaluation: { type: 'knn', intervall: 2 } })).toThrow(/does not accept the argument "intervall"; did you mean interval\?/);
  expect(() => knnMonitorSettings({ ...cfg, evaluation: { type: 'knn', data: { train: split(0, 4) } } })).toThrow(/needs both train \(the bank\) and val/);
  expect(() => knnMonitorSettings({ ...cfg, evaluation: { type: 'knn', data: { num_val: 0 } } })).toThrow(/evaluation.data.num_val must be a positive integer/);
});

describe('by iteration (by_epoch false in an EpochBasedRunner): interval 3 of 8 iterations', () => {
  const dir = tempDir('ssl-knnmon-');
  const w = join(dir, 'w');
  let cfgPath: string;
  beforeAll(async () => {
    cfgPath = monitoredConfig(dir, { type: 'knn', interval: 3, by_epoch: false, k: 3, temperature: 0.1, data: MONITOR }, (c) => {
      c.checkpoint_config = { interval: 3, by_epoch: false };
    });
    expect(await quiet(() => runWorker(['--config', cfgPath, '--work-dir', w, '--seed', '0', '--backend', 'wasm']))).toBe(0);
  }, 180_000);

  test('knn.top1/top5 logged right after iterations 3 and 6, in its own line (text and JSON logs)', () => {
    const lines = logText(w).split('\n').filter((l) => /Epoch\(val\) \[|\/4\]/.test(l));
    const order = lines.map((l) => (l.includes('Epoch(val)') ? 'val' : /\[(\d)\/4\]/.exec(l)![1] + '@' + /Epoch \[(\d)\]/.exec(l)![1]));
    // epoch 1: iterations 1..4, epoch 2: 5..8 (inner 1..4); iteration 3 = [3/4]@1, 6 = [2/4]@2
    expect(order).toEqual(['1@1', '2@1', '3@1', 'val', '4@1', '1@2', '2@2', 'val', '3@2', '4@2']);
    expect(lines.filter((l) => l.includes('Epoch(val)')).every((l) => /\tknn\.top1: [\d.]+, knn\.top5: [\d.]+$/.test(l))).toBe(true);
    const val = jsonLog(w).filter((l) => l.mode === 'val');
    expect(val).toHaveLength(2);
    // iter: the evaluation's batches (mmcv's eval_iter_num): 10 queries in batches of 4
    expect(val.every((l) => l.iter === 3 && typeof l['knn.top1'] === 'number' && l.loss === undefined)).toBe(true);
    expect(logText(w)).toContain('Epoch [1] mean loss: ');
    expect(logText(w)).toMatch(/mean loss: [\d.]+ over 4 iterations/);
  });

  test('TensorBoard: val/knn.top1 and val/knn.top5 at steps 3 and 6; the training scalars stay train/', () => {
    const tb = join(w, 'tf_logs');
    const s = scalars(join(tb, readdirSync(tb)[0]));
    expect(s.filter(([t]) => t.startsWith('val/')).map(([t, step]) => `${t}@${step}`)).toEqual(['val/knn.top1@3', 'val/knn.top5@3', 'val/knn.top1@6', 'val/knn.top5@6']);
    expect(s.some(([t]) => t === 'train/loss')).toBe(true);
    const logged = jsonLog(w).filter((l) => l.mode === 'val');
    expect(s.filter(([t]) => t === 'val/knn.top1').map(([, , v]) => v)).toEqual(logged.map((l) => Math.fround(l['knn.top1'])).map((v) => expect.closeTo(v, 3)));
  });

  test('the accuracy is ssl eval knn\'s on that iteration\'s weights and the same images', async () => {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.knn = { k: 3, temperature: 0.1, samples_per_gpu: 4, train: MONITOR.train, val: MONITOR.val };
    const val = jsonLog(w).filter((l) => l.mode === 'val');
    for (const [i, it] of [[0, 3], [1, 6]] as const) {
      const r = await evaluateKnn(cfg, { checkpoint: join(w, `iter_${it}.ckpt`), backend: 'wasm' });
      expect(val[i]['knn.top1']).toBeCloseTo(r.top1, 3);
      expect(val[i]['knn.top5']).toBeCloseTo(r.top5, 3);
    }
  }, 60_000);
});

test('by epoch (the runner\'s default): every interval epochs, on the evenly spaced subsets it names', async () => {
  const dir = tempDir('ssl-knnmon-');
  const w = join(dir, 'w');
  const cfgPath = monitoredConfig(dir, { type: 'knn', k: 3, data: { ...MONITOR, num_train: 5, num_val: 4 } });
  const r = await captured(() => runWorker(['--config', cfgPath, '--work-dir', w, '--seed', '0', '--backend', 'wasm']));
  expect(r.result).toBe(0);
  expect(r.out).toContain('kNN monitor: bank 5 images, queries 4, k 3, T 0.07');
  const val = jsonLog(w).filter((l) => l.mode === 'val');
  expect(val.map((l) => [l.epoch, l.iter])).toEqual([[1, 1], [2, 1]]);
  // 4 queries: accuracy is a multiple of 25 %
  expect(val.every((l) => l['knn.top1'] % 25 === 0)).toBe(true);
}, 120_000);

test('bad input: an unknown evaluation type or key is one line, exit 2, before training', async () => {
  const dir = tempDir('ssl-knnmon-');
  for (const [ev, msg] of [
    [{ type: 'kmeans' }, /evaluation.type must be 'knn' \(the online kNN monitor\), or left out for MMSelfSup's EvalHook; got "kmeans"/],
    [{ type: 'knn', k: 3, tempreature: 0.1 }, /does not accept the argument "tempreature"; did you mean temperature\?/],
  ] as const) {
    const r = await captured(() => runWorker(['--config', monitoredConfig(dir, ev), '--work-dir', join(dir, 'w'), '--backend', 'wasm']));
    expect(r.result).toBe(2);
    expect(r.out).toMatch(msg);
  }
}, 60_000);

test('2 ranks (--launcher local): rank 0 evaluates, rank 1 waits; the value is the kNN of the weights at that iteration', () => {
  const dir = tempDir('ssl-knnmon-');
  const w = join(dir, 'w');
  const cfgPath = monitoredConfig(dir, { type: 'knn', interval: 2, by_epoch: false, k: 3, temperature: 0.1, data: MONITOR }, (c) => {
    c.data.samples_per_gpu = 2;
    c.runner.max_epochs = 1;
    c.checkpoint_config = { interval: 2, by_epoch: false };
  });
  const r = runCli(['train', cfgPath, '--work-dir', w, '--backend', 'wasm', '--seed', '0', '--launcher', 'local', '--gpus', '2'], { timeoutMs: 240_000 });
  if (r.status !== 0) throw new Error(`${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  const val = jsonLog(w).filter((l) => l.mode === 'val');
  expect(val).toHaveLength(2);
  const rank1 = readFileSync(join(w, readdirSync(w).find((f) => f.endsWith('.rank1.log'))!), 'utf8');
  expect(rank1).not.toMatch(/knn\.top1|kNN monitor/);
  expect(logText(w)).toContain('kNN monitor: 12 + 10 images in ');
  expect(rank1).toMatch(/Epoch \[1\]\[4\/4\]/);
  return evaluateKnn({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), knn: { k: 3, temperature: 0.1, samples_per_gpu: 4, train: MONITOR.train, val: MONITOR.val } }, { checkpoint: join(w, 'iter_4.ckpt'), backend: 'wasm' }).then((k) => {
    expect(val[1]['knn.top1']).toBeCloseTo(k.top1, 3);
  });
}, 300_000);

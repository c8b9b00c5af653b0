/**
 * DeepClusterHook on a small synthetic set with a real DeepCluster model, DeepClusterDataset and
 * loader: features are clustered into pseudo-labels the dataset yields, the labels are saved as
 * .npy, the classifier is re-initialised, the loss re-weighted, the next epoch sampled uniformly
 * over clusters; bad configs are one-line errors.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { ConfigError } from '../../src/errors.js';
import { buildDataLoader, buildDataset, DistributedSampler } from '../../src/data/index.js';
import type { DeepClusterDataset } from '../../src/data/datasets/views.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { buildModel } from '../../src/models/index.js';
import type { DeepCluster } from '../../src/models/algorithms/deepcluster.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { HOOKS } from '../../src/runner/hooks/index.js';
import type { DeepClusterHook } from '../../src/runner/hooks/deepcluster-hook.js';
import { Extractor } from '../../src/runner/hooks/extractor.js';
import { ranksInProcess } from '../helpers/ranks-in-process.js';
import { tempDir } from './helpers.js';

const N = 12;
const K = 3;
const source = { type: 'SyntheticShapes', num_samples: N, image_size: 16, num_classes: 3 };
const dataset = { type: 'DeepClusterDataset', data_source: source, pipeline: [{ type: 'ToTensor' }] };
const hookCfg = (extra: Record<string, unknown> = {}) => ({
  type: 'DeepClusterHook',
  extractor: { dataset, samples_per_gpu: 5, workers_per_gpu: 0 },
  clustering: { type: 'Kmeans', k: K, pca_dim: 4 },
  unif_sampling: true,
  reweight: true,
  reweight_pow: 0.5,
  ...extra,
});
const model = () =>
  buildModel({
    type: 'DeepCluster',
    backbone: { type: 'ResNet_CIFAR', depth: 18, in_channels: 2, stem_channels: 4, base_channels: 2, out_indices: [4] },
    neck: { type: 'AvgPool2dNeck' },
    head: { type: 'ClsHead', with_avg_pool: false, in_channels: 16, num_classes: K },
  }) as unknown as DeepCluster;

let work: string;
beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
  work = tempDir('ssl-dc-hook-');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function setup(extra: Record<string, unknown> = {}) {
  manualSeed(0);
  const m = model();
  const ds = (await buildDataset(dataset)) as DeepClusterDataset;
  const loader = buildDataLoader(ds, { samplesPerGpu: 4, shuffle: true, seed: 0 });
  const logs: string[] = [];
  const runner = { model: m, dataLoaders: [loader], dist: singleProcessContext(), rank: 0, worldSize: 1, workDir: work, epoch: 0, logger: { info: (s: string) => logs.push(s) } };
  const hook = HOOKS.build(hookCfg(extra)) as DeepClusterHook;
  return { m, ds, loader, runner: runner as unknown as BaseRunner, hook, logs };
}

test('before the run: pseudo-labels from k-means reach the batches, are saved as .npy, and re-weight the loss', async () => {
  const { m, ds, loader, runner, hook, logs } = await setup();
  expect([...ds.clusteringLabels]).toEqual(new Array(N).fill(-1));
  const fcBefore = m.head.fcCls.weight.dataSync().slice();
  await hook.beforeRun(runner);
  const labels = [...ds.clusteringLabels];
  expect(labels.every((l) => l >= 0 && l < K)).toBe(true);
  expect(new Set(labels).size).toBeGreaterThan(1);
  // np.save of int64: the labels after the 128-byte header
  const npy = readFileSync(join(work, 'cluster_epoch_0.npy'));
  expect(npy.subarray(1, 6).toString()).toBe('NUMPY');
  expect([...new BigInt64Array(npy.buffer.slice(npy.byteOffset + npy.length - 8 * N, npy.byteOffset + npy.length))].map(Number)).toEqual(labels);
  expect(logs.some((l) => /empty_num: 0\tmin_cluster: \d+\tmax_cluster:\d+/.test(l))).toBe(true);
  // set_reweight: (count + 1e-10)^-0.5, normalised
  const hist = [0, 1, 2].map((c) => labels.filter((l) => l === c).length);
  const inv = hist.map((h) => 1 / Math.sqrt(h + 1e-10));
  hist.forEach((_, c) => expect(m.lossWeight[c]).toBeCloseTo(inv[c] / inv.reduce((a, b) => a + b), 5));
  // the classifier was re-initialised (Normal std 0.01), not kept
  expect(m.head.fcCls.weight.dataSync()).not.toEqual(fcBefore);
  // the batches of the next epoch carry the labels
  const seen = new Map<number, number>();
  for await (const b of loader.epoch(0)) b.idx.forEach((i, j) => seen.set(i, (b.pseudo_label as Int32Array)[j]));
  expect(seen.size).toBeGreaterThan(0);
  for (const [i, l] of seen) expect(l).toBe(labels[i]);
});

test('after an epoch every `interval` epochs the features are clustered again; initial=false skips the start', async () => {
  const { ds, runner, hook } = await setup({ initial: false, interval: 2 });
  await hook.beforeRun(runner);
  expect(ds.clusteringLabels.every((l) => l === -1)).toBe(true);
  await hook.afterTrainEpoch(runner); // epoch 0: (0 + 1) % 2 != 0
  expect(ds.clusteringLabels.every((l) => l === -1)).toBe(true);
  (runner as { epoch: number }).epoch = 1;
  await hook.afterTrainEpoch(runner);
  expect(ds.clusteringLabels.every((l) => l >= 0)).toBe(true);
});

test('unif_sampling: one epoch draws every cluster about equally (small ones repeated), then shuffling resumes', () => {
  const s = new DistributedSampler(N, { seed: 0 });
  const labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2];
  s.setUniformIndices(labels, K, 0);
  const idx = s.indices(1);
  expect(idx).toHaveLength(N);
  const counts = [0, 1, 2].map((c) => idx.filter((i) => labels[i] === c).length);
  // floor(12 / 3) + 1 = 5 draws per cluster, shuffled, the first 12 kept: at least 2 of each
  counts.forEach((c) => expect(c).toBeGreaterThanOrEqual(2));
  expect(counts[1] + counts[2]).toBeGreaterThanOrEqual(6);
  expect(new Set(idx.filter((i) => labels[i] === 0)).size).toBe(counts[0]); // the large cluster without replacement
  expect(new Set(s.indices(2)).size).toBe(N);
});

test('bad configs are one-line config errors', async () => {
  const { runner, hook } = await setup({ clustering: { type: 'Kmeans', k: 5, pca_dim: 4 } });
  await expect(hook.beforeRun(runner)).rejects.toThrow(/clustering\.k \(5\) differs from model\.head\.num_classes \(3\)/);
  expect(() => HOOKS.build(hookCfg({ clustering: { type: 'Kmeans', k: 3, pca_dim: 0 } }))).toThrow(ConfigError);
  const few = await setup({ extractor: { dataset: { ...dataset, data_source: { ...source, num_samples: 6 } }, samples_per_gpu: 4 } });
  await expect(few.hook.beforeRun(few.runner)).rejects.toThrow(/extractor\.dataset has 6 samples but data\.train has 12/);
});

test('the extractor over 2 ranks gathers both shares back into data set order (odd size: the padded repeat is dropped)', async () => {
  const m = model();
  const odd = { ...dataset, data_source: { ...source, num_samples: 7 } };
  const ex = new Extractor({ dataset: odd, samples_per_gpu: 2 });
  const one = await ex.extract(m as never, singleProcessContext(), () => {});
  const [d0, d1] = ranksInProcess(2);
  const [a, b] = await Promise.all([ex.extract(m as never, d0, () => {}), ex.extract(m as never, d1, () => {})]);
  expect(one.rows).toBe(7);
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
  expect(Math.max(...Array.from(a.data, (v, i) => Math.abs(v - one.data[i])))).toBeLessThan(1e-5);
  // rows differ from each other (not one row copied everywhere)
  expect(one.data.subarray(0, one.cols)).not.toEqual(one.data.subarray(one.cols, 2 * one.cols));
});

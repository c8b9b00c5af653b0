import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';
import { applyMargins } from '../../src/models/algorithms/interclr-moco.js';
import { sampleNegatives, samplePositives } from '../../src/models/algorithms/interclr-sampling.js';
import { InterCLRMemory } from '../../src/models/memories/interclr-memory.js';
import { InterCLRHook } from '../../src/runner/hooks/interclr-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

/** 12 samples in 2-D around three directions (0°, 120°, 240°), labelled by direction. */
function memory(minCluster = 2): InterCLRMemory {
  const m = new InterCLRMemory(12, 2, 0.5, 3, minCluster);
  const f = new Float32Array(24);
  for (let i = 0; i < 12; i++) {
    const a = (2 * Math.PI * (i % 3)) / 3 + 0.05 * (i - 6);
    f[2 * i] = 3 * Math.cos(a);
    f[2 * i + 1] = 3 * Math.sin(a);
  }
  m.initMemory(f, Int32Array.from({ length: 12 }, (_, i) => i % 3));
  return m;
}

test('initMemory normalises the rows and sets each centroid to its cluster mean; an empty cluster is an error', () => {
  const m = memory();
  for (let r = 0; r < 12; r++) expect(Math.hypot(m.featureBank[2 * r], m.featureBank[2 * r + 1])).toBeCloseTo(1, 6);
  const mean = [0, 0];
  for (const r of [1, 4, 7, 10]) [0, 1].forEach((j) => (mean[j] += m.featureBank[2 * r + j] / 4));
  expect(m.centroids[2]).toBeCloseTo(mean[0], 6);
  expect(m.centroids[3]).toBeCloseTo(mean[1], 6);
  expect(() => m.assignLabel(new Int32Array(12))).toThrow(/cluster 1 of 3 is empty/);
});

test('updateSamplesMemory moves rows with the momentum and relabels them by their nearest centroid', () => {
  const m = memory();
  const before = m.featureBank.slice(0, 2);
  // sample 0 (at -0.3 rad, cluster 0) pulled towards 2.5 rad lands at ~1.1 rad, nearer cluster 1 (~2.1 rad);
  // sample 1 (cluster 1) pulled towards 2.1 rad stays in cluster 1
  const ratio = m.updateSamplesMemory([0, 1], Float32Array.from([Math.cos(2.5), Math.sin(2.5), Math.cos(2.1), Math.sin(2.1)]));
  const mixed = [0.5 * before[0] + 0.5 * Math.cos(2.5), 0.5 * before[1] + 0.5 * Math.sin(2.5)];
  const n = Math.hypot(...mixed);
  expect(m.featureBank[0]).toBeCloseTo(mixed[0] / n, 5);
  expect(m.featureBank[1]).toBeCloseTo(mixed[1] / n, 5);
  expect(m.labelBank[0]).toBe(1);
  expect(m.labelBank[1]).toBe(1);
  expect(ratio).toBe(0.5);
});

test('dealWithSmallClusters empties clusters under min_cluster into their nearest other centroid, then refills them from the largest', () => {
  const m = memory(3);
  // cluster 2 shrinks to two samples (< min_cluster 3): its rows join cluster 0 or 1
  m.labelBank.set([0, 1, 2, 0, 1, 2, 0, 1, 0, 0, 1, 1]);
  m.updateCentroidsMemory();
  m.dealWithSmallClusters();
  const hist = m.histogram();
  expect([...hist].every((c) => c > 0)).toBe(true);
  expect(hist.reduce((a, b) => a + b, 0)).toBe(12);
  // the refilled cluster 2 holds part of one former cluster, and its centroid is its members' mean
  const members = [...m.labelBank.keys()].filter((r) => m.labelBank[r] === 2);
  const mean = members.reduce((s, r) => s + m.featureBank[2 * r], 0) / members.length;
  expect(m.centroids[4]).toBeCloseTo(mean, 5);
  expect(() => memory(20).dealWithSmallClusters()).toThrow(/every cluster is smaller than min_cluster \(20/);
});

test('negatives never share the query\'s cluster (random, semihard, semieasy, hard); hard ones are the most similar others', () => {
  manualSeed(1);
  const m = memory();
  const idx = Int32Array.from([0, 4, 8]);
  const feat = m.rows(idx);
  for (const negSampling of ['random', 'semihard', 'semieasy', 'hard'] as const) {
    const neg = sampleNegatives(m, feat, idx, { negNum: 3, negSampling, semihardNegPoolNum: 12, semieasyNegPoolNum: 12 });
    expect(neg).toHaveLength(9);
    neg.forEach((r, p) => expect(m.labelBank[r]).not.toBe(m.labelBank[idx[Math.floor(p / 3)]]));
  }
  const hard = sampleNegatives(m, feat, idx, { negNum: 3, negSampling: 'hard', semihardNegPoolNum: 12, semieasyNegPoolNum: 12 });
  const sim = (a: number, b: number) => m.featureBank[2 * a] * m.featureBank[2 * b] + m.featureBank[2 * a + 1] * m.featureBank[2 * b + 1];
  const others = [...Array(12).keys()].filter((r) => m.labelBank[r] !== m.labelBank[0]).sort((a, b) => sim(0, b) - sim(0, a));
  expect(Array.from(hard.subarray(0, 3))).toEqual(others.slice(0, 3));
  // semihard draws from the pool of the most similar rows only: a pool of 3 outside the cluster cannot exist
  // for 4-member clusters, so every pick must come from the 8 most similar
  const semi = sampleNegatives(m, feat, idx, { negNum: 2, negSampling: 'semihard', semihardNegPoolNum: 8, semieasyNegPoolNum: 12 });
  const top8 = [...Array(12).keys()].sort((a, b) => sim(0, b) - sim(0, a)).slice(0, 8);
  for (const r of semi.subarray(0, 2)) expect(top8).toContain(r);
  const pos = samplePositives(m, idx);
  pos.forEach((r, i) => expect(m.labelBank[r]).toBe(m.labelBank[idx[i]]));
});

test('margins: cosine subtracts, arc adds the angle (with MMSelfSup\'s fallback past the boundary)', () => {
  const c = tf.tensor2d([[0.9], [0.2], [-0.99]]);
  const cos = applyMargins(c, { cos: true, cosMargin: -0.5, arc: false, arcMargin: 0 }).dataSync();
  expect(Array.from(cos).map((v) => +v.toFixed(5))).toEqual([1.4, 0.7, -0.49]);
  const m = 0.3;
  const arc = applyMargins(c, { cos: false, cosMargin: 0, arc: true, arcMargin: m }).dataSync();
  expect(arc[0]).toBeCloseTo(Math.cos(Math.acos(0.9) + m), 5);
  expect(arc[1]).toBeCloseTo(Math.cos(Math.acos(0.2) + m), 5);
  // -0.99 < cos(π − m): phi would wrap, MMSelfSup uses cosine − sin(π − m)·m
  expect(arc[2]).toBeCloseTo(-0.99 - Math.sin(Math.PI - m) * m, 5);
});

test('InterCLRHook sets intra/inter weights 1/0 during warmup_epochs and restores the configured ones after', () => {
  const hook = new InterCLRHook({
    extractor: { dataset: { type: 'SingleViewDataset' }, samples_per_gpu: 4 }, clustering: { type: 'Kmeans', k: 3, pca_dim: -1 },
    centroids_update_interval: 10, deal_with_small_clusters_interval: 1, evaluate_interval: 50, warmup_epochs: 2, initial: false,
  });
  const model = { intraLossWeight: 0.75, interLossWeight: 0.25, memoryBank: memory() };
  const runner = { model, epoch: 0 } as unknown as BaseRunner;
  return (async () => {
    await hook.beforeRun(runner);
    hook.beforeTrainEpoch(runner);
    expect([model.intraLossWeight, model.interLossWeight]).toEqual([1, 0]);
    (runner as { epoch: number }).epoch = 2;
    hook.beforeTrainEpoch(runner);
    expect([model.intraLossWeight, model.interLossWeight]).toEqual([0.75, 0.25]);
    expect(() => new InterCLRHook({ extractor: { dataset: {} }, clustering: { type: 'Kmeanz', k: 3 }, centroids_update_interval: 1, deal_with_small_clusters_interval: 1, evaluate_interval: 1 })).toThrow(/Kmeans/);
  })();
});

// the InterCLR config's parameter counts: test/models/selfsup-param-counts.test.ts

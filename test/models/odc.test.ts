/**
 * ODCMemory's cluster maintenance on a small synthetic memory (MMSelfSup's semantics): samples of
 * clusters below min_cluster move to their nearest other centroid and each emptied cluster takes half
 * of the largest one; centroids are cluster means; the memory, ODCHook and the config are checked.
 */
import { initBackend } from '../../src/engine/backend.js';
import { ConfigError } from '../../src/errors.js';
import { buildModel } from '../../src/models/index.js';
import type { ODC } from '../../src/models/algorithms/odc.js';
import { ODCMemory } from '../../src/models/memories/odc-memory.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

/** 12 points in 2-D around three directions; cluster 2 holds only two of them. */
function memory(minCluster: number): ODCMemory {
  const m = new ODCMemory(12, 2, 0.5, 3, minCluster);
  const angle = (i: number) => (i < 6 ? 0 : i < 10 ? Math.PI / 2 : Math.PI) + 0.05 * (i % 3);
  const data = Float32Array.from({ length: 24 }, (_, j) => (j % 2 === 0 ? Math.cos(angle(j >> 1)) : Math.sin(angle(j >> 1))) * 3);
  m.initMemory({ data, rows: 12, cols: 2 }, Int32Array.from({ length: 12 }, (_, i) => (i < 6 ? 0 : i < 10 ? 1 : 2)));
  return m;
}

test('init_memory L2-normalises the features and sets every centroid to its cluster mean', () => {
  const m = memory(1);
  for (let i = 0; i < 12; i++) expect(Math.hypot(m.featureBank[2 * i], m.featureBank[2 * i + 1])).toBeCloseTo(1, 5);
  const mean = (c: number, j: number) => [...m.labelBank.keys()].filter((i) => m.labelBank[i] === c).reduce((s, i) => s + m.featureBank[2 * i + j], 0) / m.histogram()[c];
  for (let c = 0; c < 3; c++) for (let j = 0; j < 2; j++) expect(m.centroids[2 * c + j]).toBeCloseTo(mean(c, j), 6);
  expect(() => new ODCMemory(12, 2, 0.5, 3, 1).initMemory({ data: new Float32Array(24), rows: 12, cols: 2 }, new Int32Array(12))).toThrow(/cluster 1 is empty/);
});

test('update_samples_memory: momentum towards the normalised feature, nearest-centroid labels, change ratio', () => {
  const m = memory(1);
  // sample 0 (cluster 0, direction 0) pulled hard towards direction pi/2 (cluster 1)
  const ratio = m.updateSamplesMemory([0, 1], Float32Array.from([-1, 2, 1, 0.04]));
  expect(ratio).toBe(0.5);
  expect(m.labelBank[0]).toBe(1);
  expect(m.labelBank[1]).toBe(0);
  // 0.5·(1, 0) + 0.5·(-1, 2)/√5, normalised
  const mix = [0.5 - 0.5 / Math.sqrt(5), 1 / Math.sqrt(5)];
  const norm = Math.hypot(mix[0], mix[1]);
  expect(m.featureBank[0]).toBeCloseTo(mix[0] / norm, 5);
  expect(m.featureBank[1]).toBeCloseTo(mix[1] / norm, 5);
});

test('deal_with_small_clusters: a cluster under min_cluster is emptied into its neighbours, then refilled from the largest', () => {
  const m = memory(3);
  const before = Array.from(m.labelBank);
  m.dealWithSmallClusters();
  const hist = m.histogram();
  // cluster 2 (2 samples < 3) was emptied and re-filled by splitting the largest cluster (0, 6 samples)
  expect(Array.from(hist).every((h) => h > 0)).toBe(true);
  expect(hist.reduce((a, b) => a + b)).toBe(12);
  for (const i of [10, 11]) expect(m.labelBank[i]).not.toBe(2); // moved to a large cluster
  const moved = before.map((l, i) => (l === 0 && m.labelBank[i] === 2 ? i : -1)).filter((i) => i >= 0);
  expect(moved.length).toBeGreaterThan(0);
  // the split clusters' centroids were recomputed
  const mean2 = [0, 1].map((j) => moved.reduce((s, i) => s + m.featureBank[2 * i + j], 0) / moved.length);
  expect(m.centroids[4]).toBeCloseTo(mean2[0], 5);
  expect(m.centroids[5]).toBeCloseTo(mean2[1], 5);
  // nothing to do when every cluster is large enough
  const m2 = memory(2);
  const labels = Array.from(m2.labelBank);
  m2.dealWithSmallClusters();
  expect(Array.from(m2.labelBank)).toEqual(labels);
});

test('ODC checks its memory against the head and the data set; set_reweight reads the memory labels', () => {
  const cfg = (extra: Record<string, unknown> = {}) => ({
    type: 'ODC',
    backbone: { type: 'ResNet_CIFAR', depth: 18, stem_channels: 4, base_channels: 2, out_indices: [4] },
    neck: { type: 'ODCNeck', in_channels: 16, hid_channels: 8, out_channels: 4, norm_cfg: { type: 'BN' } },
    head: { type: 'ClsHead', with_avg_pool: false, in_channels: 4, num_classes: 3 },
    memory_bank: { type: 'ODCMemory', length: 12, feat_dim: 4, momentum: 0.5, num_classes: 3, min_cluster: 1 },
    ...extra,
  });
  expect(() => buildModel(cfg({ head: { type: 'ClsHead', in_channels: 4, num_classes: 5 } }))).toThrow(/memory_bank\.num_classes \(3\) differs from head\.num_classes \(5\)/);
  const m = buildModel(cfg()) as unknown as ODC;
  expect(() => m.checkDataset(20)).toThrow(ConfigError);
  expect(() => m.checkDataset(20)).toThrow(/memory_bank\.length is 12 but the training data set has 20 samples/);
  m.memoryBank.labelBank = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  m.setReweight();
  const inv = [1 / 3, 1 / Math.sqrt(3), 1e5];
  inv.forEach((v, c) => expect(m.lossWeight[c]).toBeCloseTo(v / inv.reduce((a, b) => a + b), 6));
  expect(m.stateDict().has('memory_bank.centroids')).toBe(true);
});

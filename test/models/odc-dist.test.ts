/**
 * ODC's memory across 2 ranks (MMSelfSup's ODCMemory._gather): each rank steps on half the batch,
 * the features and indices are all-gathered, and both ranks end with the memory (features, labels)
 * and change ratio of one rank that stepped on the whole batch.
 */
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import type { Batch } from '../../src/models/contracts.js';
import { buildModel } from '../../src/models/index.js';
import type { ODC } from '../../src/models/algorithms/odc.js';
import { ranksInProcess } from '../helpers/ranks-in-process.js';

const cfg = {
  type: 'ODC',
  backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4] },
  neck: { type: 'ODCNeck', in_channels: 16, hid_channels: 8, out_channels: 4, norm_cfg: { type: 'BN' } },
  head: { type: 'ClsHead', with_avg_pool: false, in_channels: 4, num_classes: 3 },
  memory_bank: { type: 'ODCMemory', length: 12, feat_dim: 4, momentum: 0.5, num_classes: 3, min_cluster: 1 },
};

function model(): ODC {
  manualSeed(0);
  const m = buildModel(cfg) as unknown as ODC;
  // per-sample features (BN on running statistics, no dropout): the whole batch and its halves give the same rows
  m.eval();
  const data = Float32Array.from({ length: 48 }, (_, i) => Math.cos(i * 1.3));
  m.memoryBank.initMemory({ data, rows: 12, cols: 4 }, Int32Array.from({ length: 12 }, (_, i) => i % 3));
  return m;
}

function batch(data: Float32Array, idx: number[], from: number, n: number): Batch {
  const hw = 16 * 16 * 3;
  return { views: [{ data: data.slice(from * hw, (from + n) * hw), shape: [n, 16, 16, 3] }], idx: Int32Array.from(idx.slice(from, from + n)) } as unknown as Batch;
}

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test("ODC's memory across 2 ranks equals one rank's with the whole batch, on both ranks", async () => {
  const data = Float32Array.from({ length: 8 * 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.37));
  const idx = [3, 7, 1, 9, 0, 5, 11, 8];
  const one = model();
  const before = one.memoryBank.featureBank.slice();
  const outOne = await one.trainStep(batch(data, idx, 0, 8), { dist: singleProcessContext() });
  const [d0, d1] = ranksInProcess(2);
  const [m0, m1] = [model(), model()];
  const [o0, o1] = await Promise.all([m0.trainStep(batch(data, idx, 0, 4), { dist: d0 }), m1.trainStep(batch(data, idx, 4, 4), { dist: d1 })]);
  const a = m0.memoryBank.featureBank;
  expect(Array.from(m1.memoryBank.featureBank)).toEqual(Array.from(a));
  expect(Array.from(m1.memoryBank.labelBank)).toEqual(Array.from(m0.memoryBank.labelBank));
  expect(Array.from(m0.memoryBank.labelBank)).toEqual(Array.from(one.memoryBank.labelBank));
  const ref = one.memoryBank.featureBank;
  expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - ref[i])))).toBeLessThan(1e-5);
  expect(o0.logVars.change_ratio).toBe(outOne.logVars.change_ratio);
  expect(o1.logVars.change_ratio).toBe(outOne.logVars.change_ratio);
  // rank 0 also moved rank 1's rows, and no row outside the batch moved
  for (let r = 0; r < 12; r++) {
    const moved = Math.max(...Array.from(a.subarray(r * 4, r * 4 + 4), (v, j) => Math.abs(v - before[r * 4 + j])));
    if (idx.includes(r)) expect(moved).toBeGreaterThan(1e-4);
    else expect(moved).toBe(0);
  }
}, 60_000);

import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import type { Batch } from '../../src/models/contracts.js';
import { buildModel } from '../../src/models/index.js';
import type { NPID } from '../../src/models/algorithms/npid.js';
import { ranksInProcess } from '../helpers/ranks-in-process.js';

const cfg = {
  type: 'NPID',
  backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4] },
  neck: { type: 'LinearNeck', in_channels: 16, out_channels: 8 },
  head: { type: 'ContrastiveHead', temperature: 0.07 },
  memory_bank: { type: 'SimpleMemory', length: 12, feat_dim: 8, momentum: 0.5 },
  neg_num: 4,
};

function model(): NPID {
  manualSeed(0);
  const m = buildModel(cfg) as unknown as NPID;
  // per-sample features (BN on running statistics): the whole batch and its halves give the same rows
  m.eval();
  return m;
}

function batch(data: Float32Array, idx: number[], from: number, n: number): Batch {
  const hw = 16 * 16 * 3;
  return { views: [{ data: data.slice(from * hw, (from + n) * hw), shape: [n, 16, 16, 3] }], idx: Int32Array.from(idx.slice(from, from + n)) } as unknown as Batch;
}

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test("NPID's SimpleMemory across 2 ranks: all-gathered indices and features, both ranks end with the memory of 1 rank with the whole batch", async () => {
  const data = Float32Array.from({ length: 8 * 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.37));
  const idx = [3, 7, 1, 9, 0, 5, 11, 8];
  const one = model();
  const before = one.memoryBank.featureBank.slice();
  await one.trainStep(batch(data, idx, 0, 8), { dist: singleProcessContext() });
  const [d0, d1] = ranksInProcess(2);
  const [m0, m1] = [model(), model()];
  await Promise.all([m0.trainStep(batch(data, idx, 0, 4), { dist: d0 }), m1.trainStep(batch(data, idx, 4, 4), { dist: d1 })]);
  const a = m0.memoryBank.featureBank;
  const b = m1.memoryBank.featureBank;
  const ref = one.memoryBank.featureBank;
  expect(Array.from(b)).toEqual(Array.from(a));
  expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - ref[i])))).toBeLessThan(1e-5);
  // every row of the batch moved, on both ranks (rank 0 also holds rank 1's rows), and no other row did
  for (let r = 0; r < 12; r++) {
    const moved = Math.max(...Array.from(a.subarray(r * 8, r * 8 + 8), (v, j) => Math.abs(v - before[r * 8 + j])));
    if (idx.includes(r)) expect(moved).toBeGreaterThan(1e-3);
    else expect(moved).toBe(0);
  }
}, 60_000);

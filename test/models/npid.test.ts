import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { buildModel } from '../../src/models/index.js';
import type { NPID } from '../../src/models/algorithms/npid.js';

const cfg = (extra: Record<string, unknown>) => ({
  type: 'NPID',
  backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4] },
  neck: { type: 'LinearNeck', in_channels: 16, out_channels: 8 },
  head: { type: 'ContrastiveHead', temperature: 0.07 },
  memory_bank: { type: 'SimpleMemory', length: 5, feat_dim: 8, momentum: 0.5 },
  neg_num: 4,
  ...extra,
});

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('ensure_neg redraws every negative that is the sample itself; without it they occur', () => {
  manualSeed(0);
  const idx = Int32Array.from([0, 1, 2, 3, 4, 0, 1, 2]);
  const count = (m: NPID) => {
    let self = 0;
    for (let t = 0; t < 20; t++) m.drawNegatives(idx).forEach((n, i) => (self += n === idx[Math.floor(i / 4)] ? 1 : 0));
    return self;
  };
  expect(count(buildModel(cfg({ ensure_neg: true })) as unknown as NPID)).toBe(0);
  expect(count(buildModel(cfg({})) as unknown as NPID)).toBeGreaterThan(0);
});

test('the memory bank holds unit rows and is the same for the same seed', () => {
  manualSeed(3);
  const a = (buildModel(cfg({})) as unknown as NPID).memoryBank;
  manualSeed(3);
  const b = (buildModel(cfg({})) as unknown as NPID).memoryBank;
  expect(b.featureBank).toEqual(a.featureBank);
  for (let r = 0; r < 5; r++) expect(Math.hypot(...a.featureBank.subarray(r * 8, r * 8 + 8))).toBeCloseTo(1, 5);
  a.update([2], Float32Array.from({ length: 8 }, (_, j) => j));
  expect(Math.hypot(...a.featureBank.subarray(16, 24))).toBeCloseTo(1, 5);
});

test('neg_num must be below the memory length (the data set size)', () => {
  expect(() => buildModel(cfg({ neg_num: 5 }))).toThrow(/neg_num \(5\) must be smaller than memory_bank.length \(5/);
});

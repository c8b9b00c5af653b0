/**
 * Algorithms against MMSelfSup's forward_train in PyTorch (tools/torch-algos-reference.py,
 * tools/torch-momentum-algos-reference.py): same hashed weights, same batches, same random draws
 * (dropout masks, NPID negatives and memory init, DenseCL's queues), DeepCluster's re-weighting, ODC's memory
 * (initial features and labels; after each step ODCHook's centroid update and re-weighting: labels must match exactly);
 * loss of step 0 within 1e-4, gradients of step 0 within 1e-3, and after 5 steps (memory/queue
 * updates and the hooks' schedules included) every loss, parameter, BN statistic, queue and the
 * memory bank within 1e-3.
 */
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { replay } from '../../benchmarks/algo-replay-lib.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'torch');

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test.each(['rotation-pred', 'relative-loc', 'npid', 'deepcluster', 'odc', 'densecl', 'densecl-grid', 'mocov3', 'interclr'])('%s equals MMSelfSup forward_train in PyTorch over 5 SGD steps', async (name) => {
  const r = await replay(join(FIXTURES, `algo-${name}.safetensors`));
  expect(Math.abs(r.losses[0] - r.refLosses[0]) / Math.abs(r.refLosses[0])).toBeLessThan(1e-4);
  expect(Object.keys(r.gradErr).length).toBeGreaterThan(10);
  const worst = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1])[0];
  expect(worst(r.gradErr)[1]).toBeLessThan(1e-3);
  r.losses.forEach((l, i) => expect(Math.abs(l - r.refLosses[i]) / Math.abs(r.refLosses[i])).toBeLessThan(1e-3));
  expect(worst(r.finalErr)[1]).toBeLessThan(1e-3);
}, 60_000);

test('MoCo v3: the ViT built by ssl has MMSelfSup\'s fixed 2-D sin-cos position embedding', async () => {
  const r = await replay(join(FIXTURES, 'algo-mocov3.safetensors'));
  expect(Object.keys(r.builtErr)).toEqual(['base_encoder.0.pos_embed']);
  expect(r.builtErr['base_encoder.0.pos_embed']).toBeLessThan(1e-6);
}, 60_000);

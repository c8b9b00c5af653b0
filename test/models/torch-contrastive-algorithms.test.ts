/**
 * SimCLR, MoCo v1/v2, BYOL, SimSiam and Barlow Twins against MMSelfSup's forward_train in PyTorch
 * (tools/torch-contrastive-algos-reference.py): same hashed weights, batches, MoCo queue and
 * BYOL momentum schedule; loss of step 0 within 1e-4, gradients of step 0 within 1e-3, and after
 * 5 SGD steps every loss, parameter, BN statistic and queue within 1e-3.
 */
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { replay } from '../../benchmarks/algo-replay-lib.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'torch');

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test.each(['simclr', 'mocov1', 'mocov2', 'byol', 'simsiam', 'barlowtwins'])('%s equals MMSelfSup forward_train in PyTorch over 5 SGD steps', async (name) => {
  const r = await replay(join(FIXTURES, `algo-${name}.safetensors`));
  expect(Math.abs(r.losses[0] - r.refLosses[0]) / Math.abs(r.refLosses[0])).toBeLessThan(1e-4);
  expect(Object.keys(r.gradErr).length).toBeGreaterThan(10);
  const worst = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1])[0];
  expect(worst(r.gradErr)[1]).toBeLessThan(1e-3);
  r.losses.forEach((l, i) => expect(Math.abs(l - r.refLosses[i]) / Math.abs(r.refLosses[i])).toBeLessThan(1e-3));
  expect(Object.keys(r.finalErr).length).toBeGreaterThan(20);
  expect(worst(r.finalErr)[1]).toBeLessThan(1e-3);
}, 60_000);

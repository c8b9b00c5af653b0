import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../../src/engine/backend.js';
import { tf, type Tensor } from '../../../src/engine/tf.js';
import type { Module } from '../../../src/engine/module.js';
import { decodeSafetensors, loadWeights, tensorFromRaw } from '../../../src/engine/safetensors.js';
import { BACKBONES } from '../../../src/models/backbones/index.js';
import { loadFormulaWeights } from './torch-weights.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'torch');

/** max |a - b| / max |b| */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / den;
}

async function check(name: string): Promise<void> {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(FIXTURES, `${name}.safetensors`)));
  const model = BACKBONES.build(JSON.parse(metadata.config)) as Module & { forward(x: Tensor): unknown[] };
  if (metadata.weights === 'file') await loadWeights(model, join(FIXTURES, `${name}.weights.safetensors`));
  else loadFormulaWeights(model);
  model.train(metadata.mode === 'train');
  tf.tidy(() => {
    const outs = model.forward(tensorFromRaw(tensors.get('input')!));
    const expected = [...tensors.keys()].filter((k) => /^output\.\d+$/.test(k));
    expect(outs.length).toBe(expected.length);
    outs.forEach((o, i) => {
      const [map, cls] = Array.isArray(o) ? (o as Tensor[]) : [o as Tensor];
      const ref = tensorFromRaw(tensors.get(`output.${i}`)!);
      expect(map.shape).toEqual(ref.shape);
      expect(relErr(map, ref)).toBeLessThan(1e-4);
      if (tensors.has(`output.${i}.cls`)) expect(relErr(cls, tensorFromRaw(tensors.get(`output.${i}.cls`)!))).toBeLessThan(1e-4);
    });
  });
  model.dispose();
}

describe('backbone forward equals the PyTorch reference (tools/torch-reference.py)', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => {} });
  });

  test.each([
    'resnet18', // all out_indices incl. the stem, eval BN
    'resnet18-train', // BN with batch statistics
    'resnet50',
    'resnext50',
    'vit-small',
    'resnet18-cifar-tiny', // weights from a PyTorch-written safetensors file (OIHW)
    'vit-tiny', // weights from file (out x in linears)
  ])('%s', async (name) => {
    await check(name);
  });
});

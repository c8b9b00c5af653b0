/**
 * Issue 22: PyTorch files load into ssl models. Fixtures by tools/torch-pth-fixtures.py: torchvision's ResNet code
 * (width 4) and a small ViT with MMSelfSup names (and as timm names), seeded random weights saved with torch.save,
 * and PyTorch's features of 2 images.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { Module } from '../../src/engine/module.js';
import { decodeSafetensors, tensorFromRaw } from '../../src/engine/safetensors.js';
import type { Tensor } from '../../src/engine/tf.js';
import { BACKBONES } from '../../src/models/backbones/index.js';
import { loadWeights } from '../../src/runner/load-weights.js';
import type { TrainableModel } from '../../src/runner/types.js';

const DIR = join(process.cwd(), 'test/fixtures/torch/pth');

class WithBackbone extends Module {
  readonly backbone: Module & { forward(x: Tensor): unknown[] };
  constructor(cfg: Record<string, unknown>) {
    super();
    this.backbone = this.registerModule('backbone', BACKBONES.build(cfg) as Module & { forward(x: Tensor): unknown[] });
  }
  forward(): never {
    throw new Error('not used');
  }
}

function fixture(name: string): { config: Record<string, unknown>; tensors: Map<string, Tensor> } {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(DIR, name)));
  return { config: JSON.parse(metadata.config), tensors: new Map([...tensors].map(([k, r]) => [k, tensorFromRaw(r)])) };
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

async function load(cfg: Record<string, unknown>, file: string): Promise<{ model: WithBackbone; warnings: string[] }> {
  const model = new WithBackbone(cfg);
  const warnings: string[] = [];
  await loadWeights(model as unknown as TrainableModel, join(DIR, file), { what: '--load-from', warn: (m) => warnings.push(m) });
  model.eval();
  return { model, warnings };
}

beforeAll(async () => {
  await initBackend('cpu');
});

test('torchvision ResNet-18 (width 4) state dict -> ssl ResNet: layer4 features equal PyTorch\'s within 1e-4; fc reported unexpected', async () => {
  const f = fixture('tv-resnet18-w4.features.safetensors');
  const { model, warnings } = await load(f.config, 'tv-resnet18-w4.pth');
  const out = model.backbone.forward(f.tensors.get('input')!)[0] as Tensor;
  expect(maxDiff(out, f.tensors.get('output.0')!)).toBeLessThan(1e-4);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^--load-from: loaded 120 tensors of .*tv-resnet18-w4\.pth \(a backbone: into backbone\.\); unexpected key in source state_dict: fc\.weight, fc\.bias$/);
});

test.each([
  ['vit-tiny-mmselfsup.pth', /^$/],
  ['vit-tiny-timm.pth', /timm ViT names -> MMSelfSup; unexpected key in source state_dict: head\.weight, head\.bias/],
])('ViT %s -> ssl VisionTransformer: patch features and class token equal PyTorch\'s within 1e-4', async (file, warning) => {
  const f = fixture('vit-tiny.features.safetensors');
  const { model, warnings } = await load(f.config, file);
  const [[patch, cls]] = model.backbone.forward(f.tensors.get('input')!) as [[Tensor, Tensor]];
  expect(maxDiff(patch, f.tensors.get('output.0')!)).toBeLessThan(1e-4);
  expect(maxDiff(cls, f.tensors.get('output.0.cls')!)).toBeLessThan(1e-4);
  expect(warnings.join('\n')).toMatch(warning);
});

test('a shape mismatch is an error naming the tensor and both shapes (PyTorch layout), checked before any tensor is converted', async () => {
  const f = fixture('tv-resnet18-w4.features.safetensors');
  await expect(load({ ...f.config, stem_channels: 8 }, 'tv-resnet18-w4.pth')).rejects.toThrow(
    /--load-from: .*tv-resnet18-w4\.pth does not fit this model: conv1\.weight is \[4, 3, 7, 7\] there and backbone\.conv1\.weight is \[8, 3, 7, 7\] in this model/,
  );
});

test('the missing/unexpected warning lists the first 10 keys and the count', async () => {
  const { warnings } = await load({ type: 'ResNet', depth: 18, stem_channels: 4, base_channels: 4, out_indices: [4], num_stages: 4 }, 'vit-tiny-timm.pth').catch((e: Error) => ({ warnings: [e.message] }));
  expect(warnings[0]).toMatch(/has no tensor this model takes \(it has (\S+, ){9}\S+ and \d+ more;/);
});

test('eval knn --checkpoint needs every backbone tensor: a partial backbone is an error', async () => {
  const f = fixture('vit-tiny.features.safetensors');
  const model = new WithBackbone({ ...f.config, arch: { embed_dims: 32, num_layers: 3, num_heads: 4, feedforward_channels: 64 } });
  await expect(
    loadWeights(model as unknown as TrainableModel, join(DIR, 'vit-tiny-mmselfsup.pth'), { what: '--checkpoint', warn: () => {}, requireBackbone: true }),
  ).rejects.toThrow(/--checkpoint: .*vit-tiny-mmselfsup\.pth lacks backbone tensors the model needs: backbone\.layers\.2\./);
});

import { initBackend } from '../../../src/engine/backend.js';
import { tf } from '../../../src/engine/tf.js';
import { BatchNorm } from '../../../src/engine/layers/batch-norm.js';
import { Sequential } from '../../../src/engine/layers/container.js';
import { BACKBONES, ResNet } from '../../../src/models/backbones/index.js';

describe('ResNet family', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => {} });
  });

  test.each([
    [{ type: 'ResNet', depth: 50 }, 23_508_032],
    [{ type: 'ResNet', depth: 18 }, 11_176_512],
  ])('%j has the exact MMSelfSup parameter count', (cfg, count) => {
    const m = BACKBONES.build(cfg);
    expect(m.numParameters()).toBe(count);
    m.dispose();
  });

  test('parameter names are MMSelfSup state-dict names', () => {
    const m = BACKBONES.build({ type: 'ResNet', depth: 50 });
    const names = [...m.stateDict('backbone').keys()];
    expect(names.slice(0, 6)).toEqual([
      'backbone.conv1.weight', 'backbone.bn1.weight', 'backbone.bn1.bias', 'backbone.bn1.running_mean', 'backbone.bn1.running_var', 'backbone.bn1.num_batches_tracked',
    ]);
    expect(names).toContain('backbone.layer1.0.downsample.0.weight');
    expect(names).toContain('backbone.layer1.0.downsample.1.running_var');
    expect(names).toContain('backbone.layer4.2.conv3.weight');
    expect(names).not.toContain('backbone.layer1.1.downsample.0.weight');
    expect(m.stateDict().get('layer1.0.conv2.weight')!.shape).toEqual([3, 3, 64, 64]);
    m.dispose();
  });

  test('ResNetV1d has a deep stem and avg_down shortcuts; ResNeXt has grouped convs', () => {
    const v1d = BACKBONES.build({ type: 'ResNetV1d', depth: 50 });
    const n = [...v1d.stateDict().keys()];
    expect(n).toContain('stem.0.weight');
    expect(n).toContain('stem.7.running_mean');
    expect(n).toContain('layer2.0.downsample.1.weight');
    v1d.dispose();
    const x = BACKBONES.build({ type: 'ResNeXt', depth: 50, groups: 32, width_per_group: 4 });
    expect(x.stateDict().get('layer1.0.conv2.weight')!.shape).toEqual([3, 3, 4, 128]);
    // torchvision resnext50_32x4d has 25,028,904 parameters with its 2048x1000 fc (2,049,000).
    expect(x.numParameters()).toBe(25_028_904 - 2_049_000);
    x.dispose();
  });

  test('out_indices (0 = stem), strides and NHWC shapes; CIFAR stem keeps 32x32', () => {
    const m = BACKBONES.build({ type: 'ResNet', depth: 18, out_indices: [0, 1, 4] }) as ResNet;
    const outs = m.forward(tf.zeros([2, 64, 64, 3]));
    expect(outs.map((o) => o.shape)).toEqual([[2, 32, 32, 64], [2, 16, 16, 64], [2, 2, 2, 512]]);
    m.dispose();
    const c = BACKBONES.build({ type: 'ResNet_CIFAR', depth: 18, out_indices: [0, 4] }) as ResNet;
    expect(c.forward(tf.zeros([1, 32, 32, 3])).map((o) => o.shape)).toEqual([[1, 32, 32, 64], [1, 4, 4, 512]]);
    c.dispose();
  });

  test('frozen_stages freezes stem and early stages; norm_eval keeps BN in eval', () => {
    const m = BACKBONES.build({ type: 'ResNet', depth: 18, frozen_stages: 1, norm_eval: true }) as ResNet;
    const frozen = m.namedParameters().filter(([, v]) => !v.trainable).map(([n]) => n);
    expect(frozen).toContain('conv1.weight');
    expect(frozen).toContain('layer1.1.bn2.bias');
    expect(frozen.some((n) => n.startsWith('layer2'))).toBe(false);
    m.train();
    expect(m.namedModules().filter(([n]) => n.includes('bn')).every(([, b]) => !b.training)).toBe(true);
    m.dispose();
  });

  test('a parent module\'s train() keeps frozen stages and norm_eval BatchNorms in eval; eval() disables DropPath', () => {
    const m = BACKBONES.build({ type: 'ResNet', depth: 18, frozen_stages: 1, norm_eval: true, drop_path_rate: 0.5 }) as ResNet;
    const parent = new Sequential(m);
    parent.train();
    const mods = parent.namedModules();
    expect(mods.filter(([, b]) => b instanceof BatchNorm).every(([, b]) => !b.training)).toBe(true);
    expect(mods.filter(([n]) => n.startsWith('0.layer1')).every(([, b]) => !b.training)).toBe(true);
    expect(mods.find(([n]) => n === '0.layer2.0.conv1')![1].training).toBe(true);
    expect(mods.find(([n]) => n === '0.layer2.0.drop_path')![1].training).toBe(true);
    parent.eval();
    // Stochastic depth is off in eval: two forwards of the same input agree.
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    const [a] = m.forward(x);
    const [b] = m.forward(x);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
    m.dispose();
  });

  test('unknown arguments are rejected with a suggestion', () => {
    expect(() => BACKBONES.build({ type: 'ResNet', depth: 18, out_indice: [4] })).toThrow(/out_indices/);
    expect(() => BACKBONES.build({ type: 'ResNet', depth: 19 })).toThrow(/invalid depth 19/);
  });
});

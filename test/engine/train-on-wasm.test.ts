import { tf, type Tensor, type Variable } from '../../src/engine/tf.js';
import type { Module } from '../../src/engine/module.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { BACKBONES } from '../../src/models/backbones/index.js';
import { MultiheadAttention } from '../../src/engine/layers/attention.js';
import { Dropout } from '../../src/engine/layers/dropout.js';
import { relErr } from './rel-err.js';
import { describeEachEngine } from './backends-under-test.js';


type Fwd = (x: Tensor) => unknown;

/** Gradients of a scalar loss of every output w.r.t. every trainable parameter, on one backend. */
function paramGrads(backend: string, model: Module, x: Float32Array, shape: number[]): Map<string, Float32Array> {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const input = tf.tensor(x, shape);
    const named = model.namedParameters().filter(([, v]) => v.trainable);
    const { grads } = tf.variableGrads(() => {
      const outs = (model.forward as Fwd).call(model, input) as (Tensor | Tensor[])[];
      const flat = outs.flat();
      // softmax + log keep the loss sensitive to every activation (and exercise their gradients)
      return tf.addN(flat.map((o) => tf.sum(tf.mul(tf.logSoftmax(tf.reshape(o, [o.shape[0], -1])), tf.sin(tf.reshape(o, [o.shape[0], -1])))))) as tf.Scalar;
    }, named.map(([, v]) => v as Variable));
    const byId = new Map(named.map(([n, v]) => [v.name, n]));
    return new Map(Object.entries(grads).map(([id, g]) => [byId.get(id)!, g.dataSync() as Float32Array]));
  });
}

// Train-mode BatchNorm backward subtracts per-channel means of the incoming gradient; with few
// values per channel that cancellation turns float32 rounding (different summation order of the
// wasm and cpu kernels) into ~1e-4..1e-3 relative differences. Eval mode (running stats, no
// cancellation) is held to 1e-4, train mode to 1e-3.
describeEachEngine('models train: every parameter gradient equals the cpu backend', () => {

  test.each([
    ['ResNet (7x7 stem, max-pool, strided 1x1 shortcuts)', { type: 'ResNet', depth: 18, base_channels: 4, stem_channels: 4, num_stages: 2, strides: [1, 2], out_indices: [0, 2] }, [2, 32, 32, 3]],
    ['ResNetV1d (deep stem, avg_down)', { type: 'ResNetV1d', depth: 50, base_channels: 4, stem_channels: 8, num_stages: 2, strides: [1, 2], out_indices: [2] }, [2, 32, 32, 3]],
    ['ResNeXt (grouped convs)', { type: 'ResNeXt', depth: 50, groups: 4, width_per_group: 2, base_channels: 8, stem_channels: 8, num_stages: 2, strides: [1, 2], out_indices: [2] }, [2, 32, 32, 3]],
    ['ViT (layer norm, attention softmax, GELU)', { type: 'VisionTransformer', arch: { embed_dims: 16, num_layers: 2, num_heads: 2, feedforward_channels: 32 }, img_size: 16, patch_size: 4, pos_embed_type: 'learned' }, [2, 16, 16, 3]],
  ].flatMap(([name, cfg, shape]) => [[`${name}, eval`, cfg, shape, 'eval', 1e-4] as const, [`${name}, train`, cfg, shape, 'train', 1e-3] as const]))('%s', (_name, cfg, shape, mode, tolerance) => {
    manualSeed(11);
    const model = BACKBONES.build(cfg as Record<string, unknown>);
    model.train(mode === 'train');
    const x = normalArray((shape as number[]).reduce((a, b) => a * b), 0, 1);
    const before = tf.memory().numTensors;
    const ref = paramGrads('cpu', model, x, shape as number[]);
    const got = paramGrads('wasm', model, x, shape as number[]);
    expect(tf.memory().numTensors).toBe(before);
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
    expect(ref.size).toBe(model.trainableParameters().length);
    for (const [name, g] of ref) {
      const e = relErr(got.get(name)!, g);
      if (e >= tolerance) throw new Error(`${name}: relative error ${e}`);
    }
    model.dispose();
  });

  test('Dropout is identity in eval and keeps the expected fraction in training; attention shapes', () => {
    const d = new Dropout(0.5);
    const x = tf.ones([1000]);
    const kept = tf.sum(tf.notEqual(d.forward(x), 0)).dataSync()[0];
    expect(kept).toBeGreaterThan(400);
    expect(kept).toBeLessThan(600);
    d.eval();
    expect(tf.sum(d.forward(x)).dataSync()[0]).toBe(1000);
    const attn = new MultiheadAttention(8, 2);
    expect(attn.forward(tf.zeros([3, 5, 8])).shape).toEqual([3, 5, 8]);
    expect(attn.namedParameters().map(([n]) => n)).toEqual(['qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias']);
  });
});

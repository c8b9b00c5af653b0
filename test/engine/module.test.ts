import { tf } from '../../src/engine/tf.js';
import { Module } from '../../src/engine/module.js';
import { Conv2d } from '../../src/engine/layers/conv2d.js';
import { BatchNorm } from '../../src/engine/layers/batch-norm.js';
import { Linear } from '../../src/engine/layers/linear.js';
import { Sequential } from '../../src/engine/layers/container.js';
import { manualSeed } from '../../src/engine/random.js';

class Block extends Module {
  readonly conv1 = this.registerModule('conv1', new Conv2d(3, 4, 3, { padding: 1, bias: false }));
  readonly bn1 = this.registerModule('bn1', new BatchNorm(4));
  readonly downsample = this.registerModule('downsample', new Sequential(new Conv2d(3, 4, 1, { bias: false }), new BatchNorm(4)));
  forward(x: tf.Tensor4D): tf.Tensor {
    return tf.add(this.bn1.forward(this.conv1.forward(x)), (this.downsample.forward(x) as tf.Tensor));
  }
}

describe('Module', () => {
  beforeAll(() => tf.setBackend('cpu'));

  test('names parameters and buffers like a PyTorch state dict', () => {
    const b = new Block();
    expect(b.namedParameters().map(([n]) => n)).toEqual([
      'conv1.weight', 'bn1.weight', 'bn1.bias', 'downsample.0.weight', 'downsample.1.weight', 'downsample.1.bias',
    ]);
    expect([...b.stateDict('backbone').keys()]).toEqual([
      'backbone.conv1.weight', 'backbone.bn1.weight', 'backbone.bn1.bias', 'backbone.bn1.running_mean', 'backbone.bn1.running_var',
      'backbone.bn1.num_batches_tracked', 'backbone.downsample.0.weight', 'backbone.downsample.1.weight', 'backbone.downsample.1.bias',
      'backbone.downsample.1.running_mean', 'backbone.downsample.1.running_var', 'backbone.downsample.1.num_batches_tracked',
    ]);
    expect(b.stateDictLayouts().get('conv1.weight')).toBe('conv');
    expect(b.namedModules().map(([n]) => n)).toEqual(['', 'conv1', 'bn1', 'downsample', 'downsample.0', 'downsample.1']);
    expect(b.numParameters()).toBe(3 * 3 * 3 * 4 + 8 + 12 + 8);
  });

  test('loadStateDict copies values and names the first shape mismatch', () => {
    manualSeed(3);
    const a = new Block();
    manualSeed(4);
    const b = new Block();
    b.loadStateDict(a.stateDict());
    expect(b.conv1.weight.arraySync()).toEqual(a.conv1.weight.arraySync());
    const bad = new Map(a.stateDict());
    bad.set('bn1.weight', tf.zeros([5]));
    expect(() => b.loadStateDict(bad)).toThrow(/size mismatch for bn1.weight: checkpoint has shape \[5\], the model has \[4\]/);
    const partial = new Map(a.stateDict());
    partial.delete('conv1.weight');
    partial.set('extra', tf.zeros([1]));
    expect(() => b.loadStateDict(partial)).toThrow(/missing keys: conv1.weight; unexpected keys: extra/);
    expect(b.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ['conv1.weight'], unexpectedKeys: ['extra'] });
  });

  test('train/eval and requiresGrad propagate to children', () => {
    const b = new Block();
    b.eval();
    expect(b.namedModules().every(([, m]) => !m.training)).toBe(true);
    b.downsample.requiresGrad(false);
    expect(b.trainableParameters().length).toBe(3);
    b.train();
    expect(b.bn1.training).toBe(true);
  });

  test("train(mode) on an ancestor calls each descendant's own train override (PyTorch recursion)", () => {
    /** Keeps its BatchNorm in eval whatever mode it is set to (like ResNet's norm_eval). */
    class NormEvalBlock extends Block {
      override train(mode = true): this {
        super.train(mode);
        this.bn1.training = false;
        return this;
      }
    }
    const outer = new Sequential(new Sequential(new NormEvalBlock()), new BatchNorm(4));
    const inner = outer.namedModules().find(([n]) => n === '0.0')![1] as NormEvalBlock;
    outer.train();
    expect(inner.bn1.training).toBe(false);
    expect(inner.downsample.at(1).training).toBe(true);
    expect(outer.namedModules().filter(([n]) => n !== '0.0.bn1').every(([, m]) => m.training)).toBe(true);
    outer.eval();
    expect(outer.namedModules().every(([, m]) => !m.training)).toBe(true);
  });

  test('seeded init is reproducible', () => {
    manualSeed(7);
    const w1 = new Linear(4, 3).weight.arraySync();
    manualSeed(7);
    const w2 = new Linear(4, 3).weight.arraySync();
    expect(w1).toEqual(w2);
    expect(new Linear(4, 3).weight.arraySync()).not.toEqual(w1);
  });
});

describe('BatchNorm', () => {
  test('training normalises with batch stats and updates running stats with momentum 0.1 (unbiased var)', () => {
    const bn = new BatchNorm(2);
    const x = tf.tensor4d([1, 10, 3, 20, 5, 30, 7, 40], [2, 2, 1, 2]);
    const y = bn.forward(x);
    const ys = y.arraySync() as number[][][][];
    // channel 0 values 1,3,5,7: mean 4, biased var 5
    expect(ys[0][0][0][0]).toBeCloseTo((1 - 4) / Math.sqrt(5 + 1e-5), 4);
    const rm = bn.runningMean!.dataSync();
    const rv = bn.runningVar!.dataSync();
    expect(rm[0]).toBeCloseTo(0.4, 5);
    expect(rv[0]).toBeCloseTo(0.9 + 0.1 * (20 / 3), 4);
    expect(bn.numBatchesTracked!.dataSync()[0]).toBe(1);
    bn.eval();
    const ye = bn.forward(x).arraySync() as number[][][][];
    expect(ye[0][0][0][0]).toBeCloseTo((1 - 0.4) / Math.sqrt(rv[0] + 1e-5), 4);
  });
});

describe('BatchNorm training gradient (closed form) equals autodiff of the plain formula', () => {
  test('dx, dgamma, dbeta', () => {
    tf.setBackend('cpu');
    manualSeed(5);
    const bn = new BatchNorm(3);
    bn.weight!.assign(tf.tensor1d([0.5, 1.5, -1]));
    bn.bias!.assign(tf.tensor1d([0.1, 0, -0.2]));
    const x = tf.randomNormal([4, 2, 2, 3], 0, 2, 'float32', 3);
    const w = tf.randomNormal([4, 2, 2, 3], 0, 1, 'float32', 4);
    const xv = tf.variable(x);
    const g = tf.variable(tf.tensor1d([0.5, 1.5, -1]));
    const b = tf.variable(tf.tensor1d([0.1, 0, -0.2]));
    const ours = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(xv), w)) as tf.Scalar, [xv, bn.weight!, bn.bias!]).grads;
    const plain = tf.variableGrads(() => {
      const { mean, variance } = tf.moments(xv, [0, 1, 2]);
      return tf.sum(tf.mul(tf.add(tf.mul(tf.div(tf.sub(xv, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b), w)) as tf.Scalar;
    }, [xv, g, b]).grads;
    const got = [ours[xv.name], ours[bn.weight!.name], ours[bn.bias!.name]];
    const ref = [plain[xv.name], plain[g.name], plain[b.name]];
    got.forEach((t, i) => {
      const diff = tf.max(tf.abs(tf.sub(t, ref[i]))).dataSync()[0];
      const scale = tf.max(tf.abs(ref[i])).dataSync()[0];
      expect(diff / scale).toBeLessThan(1e-5);
    });
  });
});

import { tf, type Tensor } from '../../src/engine/tf.js';
import { roll } from '../../src/engine/ops/roll.js';
import { describeEachEngine } from './backends-under-test.js';

const y = () => tf.tensor2d([[1.1, 0.2, -0.4], [0.6, -0.9, 1.3]]);
const img = (a: Tensor) => tf.reshape(a, [1, 2, 3, 1]) as tf.Tensor4D;

/**
 * Ops the models, necks, heads and losses use; each must differentiate on wasm exactly as on cpu.
 * Not listed (tfjs has no gradient on any backend): stridedSlice, comparisons (greater, ...).
 */
const OPS: Record<string, (a: Tensor) => Tensor> = {
  gather: (a) => tf.gather(a, tf.tensor1d([1, 0, 1], 'int32')),
  unsortedSegmentSum: (a) => tf.unsortedSegmentSum(a, tf.tensor1d([1, 0], 'int32'), 3),
  tile: (a) => tf.tile(a, [2, 1]),
  concat: (a) => tf.concat([a, a], 1),
  stack: (a) => tf.stack([a, a]),
  split: (a) => tf.split(a, 3, 1)[1],
  pad: (a) => tf.pad(a, [[1, 0], [0, 2]]),
  slice: (a) => tf.slice(a, [0, 1], [2, 2]),
  transpose: (a) => tf.transpose(a),
  matMul: (a) => tf.matMul(a, y(), false, true),
  batchMatMul: (a) => tf.matMul(tf.reshape(a, [1, 2, 3]) as tf.Tensor3D, tf.reshape(y(), [1, 3, 2]) as tf.Tensor3D),
  softmax: (a) => tf.softmax(a),
  logSoftmax: (a) => tf.logSoftmax(a),
  logSumExp: (a) => tf.logSumExp(a, 1),
  max: (a) => tf.max(a, 1),
  min: (a) => tf.min(a, 0),
  mean: (a) => tf.mean(a, 0),
  prod: (a) => tf.prod(a, 1),
  norm: (a) => tf.norm(a),
  sqrt: (a) => tf.sqrt(tf.abs(a)),
  rsqrt: (a) => tf.rsqrt(tf.add(tf.abs(a), 1)),
  pow: (a) => tf.pow(tf.abs(a), 1.5),
  exp: (a) => tf.exp(a),
  log: (a) => tf.log(tf.abs(a)),
  sigmoid: (a) => tf.sigmoid(a),
  tanh: (a) => tf.tanh(a),
  erf: (a) => tf.erf(a),
  relu6: (a) => tf.relu6(a),
  leakyRelu: (a) => tf.leakyRelu(a),
  elu: (a) => tf.elu(a),
  softplus: (a) => tf.softplus(a),
  maximum: (a) => tf.maximum(a, y()),
  minimum: (a) => tf.minimum(a, y()),
  clipByValue: (a) => tf.clipByValue(a, -1, 1),
  where: (a) => tf.where(tf.greater(y(), 0), a, y()),
  cumsum: (a) => tf.cumsum(a, 1),
  squaredDifference: (a) => tf.squaredDifference(a, y()),
  div: (a) => tf.div(a, tf.add(tf.abs(y()), 1)),
  oneHotMask: (a) => tf.mul(a, tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3)),
  reverse: (a) => tf.reverse(a, 1),
  roll: (a) => roll(a, [1, -2], [0, 1]),
  mirrorPad: (a) => tf.mirrorPad(a, [[1, 1], [1, 1]], 'reflect'),
  avgPoolSame: (a) => tf.avgPool(img(a), 2, 1, 'same'),
  maxPoolSame: (a) => tf.maxPool(img(a), 2, 1, 'same'), // negative window at the border: wasm's own kernel is wrong here
  maxPoolPad1: (a) => tf.maxPool(img(a), 3, 2, 1),
};

/**
 * cpu references for the native engine where tfjs's cpu kernel is not the gradient of its forward:
 * AvgPoolGrad divides by the whole window although AvgPool leaves padding out of the count (wasm
 * copies that; oneDNN's is exact), so the reference is the same mean as window sums over counts.
 */
const NATIVE_REFERENCE: Record<string, (a: Tensor) => Tensor> = {
  avgPoolSame: (a) => {
    const sums = (t: Tensor) => tf.depthwiseConv2d(img(t), tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'same');
    return tf.div(sums(a), sums(tf.onesLike(a)));
  },
};

describeEachEngine('op gradients equal the cpu backend', (engine) => {

  test.each(Object.keys(OPS))('%s', (name) => {
    const grads: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      tf.setBackend(backend);
      const op = backend === 'cpu' && engine === 'native' ? (NATIVE_REFERENCE[name] ?? OPS[name]) : OPS[name];
      const x = tf.tensor2d([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]]);
      grads.push(tf.tidy(() => tf.grad((a: Tensor) => tf.sum(tf.mul(op(a), op(a))))(x).dataSync() as Float32Array));
    }
    const [ref, got] = grads;
    for (let i = 0; i < ref.length; i++) expect(got[i]).toBeCloseTo(ref[i], 5);
  });
});

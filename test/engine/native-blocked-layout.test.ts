/**
 * The native engine keeps activations in oneDNN's nChw16c layout between convolutions, BatchNorm,
 * ReLU and Add (src/engine/native/blocked-layout.ts). These tests check that the values are those of
 * the cpu backend, that a blocked tensor is what every other kernel and every read sees as NHWC, also
 * after the native kernels are removed, and that the chain really stays blocked.
 */
import { initBackend } from '../../src/engine/backend.js';
import { isBlocked } from '../../src/engine/native/blocked-layout.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { tf, type Tensor, type Tensor4D } from '../../src/engine/tf.js';
import { BACKBONES } from '../../src/models/backbones/index.js';
import { nativeUnavailable } from './backends-under-test.js';
import { relErr } from './rel-err.js';

const why = nativeUnavailable();
const describeNative = why && !process.env.CI ? describe.skip : describe;

/** Loss and gradients of a narrow ResNet-18-CIFAR (training-mode BatchNorm) on the active backend. */
function resnetStep(x: Float32Array, r: Float32Array): { loss: number; grads: Map<string, Float32Array>; blockedOutput: boolean } {
  manualSeed(3);
  const model = BACKBONES.build({ type: 'ResNet_CIFAR', depth: 18, in_channels: 3, stem_channels: 16, base_channels: 16 });
  model.train(true);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const xt = tf.tensor4d(x, [2, 12, 12, 3]);
  const rt = tf.tensor4d(r, [2, 2, 2, 128]);
  let blockedOutput = false;
  const { value, grads } = tf.variableGrads(() => {
    const [y] = model.forward(xt) as Tensor[];
    blockedOutput = isBlocked(y);
    return tf.sum(tf.mul(y, rt));
  }, params.map(([, v]) => v));
  const out = { loss: value.dataSync()[0], grads: new Map(params.map(([n, v]) => [n, grads[v.name].dataSync() as Float32Array])), blockedOutput };
  for (const t of [value, xt, rt, ...Object.values(grads)]) t.dispose();
  model.dispose();
  return out;
}

/**
 * Eval-mode BatchNorm (running statistics, as feature extraction and norm_eval run it) in a narrow ResNet-18-CIFAR:
 * the output of a forward and the gradients of a norm_eval step (weights trainable, BatchNorm frozen), on the active backend.
 */
function resnetEval(x: Float32Array, r: Float32Array): { out: Float32Array; grads: Map<string, Float32Array>; blockedOutput: boolean } {
  manualSeed(3);
  const model = BACKBONES.build({ type: 'ResNet_CIFAR', depth: 18, in_channels: 3, stem_channels: 16, base_channels: 16 });
  const xt = tf.tensor4d(x, [2, 12, 12, 3]);
  const rt = tf.tensor4d(r, [2, 2, 2, 128]);
  // running statistics away from (0, 1): two training-mode forwards on shifted, scaled inputs
  model.train(true);
  for (const k of [3, -2]) tf.tidy(() => void model.forward(tf.add(tf.mul(xt, Math.abs(k)), k)));
  model.train(false);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  let blockedOutput = false;
  let out = new Float32Array(0);
  const { value, grads } = tf.variableGrads(() => {
    const [y] = model.forward(xt) as Tensor[];
    blockedOutput = isBlocked(y);
    out = y.dataSync() as Float32Array;
    return tf.sum(tf.mul(y, rt));
  }, params.map(([, v]) => v));
  const res = { out, grads: new Map(params.map(([n, v]) => [n, grads[v.name].dataSync() as Float32Array])), blockedOutput };
  for (const t of [value, xt, rt, ...Object.values(grads)]) t.dispose();
  model.dispose();
  return res;
}

describeNative('native engine: activations kept in nChw16c between kernels', () => {
  beforeAll(async () => {
    if (why) throw new Error(`the native engine must be built in CI: ${why}`);
  });
  afterAll(async () => {
    await initBackend('wasm', { log: () => {} });
    await tf.setBackend('cpu');
  });

  // Reference: wasm's own kernels (the cpu backend takes a minute here; wasm is checked against it in
  // train-on-wasm.test.ts).
  test('a ResNet-18 step (conv, BatchNorm, ReLU, residual adds) gives the loss and gradients of wasm', async () => {
    manualSeed(1);
    const x = normalArray(2 * 12 * 12 * 3, 0, 1);
    const r = normalArray(2 * 2 * 2 * 128, 0, 1);
    await initBackend('wasm', { log: () => {} });
    const ref = resnetStep(x, r);
    await initBackend('native', { log: () => {}, threads: 1 });
    const got = resnetStep(x, r);
    expect([ref.blockedOutput, got.blockedOutput]).toEqual([false, true]);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
    expect(got.grads.size).toBe(ref.grads.size);
    const errs = [...ref.grads].map(([name, g]) => [name, relErr(got.grads.get(name)!, g)] as const);
    expect(errs.filter(([, e]) => !(e < 1e-4))).toEqual([]);
  });

  // Reference: the cpu backend (wasm's eval-mode FusedBatchNorm gradient differs from cpu's by about 2 % here).
  test('eval-mode BatchNorm (running statistics) keeps the layout blocked and gives the outputs and norm_eval gradients of the cpu backend', async () => {
    manualSeed(4);
    const x = normalArray(2 * 12 * 12 * 3, 0, 1);
    const r = normalArray(2 * 2 * 2 * 128, 0, 1);
    await initBackend('wasm', { log: () => {} });
    await tf.setBackend('cpu');
    const ref = resnetEval(x, r);
    for (const threads of [1, 2]) {
      await initBackend('native', { log: () => {}, threads });
      const got = resnetEval(x, r);
      expect([ref.blockedOutput, got.blockedOutput]).toEqual([false, true]);
      expect(relErr(got.out, ref.out)).toBeLessThan(1e-5);
      const errs = [...ref.grads].map(([name, g]) => [name, relErr(got.grads.get(name)!, g)] as const);
      expect(errs.filter(([, e]) => !(e < 1e-4))).toEqual([]);
    }
  });

  test('conv -> ReLU -> same-shape reshape stays blocked; other kernels and reads see NHWC values', async () => {
    manualSeed(2);
    const x = normalArray(2 * 6 * 6 * 16, 0, 1);
    const w = normalArray(3 * 3 * 16 * 32, 0, 0.2);
    const expected = async (backend: 'cpu' | 'native') => {
      if (backend === 'cpu') await tf.setBackend('cpu');
      else await initBackend('native', { log: () => {}, threads: 1 });
      return tf.tidy(() => tf.relu(tf.conv2d(tf.tensor4d(x, [2, 6, 6, 16]), tf.tensor4d(w, [3, 3, 16, 32]), 1, 'same')).dataSync() as Float32Array);
    };
    const ref = await expected('cpu');
    await initBackend('native', { log: () => {}, threads: 1 });
    const y = tf.relu(tf.conv2d(tf.tensor4d(x, [2, 6, 6, 16]), tf.tensor4d(w, [3, 3, 16, 32]), 1, 'same')) as Tensor4D;
    const same = tf.reshape(y, [2, 6, 6, 32]);
    expect([isBlocked(y), isBlocked(same)]).toEqual([true, true]);
    // A kernel that does not take nChw16c (Multiply, Transpose, Slice) gets NHWC data.
    expect(relErr(tf.mul(y, 2).dataSync() as Float32Array, ref.map((v) => 2 * v))).toBeLessThan(1e-6);
    expect(isBlocked(y)).toBe(false);
    const z = tf.relu(tf.conv2d(tf.tensor4d(x, [2, 6, 6, 16]), tf.tensor4d(w, [3, 3, 16, 32]), 1, 'same'));
    const t = tf.transpose(z, [0, 3, 1, 2]);
    const refT = tf.tidy(() => tf.transpose(tf.tensor4d(ref, [2, 6, 6, 32]), [0, 3, 1, 2]).dataSync() as Float32Array);
    expect(relErr(t.dataSync() as Float32Array, refT)).toBeLessThan(1e-6);
    // A blocked tensor that outlives the native kernels is still read as NHWC by wasm's kernels.
    const live = tf.relu(tf.conv2d(tf.tensor4d(x, [2, 6, 6, 16]), tf.tensor4d(w, [3, 3, 16, 32]), 1, 'same'));
    expect(isBlocked(live)).toBe(true);
    await initBackend('wasm', { log: () => {} });
    expect(relErr(tf.slice(live, [0, 0, 0, 0], [2, 6, 6, 32]).dataSync() as Float32Array, ref)).toBeLessThan(1e-6);
    expect(relErr(live.dataSync() as Float32Array, await expected('native'))).toBeLessThan(1e-6);
  });

  test('SSL_NATIVE_KEEP_BLOCKED=0 keeps every activation NHWC', async () => {
    process.env.SSL_NATIVE_KEEP_BLOCKED = '0';
    try {
      await initBackend('native', { log: () => {}, threads: 1 });
      const y = tf.conv2d(tf.ones([1, 4, 4, 16]) as Tensor4D, tf.ones([1, 1, 16, 16]) as Tensor4D, 1, 'same');
      expect(isBlocked(y)).toBe(false);
      expect(Array.from(y.dataSync()).every((v) => v === 16)).toBe(true);
    } finally {
      delete process.env.SSL_NATIVE_KEEP_BLOCKED;
    }
  });
});

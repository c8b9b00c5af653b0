import { jest } from '@jest/globals';
import { initBackend } from '../../src/engine/backend.js';
import { gelu } from '../../src/engine/layers/activation.js';
import { BatchNorm, setBatchStatsReducer } from '../../src/engine/layers/batch-norm.js';
import { LayerNorm } from '../../src/engine/layers/layer-norm.js';
import { loadNativeAddon, type NativeAddon } from '../../src/engine/native/addon.js';
import { installNativeKernels, type NativeKernelOptions } from '../../src/engine/native/kernels.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { runCli } from '../helpers/run-cli.js';
import { nativeUnavailable } from './backends-under-test.js';
import { relErr } from './rel-err.js';

const why = nativeUnavailable();
const describeNative = why && !process.env.CI ? describe.skip : describe;
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Conv2D forward, input and filter gradient of one case, computed on the active backend. */
function convPasses(x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], strides: number, pad: Pad, dilations: number): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape as never);
    const wt = tf.tensor4d(w, wShape as never);
    const y = tf.conv2d(xt, wt, strides, pad, 'NHWC', dilations);
    const dy = tf.tensor(normalArray(y.size, 0, 1), y.shape);
    // Through Conv2D's registered gradient: native backprop kernels on native; on cpu tfjs's kernels, or
    // for dilations (which tfjs cannot differentiate) ssl's forward-conv formulation.
    const [dx, dw] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dilations), dy)))([xt, wt]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

const CONV_CASES: [string, number[], number[], number, Pad, number][] = [
  ['3x3 s1 same', [2, 9, 9, 5], [3, 3, 5, 7], 1, 'same', 1],
  ['3x3 s2 same (asymmetric padding)', [2, 8, 8, 6], [3, 3, 6, 4], 2, 'same', 1],
  ['3x3 s2 explicit pad 1, odd size', [1, 11, 9, 3], [3, 3, 3, 5], 2, [[0, 0], [1, 1], [1, 1], [0, 0]], 1],
  ['1x1 s2 (downsample)', [3, 8, 8, 16], [1, 1, 16, 32], 2, 'valid', 1],
  ['7x7 s2 pad 3 (stem)', [1, 16, 16, 3], [7, 7, 3, 8], 2, [[0, 0], [3, 3], [3, 3], [0, 0]], 1],
  ['3x3 dilation 2', [1, 10, 10, 4], [3, 3, 4, 6], 1, [[0, 0], [2, 2], [2, 2], [0, 0]], 2],
  ['4x4 s4 valid (patch embedding)', [2, 16, 16, 3], [4, 4, 3, 8], 4, 'valid', 1],
];

describeNative('native engine (oneDNN kernels on the wasm heap)', () => {
  let addon: NativeAddon;
  beforeAll(async () => {
    if (why) throw new Error(`the native engine must be built in CI: ${why}`);
    addon = (loadNativeAddon() as { addon: NativeAddon }).addon;
    await initBackend('native', { log: () => {}, threads: 2 });
  });
  afterAll(async () => {
    await initBackend('wasm', { log: () => {} });
    await tf.setBackend('cpu');
  });

  const reference = (c: (typeof CONV_CASES)[number], seed: number) => {
    manualSeed(seed);
    const x = normalArray(c[1].reduce((a, b) => a * b), 0, 1);
    const w = normalArray(c[2].reduce((a, b) => a * b), 0, 1);
    tf.setBackend('cpu');
    manualSeed(seed + 1);
    const ref = convPasses(x, c[1], w, c[2], c[3], c[4], c[5]);
    tf.setBackend('wasm');
    return { x, w, ref };
  };

  for (const layout of [{ blocked: true, bf16: false }, { blocked: false, bf16: false }] as NativeKernelOptions[]) {
    test.each(CONV_CASES)(`conv passes equal the cpu backend within 1e-4, ${layout.blocked ? 'blocked' : 'NHWC'} layouts: %s`, (...c) => {
      installNativeKernels(addon, layout);
      const { x, w, ref } = reference(c, 3);
      manualSeed(4);
      const got = convPasses(x, c[1], w, c[2], c[3], c[4], c[5]);
      ['forward', 'input gradient', 'filter gradient'].forEach((pass, i) => {
        const e = relErr(got[i], ref[i]);
        if (!(e < 1e-4)) throw new Error(`${pass}: relative error ${e}`);
      });
    });
  }

  test('bf16 convolutions stay within 1e-2 of fp32 (or the CPU has no bf16 and the backend says so)', async () => {
    const lines: string[] = [];
    const choice = await initBackend('native', { log: (l) => lines.push(l), threads: 2, precision: 'bf16' });
    if (!addon.info().bf16) {
      expect(choice.precision).toBe('fp32');
      expect(lines.join('\n')).toMatch(/warning: bf16 requested, computing in fp32: this CPU .* has neither avx512_bf16 nor AMX/);
      return;
    }
    expect(choice.precision).toBe('bf16');
    const c = CONV_CASES[0];
    const { x, w, ref } = reference(c, 5);
    manualSeed(6);
    const got = convPasses(x, c[1], w, c[2], c[3], c[4], c[5]);
    for (let i = 0; i < 3; i++) {
      expect(relErr(got[i], ref[i])).toBeLessThan(1e-2);
      expect(relErr(got[i], ref[i])).toBeGreaterThan(1e-6); // it did compute in bf16
    }
    await initBackend('native', { log: () => {}, threads: 2 });
  });

  test('BatchMatMul equals the cpu backend: transposes, batch broadcast, rank 4', () => {
    manualSeed(7);
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 5, 7], [3, 7, 4], false, false],
      [[3, 7, 5], [3, 4, 7], true, true],
      [[1, 5, 7], [4, 7, 2], false, false],
      [[4, 5, 7], [1, 2, 7], false, true],
      [[2, 3, 6, 8], [2, 3, 8, 5], false, false],
      [[9, 16], [16, 10], false, false],
    ];
    const fused = tf.tidy(() => {
      const [x, w, bias] = [normalArray(6 * 5, 0, 1), normalArray(5 * 4, 0, 1), normalArray(4, 0, 1)];
      const run = () => tf.fused.matMul({ a: tf.tensor2d(x, [6, 5]), b: tf.tensor2d(w, [5, 4]), bias: tf.tensor1d(bias) }).dataSync() as Float32Array;
      tf.setBackend('cpu');
      const ref = run();
      tf.setBackend('wasm');
      return relErr(run(), ref);
    });
    expect(fused).toBeLessThan(1e-5);
    for (const [as, bs, ta, tb] of cases) {
      const a = normalArray(as.reduce((p, q) => p * q), 0, 1);
      const b = normalArray(bs.reduce((p, q) => p * q), 0, 1);
      const run = () => tf.tidy(() => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb).dataSync() as Float32Array);
      tf.setBackend('cpu');
      const ref = run();
      tf.setBackend('wasm');
      expect(relErr(run(), ref)).toBeLessThan(1e-5);
    }
  });

  test('elementwise kernels (broadcast add/sub/mul, ReLU and its gradient), sums over leading or trailing axes, strided copies (transpose, slice, unstack) and BatchNorm training equal the cpu backend', () => {
    manualSeed(12);
    const shapes: [number[], number[]][] = [[[4, 5, 6], [4, 5, 6]], [[4, 5, 6], [6]], [[6], [4, 5, 6]], [[4, 5, 6], [1, 5, 6]], [[4, 5, 6], []], [[3, 1], [3, 4]]];
    for (const [as, bs] of shapes) {
      const a = normalArray(Math.max(1, as.reduce((p, q) => p * q, 1)), 0, 1);
      const b = normalArray(Math.max(1, bs.reduce((p, q) => p * q, 1)), 0, 1);
      const run = () => tf.tidy(() => [tf.add, tf.sub, tf.mul].map((f) => f(tf.tensor(a, as), tf.tensor(b, bs)).dataSync() as Float32Array));
      tf.setBackend('cpu');
      const ref = run();
      tf.setBackend('wasm');
      run().forEach((got, i) => expect(relErr(got, ref[i])).toBeLessThan(1e-6));
    }
    const t = normalArray(2 * 3 * 4 * 5, 0, 1);
    const copies = () =>
      tf.tidy(() => {
        const x = tf.tensor(t, [2, 3, 4, 5]);
        return [
          tf.transpose(x, [2, 0, 3, 1]), tf.transpose(x, [0, 2, 1, 3]), tf.slice(x, [1, 0, 2, 1], [1, -1, 2, 3]),
          ...tf.unstack(x, 0), ...tf.unstack(x, 2), tf.slice(tf.tensor1d([1, 2, 3, 4], 'int32'), [1], [2]),
        ].map((y) => [...y.dataSync()].concat(y.shape));
      });
    const sums = () =>
      tf.tidy(() => {
        const x = tf.tensor(t, [2, 3, 4, 5]);
        const cases: [number | number[], boolean][] = [[0, false], [[0, 1, 2], false], [[0, 1], true], [3, false], [[2, 3], true], [[1, 2, 3], false], [[0, 1, 2, 3], false], [[0, 2], false], [-1, true]];
        return cases.map(([axes, keep]) => [...tf.sum(x, axes, keep).dataSync()].concat(tf.sum(x, axes, keep).shape));
      });
    const spy = jest.spyOn(addon, 'reduceSum');
    tf.setBackend('cpu');
    const refSums = sums();
    tf.setBackend('wasm');
    sums().forEach((got, i) => expect(relErr(Float32Array.from(got), Float32Array.from(refSums[i]))).toBeLessThan(1e-6));
    expect(spy).toHaveBeenCalledTimes(2 * 8); // all but the non-contiguous [0, 2]
    spy.mockRestore();
    tf.setBackend('cpu');
    const refCopies = copies();
    tf.setBackend('wasm');
    expect(copies()).toEqual(refCopies);
    const x = normalArray(2 * 5 * 5 * 8, 3, 0.5); // |mean| >> std: no cancellation in the variance
    const bn = (backend: string) => {
      tf.setBackend(backend);
      const layer = new BatchNorm(8);
      const out = tf.tidy(() => {
        const xt = tf.tensor4d(x, [2, 5, 5, 8]);
        const g = tf.grads((v: Tensor, w: Tensor) => tf.sum(tf.mul(tf.relu(layer.forward(v)), tf.sin(v))))([xt, layer.weight as unknown as Tensor]);
        return [layer.forward(xt), ...g].map((t) => t.dataSync() as Float32Array);
      });
      const stats = [layer.runningMean!, layer.runningVar!].map((t) => t.dataSync() as Float32Array);
      layer.dispose();
      return [...out, ...stats];
    };
    const ref = bn('cpu');
    bn('wasm').forEach((got, i) => {
      const e = relErr(got, ref[i]);
      if (!(e < 1e-4)) throw new Error(`BatchNorm output ${i}: relative error ${e}`);
    });
  });

  test('SyncBN on native (Σx, Σx² kernels, normalisation with the reduced statistics) equals the portable SyncBN on cpu: output, gradients, running statistics', () => {
    // A stand-in for the all-reduce over two ranks holding the same batch, differentiable as the real one.
    setBatchStatsReducer((l) => ({ sum: tf.mul(l.sum, 2) as tf.Tensor1D, sumSq: tf.mul(l.sumSq, 2) as tf.Tensor1D, count: 2 * l.count }));
    const spy = jest.spyOn(addon, 'batchNormApplyBackward');
    try {
      manualSeed(31);
      const x = normalArray(3 * 4 * 4 * 6, 2, 0.7);
      const w = normalArray(6, 1, 0.3);
      const run = (backend: string) => {
        tf.setBackend(backend);
        const layer = new BatchNorm(6, { sync: true });
        layer.weight!.assign(tf.tensor1d(w));
        const out = tf.tidy(() => {
          const xt = tf.tensor4d(x, [3, 4, 4, 6]);
          const g = tf.grads((v: Tensor, gm: Tensor, bt: Tensor) => tf.sum(tf.mul(layer.forward(v), tf.sin(v))))([xt, layer.weight as unknown as Tensor, layer.bias as unknown as Tensor]);
          return [layer.forward(xt), ...g].map((t) => t.dataSync() as Float32Array);
        });
        const stats = [layer.runningMean!, layer.runningVar!].map((t) => t.dataSync() as Float32Array);
        layer.dispose();
        return [...out, ...stats];
      };
      const ref = run('cpu');
      run('wasm').forEach((got, i) => {
        const e = relErr(got, ref[i]);
        if (!(e < 1e-4)) throw new Error(`SyncBN output ${i}: relative error ${e}`);
      });
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      setBatchStatsReducer(null);
    }
  });

  /** Each function's value and its gradient (against a fixed random cotangent) on cpu and on native. */
  type Fn = (x: Tensor) => Tensor;
  /** `[f, g]`: native f against g on cpu, where tfjs's own cpu kernel is wrong. */
  const againstCpu = (xShape: number[], seed: number, fns: Record<string, Fn | [Fn, Fn]>, xOf = (v: Float32Array) => v) => {
    manualSeed(seed);
    const x = xOf(normalArray(xShape.reduce((a, b) => a * b), 0, 1));
    const cotangents: Float32Array[] = [];
    const run = () =>
      Object.values(fns).map((fg, i) =>
        tf.tidy(() => {
          const f = Array.isArray(fg) ? fg[tf.getBackend() === 'cpu' ? 1 : 0] : fg;
          const xt = tf.tensor(x, xShape);
          const y = f(xt);
          cotangents[i] ??= normalArray(y.size, 0, 1);
          const dy = tf.tensor(cotangents[i], y.shape);
          return [y, tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), dy)))(xt)].map((t) => t.dataSync() as Float32Array);
        }),
      );
    tf.setBackend('cpu');
    const ref = run();
    tf.setBackend('wasm');
    const got = run();
    Object.keys(fns).forEach((name, i) =>
      ['forward', 'gradient'].forEach((pass, j) => {
        const e = relErr(got[i][j], ref[i][j]);
        if (!(e < 1e-4)) throw new Error(`${name} ${pass}: relative error ${e}`);
      }),
    );
  };

  /**
   * Average pooling that leaves padding out of the count, as window sums (a depthwise convolution
   * with ones) over window sizes: tfjs's cpu AvgPoolGrad divides by the full window even where its
   * forward left padding out, so its gradient is not the forward's; oneDNN's is.
   */
  const windowMean = (k: number, s: number, pad: 'same' | number): Fn => (x) => {
    const ones = tf.ones([k, k, x.shape[3]!, 1]) as tf.Tensor4D;
    const sums = (t: Tensor) => tf.depthwiseConv2d(t as tf.Tensor4D, ones, s, pad);
    return tf.div(sums(x), sums(tf.onesLike(x)));
  };

  test('max and average pooling, forward and backward, equal the cpu backend within 1e-4 (ties after ReLU go to the first maximum)', () => {
    installNativeKernels(addon, { blocked: true, bf16: false });
    const img = (f: (x: tf.Tensor4D) => Tensor) => (x: Tensor) => f(x as tf.Tensor4D);
    const pools = {
      'max 3x3 s2 pad 1 (ResNet stem)': img((x) => tf.maxPool(x, 3, 2, 1)),
      'max 2x2 s2 valid': img((x) => tf.maxPool(x, 2, 2, 'valid')),
      'max 2x2 s1 same': img((x) => tf.maxPool(x, 2, 1, 'same')),
      'max 3x3 s2 same, odd size': img((x) => tf.maxPool(x, 3, 2, 'same')),
      'avg 2x2 s2 valid': img((x) => tf.avgPool(x, 2, 2, 'valid')),
      'avg 3x3 s1 same (padding excluded)': [img((x) => tf.avgPool(x, 3, 1, 'same')), windowMean(3, 1, 'same')],
      'avg 3x3 s2 pad 1': [img((x) => tf.avgPool(x, 3, 2, 1)), windowMean(3, 2, 1)],
    } as Record<string, Fn | [Fn, Fn]>;
    const spies = [jest.spyOn(addon, 'pool2dForward'), jest.spyOn(addon, 'pool2dBackward')];
    againstCpu([2, 9, 7, 5], 21, pools);
    const reluOut = (v: Float32Array) => v.map((a) => Math.max(0, Math.round(a * 2) / 2)); // many equal values and zeros
    againstCpu([2, 8, 8, 16], 22, pools, reluOut);
    for (const spy of spies) {
      expect(spy).toHaveBeenCalledTimes(2 * 7 * (spy === spies[0] ? 2 : 1)); // every case ran natively (forward twice: value and tape)
      spy.mockRestore();
    }
  });

  test('softmax, LayerNorm and GELU, forward and backward, equal the cpu backend within 1e-4', () => {
    installNativeKernels(addon, { blocked: true, bf16: false });
    const ln = new LayerNorm(24, 1e-6);
    manualSeed(5);
    tf.tidy(() => {
      ln.weight!.assign(tf.add(tf.tensor1d(normalArray(24, 0, 0.5)), 1));
      ln.bias!.assign(tf.tensor1d(normalArray(24, 0, 0.5)));
    });
    const spies = (['softmaxForward', 'softmaxBackward', 'layerNormForward', 'layerNormBackward', 'gelu', 'geluBackward'] as const).map((f) => jest.spyOn(addon, f));
    againstCpu([2, 3, 7, 24], 23, {
      'softmax (attention rows)': (x) => tf.softmax(tf.mul(x, 3)),
      'LayerNorm (x)': (x) => ln.forward(tf.add(tf.mul(x, 2), 5)),
      'LayerNorm (γ)': (x) => tf.mul(ln.forward(tf.ones([2, 3, 7, 24])), x),
      GELU: (x) => gelu(tf.mul(x, 3)),
    });
    const dParams = (backend: string) => {
      tf.setBackend(backend);
      manualSeed(24);
      return tf.tidy(() => {
        const x = tf.tensor(normalArray(5 * 24, 0, 1), [5, 24]);
        const g = tf.grads((w: Tensor, b: Tensor) => tf.sum(tf.mul(ln.forward(x), tf.sin(tf.add(x, tf.add(w, b))))))([ln.weight as unknown as Tensor, ln.bias as unknown as Tensor]);
        return g.map((t) => t.dataSync() as Float32Array);
      });
    };
    const ref = dParams('cpu');
    dParams('wasm').forEach((got, i) => expect(relErr(got, ref[i])).toBeLessThan(1e-4));
    for (const spy of spies) {
      expect(spy).toHaveBeenCalled();
      spy.mockRestore();
    }
    ln.dispose();
  });

  test('a shape or buffer the addon rejects is a JS error naming the op and the shapes, and the process lives on', () => {
    const heap = new ArrayBuffer(1024);
    const params = Int32Array.from([1, 4, 4, 2, 3, 3, 2, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(() => addon.conv2dForward(heap, params, 0, 0, 4096)).toThrow(/^Conv2D: tensor outside the wasm heap/);
    const inconsistent = Int32Array.from([1, 4, 4, 2, 3, 3, 2, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    const big = new ArrayBuffer(4096);
    expect(() => addon.conv2dForward(big, inconsistent, 0, 256, 512)).toThrow(/^Conv2D: .*x \[1,4,4,2\], filter \[3,3,2,2\], out \[1,9,9,2\]/);
    expect(() => addon.batchMatMul(big, Int32Array.from([2, 3, 4, 5, 6, 0, 0, 0, 0]), 0, 0, 0)).toThrow(/^BatchMatMul: batch dimensions do not broadcast \(a \[2,4,5\], b \[3,5,6\]\)/);
    expect(() => addon.conv2dForward(big, Int32Array.from([1, 2]), 0, 0, 0)).toThrow(/^Conv2D: expected 19 parameters/);
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).toBe(3);
  });

  test('200 training steps of a conv layer leak no tensors, primitives or memory', () => {
    const x = tf.randomNormal([8, 16, 16, 8], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 8, 8], 0, 0.1, 'float32', 2));
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.conv2d(x as tf.Tensor4D, w as unknown as tf.Tensor4D, 1, 'same'))) as tf.Scalar, [w]);
        w.assign(tf.sub(w, tf.mul(grads[w.name], 0.01)));
        return value.dataSync()[0];
      });
    for (let i = 0; i < 20; i++) step();
    const tensors = tf.memory().numTensors;
    const primitives = addon.cacheSize();
    global.gc?.();
    const rss = process.memoryUsage().rss;
    const losses: number[] = [];
    for (let i = 0; i < 200; i++) losses.push(step());
    expect(tf.memory().numTensors).toBe(tensors);
    expect(addon.cacheSize()).toBe(primitives);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    expect(losses[199]).toBeLessThan(losses[0]); // it trained
    x.dispose();
    w.dispose();
  });

  test('one thread, same inputs: bit-identical results', async () => {
    await initBackend('native', { log: () => {}, threads: 1 });
    const c = CONV_CASES[0];
    manualSeed(8);
    const x = normalArray(c[1].reduce((a, b) => a * b), 0, 1);
    const w = normalArray(c[2].reduce((a, b) => a * b), 0, 1);
    manualSeed(9);
    const first = convPasses(x, c[1], w, c[2], c[3], c[4], c[5]);
    manualSeed(9);
    const second = convPasses(x, c[1], w, c[2], c[3], c[4], c[5]);
    first.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(second[i].buffer))).toBe(true));
    await initBackend('native', { log: () => {}, threads: 2 });
  });

  test('the backend line names oneDNN, the ISA and the threads; auto prefers native over wasm', async () => {
    const lines: string[] = [];
    const choice = await initBackend('auto', { log: (l) => lines.push(l), threads: 2 });
    expect(choice.name).toBe('native');
    expect(choice.threads).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    expect(lines[0]).toMatch(/^\[engine\] backend native: oneDNN \d+\.\d+\.\d+ \(\w+\), 2 threads, fp32; other ops on wasm$/);
    expect(choice.skipped.map((s) => s.split(':')[0])).toEqual(['tensorflow (GPU)', 'webgpu']);
  });
});

describe('native engine unavailable', () => {
  test('--backend native without the addon: one line naming what is missing and how to install it, exit 2', () => {
    const r = runCli(['train', 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb32-20it_synthetic.yaml', '--backend', 'native', '--work-dir', '/tmp/ssl-native-missing'], {
      env: { SSL_NATIVE_ADDON: '/nonexistent/ssl_native.node' },
    });
    expect(r.status).toBe(2);
    const errorLines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|not available/i.test(l));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/backend "native" is not available \(native: SSL_NATIVE_ADDON=\/nonexistent\/ssl_native\.node does not exist\)/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
  });

  test('without the addon, auto falls back to wasm and says why native was passed over', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `import('./lib/src/engine/backend.js').then(async (m) => { const c = await m.initBackend('auto', { log: (l) => console.log(l) }); console.log('chose', c.name); })`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, SSL_NATIVE_ADDON: '/nonexistent.node' }, encoding: 'utf8' });
    expect(out).toMatch(/^\[engine\] backend wasm: /m);
    expect(out).toMatch(/passed over native: SSL_NATIVE_ADDON=\/nonexistent\.node does not exist/);
    expect(out).toMatch(/chose wasm/);
  });
});

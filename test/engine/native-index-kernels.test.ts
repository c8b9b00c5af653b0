import { jest } from '@jest/globals';
import { initBackend } from '../../src/engine/backend.js';
import { loadNativeAddon, type NativeAddon } from '../../src/engine/native/addon.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { gatherTokens } from '../../src/models/tokens.js';
import { nativeUnavailable } from './backends-under-test.js';

const why = nativeUnavailable();
const describeNative = why && !process.env.CI ? describe.skip : describe;

/** f on the cpu backend and on native (wasm + native kernels): values, shapes and dtypes. */
function onBoth(f: () => Tensor | Tensor[]) {
  const run = () => tf.tidy(() => [f()].flat().map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) })));
  tf.setBackend('cpu');
  const ref = run();
  tf.setBackend('wasm');
  return { got: run(), ref };
}

const ramp = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
  tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (dtype === 'int32' ? i * 7 - 40 : Math.sin(i) * 3)), shape, dtype);

describeNative('native Tile, SplitV, GatherV2, UnsortedSegmentSum', () => {
  let addon: NativeAddon;
  beforeAll(async () => {
    if (why) throw new Error(`the native engine must be built in CI: ${why}`);
    addon = (loadNativeAddon() as { addon: NativeAddon }).addon;
    await initBackend('native', { log: () => {}, threads: 1 });
  });
  afterAll(async () => {
    await initBackend('wasm', { log: () => {} });
    await tf.setBackend('cpu');
  });

  test.each([
    [[1, 1, 6], [4, 5, 1], 'float32'],
    [[2, 3], [2, 3], 'int32'],
    [[5], [3], 'float32'],
    [[2, 1, 3, 2], [1, 4, 2, 3], 'float32'],
    [[3, 2], [1, 1], 'float32'],
  ] as [number[], number[], 'float32' | 'int32'][])('Tile %j by %j (%s) equals the cpu backend, by strided copies', (shape, reps, dtype) => {
    const spy = jest.spyOn(addon, 'stridedCopy');
    const { got, ref } = onBoth(() => tf.tile(ramp(shape, dtype), reps));
    expect(got).toEqual(ref);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  test('SplitV along each axis, even and uneven, equals the cpu backend', () => {
    for (const [shape, splits, axis] of [[[4, 6, 3], [1, 5], 1], [[4, 6, 3], 2, 0], [[4, 6, 3], [1, 1, 1], -1], [[8], [3, 5], 0]] as [number[], number | number[], number][]) {
      const { got, ref } = onBoth(() => tf.split(ramp(shape), splits, axis));
      expect(got).toEqual(ref);
    }
    expect(onBoth(() => tf.split(ramp([3, 4], 'int32'), 2, 1)).got).toEqual(onBoth(() => tf.split(ramp([3, 4], 'int32'), 2, 1)).ref);
  });

  test('GatherV2 on axis 0 and inner axes, repeated indices and int32 data, equals the cpu backend; an index out of range is still an error', () => {
    const ids = tf.tensor1d([2, 0, 2, 1], 'int32');
    for (const [shape, axis] of [[[3, 4], 0], [[2, 3, 5], 1], [[2, 4, 3], 2]] as [number[], number][]) {
      const idx = axis === 2 ? tf.tensor2d([[0, 2], [1, 1]], [2, 2], 'int32') : ids;
      const { got, ref } = onBoth(() => tf.gather(ramp(shape), idx, axis));
      expect(got).toEqual(ref);
    }
    expect(onBoth(() => tf.gather(ramp([3, 2], 'int32'), ids)).got).toEqual(onBoth(() => tf.gather(ramp([3, 2], 'int32'), ids)).ref);
    expect(() => tf.gather(ramp([3, 4]), tf.tensor1d([3], 'int32')).dataSync()).toThrow();
  });

  test('UnsortedSegmentSum (gather gradient) equals the cpu backend, ids outside the segments dropped', () => {
    const ids = tf.tensor1d([1, 3, 1, 0, 4], 'int32');
    const { got, ref } = onBoth(() => tf.unsortedSegmentSum(ramp([5, 3]), ids, 4));
    expect(got.map((g) => g.shape)).toEqual(ref.map((r) => r.shape));
    got[0].values.forEach((v, i) => expect(v).toBeCloseTo(ref[0].values[i], 5));
  });

  test("MAE's token shuffle (gatherTokens) and its gradient equal the cpu backend", () => {
    const { got, ref } = onBoth(() => {
      const x = ramp([2, 6, 4]);
      const keep = tf.tensor2d([[5, 0, 3], [1, 2, 4]], [2, 3], 'int32');
      const w = ramp([2, 3, 4]);
      const [dx] = tf.grads((a: Tensor) => tf.sum(tf.mul(gatherTokens(a as tf.Tensor3D, keep), w)))([x]);
      return [gatherTokens(x as tf.Tensor3D, keep), dx];
    });
    expect(got).toEqual(ref);
  });
});

/**
 * Whole training steps on the native engine, the way `ssl train` runs them (SimCLR on the
 * Fashion-MNIST recipe's narrow ResNet-18: convolutions in oneDNN's blocked layout, BatchNorm's
 * native passes, the MoCoV2Neck's matmuls, NT-Xent, the fused SGD update), at a small batch:
 * one thread and the same seed give bit-identical losses and weights, in fp32 and in bf16, and
 * 200 steps leave tf.memory(), the addon's primitive cache and the process RSS flat.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../../src/config/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadNativeAddon, type NativeAddon } from '../../src/engine/native/addon.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';
import type { BaseAlgorithm } from '../../src/models/algorithms/base.js';
import { buildModel } from '../../src/models/index.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import { nativeUnavailable } from './backends-under-test.js';

const why = nativeUnavailable();
const describeNative = why && !process.env.CI ? describe.skip : describe;
const CONFIG = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml';
const SHAPE = [8, 16, 16, 1];
// A full garbage collection before each RSS reading, so garbage not yet collected is not counted as growth.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const wasmHeapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;

/** The recipe's SimCLR and SGD (seeded), and a step over fixed two-view batches (batch k uses seed k). */
function trainer(seed: number) {
  const cfg = loadConfig(CONFIG);
  manualSeed(seed);
  const model = buildModel(cfg.model) as BaseAlgorithm;
  model.train(true);
  const { optimizer } = buildOptimizer(model.namedParameters(), cfg.optimizer as Record<string, unknown>);
  const size = SHAPE.reduce((a, b) => a * b);
  let k = 0;
  const step = async () => {
    manualSeed(1000 + (k++ % 4));
    const views = [0, 1].map(() => ({ data: normalArray(size, 0, 1), shape: SHAPE }));
    const o = await model.trainStep({ views }, { dist: { rank: 0, worldSize: 1 } } as never);
    optimizer.step(o.grads);
    for (const g of o.grads.values()) g.dispose();
    return o.loss;
  };
  const weights = () => model.namedParameters().map(([n, v]) => [n, Buffer.from((v.dataSync() as Float32Array).buffer)] as const);
  return { model, optimizer, step, weights };
}

describeNative('native engine: whole training steps (SimCLR, narrow ResNet-18)', () => {
  let addon: NativeAddon;
  beforeAll(() => {
    if (why) throw new Error(`the native engine must be built in CI: ${why}`);
    addon = (loadNativeAddon() as { addon: NativeAddon }).addon;
  });
  afterAll(async () => {
    await initBackend('wasm', { log: () => {} });
    await tf.setBackend('cpu');
  });

  for (const precision of ['fp32', 'bf16'] as const) {
    test(`one thread, same seed: bit-identical losses and weights (${precision})`, async () => {
      const choice = await initBackend('native', { log: () => {}, threads: 1, precision });
      if (choice.precision !== precision) {
        expect(addon.info().bf16).toBe(false); // only a CPU without bf16 may fall back (and then says so)
        return;
      }
      const runs: { losses: number[]; weights: (readonly [string, Buffer])[] }[] = [];
      for (let r = 0; r < 2; r++) {
        const t = trainer(3);
        const losses: number[] = [];
        for (let i = 0; i < 3; i++) losses.push(await t.step());
        runs.push({ losses, weights: t.weights() });
        t.model.dispose();
      }
      expect(runs[1].losses).toEqual(runs[0].losses);
      expect(runs[0].losses.every(Number.isFinite)).toBe(true);
      const differing = runs[0].weights.filter(([, b], i) => !b.equals(runs[1].weights[i][1])).map(([n]) => n);
      expect(differing).toEqual([]);
      // the weights did move: the comparison is not between two untouched initialisations
      const init = trainer(3);
      expect(init.weights().filter(([, b], i) => !b.equals(runs[0].weights[i][1])).length).toBeGreaterThan(10);
      init.model.dispose();
    }, 60_000);
  }

  test('200 steps in bf16 (fp32 where the CPU lacks it) leak no tensors, primitives or memory', async () => {
    await initBackend('native', { log: () => {}, threads: 1, precision: addon.info().bf16 ? 'bf16' : 'fp32' });
    const t = trainer(3);
    for (let i = 0; i < 10; i++) await t.step();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const primitives = addon.cacheSize();
    const heapBytes = wasmHeapBytes();
    gc();
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) await t.step();
    gc();
    const rss100 = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) await t.step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    expect(addon.cacheSize()).toBe(primitives);
    expect(wasmHeapBytes()).toBe(heapBytes);
    // One step's activations are ~3 MB: a per-step leak of any of them, on the wasm heap or in the addon's
    // own allocations, adds ~300 MB per 100 steps, in the second 100 as in the first. The allocator's own
    // growth levels off (measured: +1 MB over 350 steps alone; +26 and +75 MB over 200 steps in full CI runs
    // with two jest workers, while tensors, primitives and the wasm heap stayed flat), so the second hundred
    // steps get the tight bound.
    gc();
    const rss200 = process.memoryUsage().rss;
    expect(rss200 - rss100).toBeLessThan(64 * 2 ** 20);
    expect(rss200 - rss0).toBeLessThan(192 * 2 ** 20);
    t.model.dispose();
  }, 120_000);
});

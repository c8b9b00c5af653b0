/**
 * Optimizer step time, TF.js ops on wasm against the native engine's fused updates, over a
 * ResNet-18's parameter sizes (11.2 M floats in 20 tensors), at one thread; engines alternate in
 * rounds, medians of 5 steps per round.
 *
 * Usage: tsc -p tsconfig.json && node lib/benchmarks/engine-optimizers.js [--rounds 3]
 */
import { initBackend } from '../src/engine/backend.js';
import { tf, type Tensor } from '../src/engine/tf.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import { arg, median } from './bench-args.js';

const SIZES = [9408, 36864, 36864, 36864, 36864, 73728, 147456, 8192, 147456, 147456, 294912, 589824, 32768, 589824, 589824, 1179648, 2359296, 131072, 2359296, 2359296];
const CONFIGS: Record<string, Record<string, unknown>> = {
  SGD: { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 1e-4 },
  LARS: { type: 'LARS', lr: 0.1, momentum: 0.9, weight_decay: 1e-6 },
  AdamW: { type: 'AdamW', lr: 1e-3, weight_decay: 0.05 },
};

const ms: Record<string, number[]> = {};
for (let round = 0; round < arg('rounds', 3); round++) {
  for (const engine of round % 2 ? ['native', 'wasm'] : ['wasm', 'native']) {
    await initBackend(engine, { log: () => {}, threads: 1 });
    for (const [type, cfg] of Object.entries(CONFIGS)) {
      const vars = SIZES.map((n) => tf.variable(tf.randomNormal([n])));
      const grads = new Map<string, Tensor>(vars.map((_, i) => [`p${i}`, tf.randomNormal([SIZES[i]], 0, 0.01)]));
      const { optimizer } = buildOptimizer(vars.map((v, i) => [`p${i}`, v]), cfg);
      optimizer.step(grads); // first step: slots created
      const t: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        optimizer.step(grads);
        vars[0].dataSync();
        t.push(performance.now() - t0);
      }
      (ms[`${type} ${engine}`] ??= []).push(median(t));
      optimizer.dispose();
      vars.forEach((v) => v.dispose());
      grads.forEach((g) => g.dispose());
    }
  }
}
console.log('optimizer step over 11.2 M parameters, 1 thread: median ms (per round)');
for (const type of Object.keys(CONFIGS)) {
  const [w, n] = ['wasm', 'native'].map((e) => median(ms[`${type} ${e}`]));
  console.log(`${type.padEnd(6)} wasm ops ${w.toFixed(1).padStart(7)}  native fused ${n.toFixed(1).padStart(6)}  ${(w / n).toFixed(1)}x   (${ms[`${type} wasm`].map((x) => x.toFixed(0)).join('/')} vs ${ms[`${type} native`].map((x) => x.toFixed(0)).join('/')})`);
}

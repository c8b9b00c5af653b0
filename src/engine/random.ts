/**
 * Seeded random numbers for parameter initialisation and stochastic layers, independent of
 * the backend so that the same seed builds bit-identical weights on wasm, cpu and tensorflow.
 */

// Math functions bound once: global lookups are slow inside vm contexts (jest), and this runs per weight.
const { imul, sqrt, log, cos, sin, floor, PI } = Math;

let state = 0x2f6b3a1d >>> 0;

/** Seeds the engine's generator (call once per process, before building the model). */
export function manualSeed(seed: number): void {
  state = (floor(seed) ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < 4; i++) nextUint32();
}

/** mulberry32: small, fast, good enough for weight init. */
export function nextUint32(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = imul(t ^ (t >>> 15), t | 1);
  t ^= t + imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Uniform in [0, 1). */
export function uniform01(): number {
  return nextUint32() / 4294967296;
}

/** A fresh integer seed for tfjs random ops (dropout masks) drawn from the engine generator. */
export function nextSeed(): number {
  return nextUint32() & 0x7fffffff;
}

/** `n` samples of U(low, high). */
export function uniformArray(n: number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  const span = high - low;
  for (let i = 0; i < n; i++) out[i] = low + span * uniform01();
  return out;
}

/** `n` samples of N(mean, std²) (Box-Muller). */
export function normalArray(n: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - uniform01();
    const u2 = uniform01();
    const r = sqrt(-2 * log(u1));
    out[i] = mean + std * r * cos(2 * PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * sin(2 * PI * u2);
  }
  return out;
}

/** `n` samples of N(mean, std²) truncated to [a, b] by rejection (PyTorch's trunc_normal_ bounds are absolute). */
export function truncNormalArray(n: number, mean: number, std: number, a: number, b: number): Float32Array {
  const out = new Float32Array(n);
  let i = 0;
  while (i < n) {
    const batch = normalArray(Math.max(2, n - i), mean, std);
    for (let j = 0; j < batch.length && i < n; j++) if (batch[j] >= a && batch[j] <= b) out[i++] = batch[j];
  }
  return out;
}

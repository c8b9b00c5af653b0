/**
 * Where a small-tensor training step's CPU goes between kernels and tfjs's per-op dispatch (kernel
 * lookup, tidy scopes, the gradient tape, the clones of saved tensors): every kernel registered on
 * the active backend is timed by `process.cpuUsage` around its kernel function, and the step's CPU
 * time outside all kernels, divided by the kernel calls, is the dispatch cost per op. Also the
 * bare cost of one op on 16 floats, with and without the gradient tape recording it. CPU time, so it
 * holds on a loaded machine (at one thread).
 *
 * Usage: npm run build && node lib/benchmarks/engine-dispatch.js [--backend native|wasm] [--workload mae-vit-tiny]
 *          [--threads 1] [--precision fp32|bf16] [--steps 3] [--top 20]
 */
import { parseArgs } from 'node:util';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { tf, type Tensor } from '../src/engine/tf.js';
import { WORKLOADS, buildBenchModel } from './engine-model.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    workload: { type: 'string', default: 'mae-vit-tiny' },
    threads: { type: 'string', default: '1' },
    precision: { type: 'string', default: 'fp32' },
    steps: { type: 'string', default: '3' },
    top: { type: 'string', default: '20' },
  },
});
const workload = WORKLOADS[values.workload!];
if (!workload) throw new Error(`unknown workload ${values.workload}; choose from ${Object.keys(WORKLOADS).join(', ')}`);
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

const choice = await initBackend(values.backend, { log: () => {}, threads: values.threads, precision: values.precision });
console.log(`backend: ${choice.reason}`);

// Time each kernel (the outermost one: a kernel that runs another is counted once).
const perKernel = new Map<string, { ms: number; calls: number }>();
let depth = 0;
const backendName = tf.getBackend();
for (const k of tf.getKernelsForBackend(backendName)) {
  const run = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backendName);
  const timedKernel = ((args: never) => {
    if (depth++ > 0) {
      try {
        return run(args);
      } finally {
        depth--;
      }
    }
    const c0 = process.cpuUsage();
    try {
      return run(args);
    } finally {
      const ms = cpuMs(process.cpuUsage(c0));
      depth--;
      const e = perKernel.get(k.kernelName) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      perKernel.set(k.kernelName, e);
    }
  }) as unknown as KernelFunc;
  tf.registerKernel({ ...k, kernelFunc: timedKernel } as KernelConfig);
}

const m = buildBenchModel(workload);
const step = async () => {
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(m.loss as never, m.params);
    m.sgd.applyGradients(grads);
    return value;
  });
  await loss.data();
  loss.dispose();
};
await step(); // warm-up: primitive creation
perKernel.clear();
const steps = Number(values.steps);
const c0 = process.cpuUsage();
for (let s = 0; s < steps; s++) await step();
const total = cpuMs(process.cpuUsage(c0)) / steps;
const kernels = [...perKernel.values()].reduce((a, e) => a + e.ms, 0) / steps;
const calls = [...perKernel.values()].reduce((a, e) => a + e.calls, 0) / steps;
console.log(`\n${workload.title}, ${values.threads} thread(s), ${choice.precision}: one step ${total.toFixed(0)} ms CPU (${steps} steps)`);
console.log(`  in kernels      ${kernels.toFixed(0).padStart(6)} ms  (${calls.toFixed(0)} kernel calls)`);
console.log(`  outside kernels ${(total - kernels).toFixed(0).padStart(6)} ms  = ${(((total - kernels) * 1000) / calls).toFixed(1)} µs per kernel call (tfjs dispatch, tape, tidy, JS of the model)`);
console.log(`\ntop ${values.top} kernels (CPU ms per step, calls per step, µs per call)`);
for (const [name, e] of [...perKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  console.log(`  ${(e.ms / steps).toFixed(1).padStart(8)}  ${String(e.calls / steps).padStart(6)}×  ${((e.ms * 1000) / e.calls).toFixed(0).padStart(7)} µs  ${name}`);
}

// The bare dispatch of one tiny op, and of one op recorded on the tape and differentiated.
const x = tf.ones([16]);
const y = tf.ones([16]);
const bareAdd = (n = 20_000) => {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) tf.tidy(() => tf.add(x, y));
  return (cpuMs(process.cpuUsage(t0)) * 1000) / n;
};
const recordedAdd = (chains = 200, length = 100) => {
  const chain = (a: Tensor) => {
    let acc = a;
    for (let j = 0; j < length; j++) acc = tf.add(acc, y);
    return tf.sum(acc);
  };
  const t0 = process.cpuUsage();
  for (let c = 0; c < chains; c++) tf.tidy(() => tf.grad(chain)(x));
  return (cpuMs(process.cpuUsage(t0)) * 1000) / (chains * length);
};
bareAdd(2000);
recordedAdd(20);
console.log(`
one Add of 16 floats: ${bareAdd().toFixed(1)} µs CPU; recorded on the tape and differentiated (forward + its backward): ${recordedAdd().toFixed(1)} µs`);
m.dispose();

/**
 * Per-kernel profile of one training step of the engine benchmark's model (CIFAR ResNet-18 + fc,
 * 32×32, batch 64) on one backend: `tf.profile` kernel times grouped by phase (forward, backward,
 * optimizer) and by op family (conv forward, conv input/filter gradient, BatchNorm statistics,
 * elementwise, layout copies), plus the wall time the kernels do not account for (JS, tape,
 * host-side work). On native, also the addon's own profile: thread CPU time per op and, inside the
 * convolutions, the oneDNN primitive apart from the reorders into and out of its blocked layouts
 * (CPU time, so it holds on a loaded machine; exact at one thread, where all work runs on the
 * calling thread).
 *
 * Usage: npm run build && node lib/benchmarks/engine-profile.js [--backend wasm|native] [--threads N] [--workload resnet18-cifar|resnet18-narrow|resnet50|vit-tiny|swin-tiny|mae-vit-tiny] [--batch N] [--steps 2]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { tf } from '../src/engine/tf.js';
import { loadNativeAddon } from '../src/engine/native/addon.js';
import { WORKLOADS, buildBenchModel } from './engine-model.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    workload: { type: 'string', default: 'resnet18-cifar' },
    threads: { type: 'string' },
    batch: { type: 'string' },
    steps: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
  },
});
const workload = WORKLOADS[values.workload!];
if (!workload) throw new Error(`unknown workload ${values.workload}; choose from ${Object.keys(WORKLOADS).join(', ')}`);
const batch = values.batch ? Number(values.batch) : workload.batch;

interface KernelRecord {
  name: string;
  inputShapes: (number[] | null)[];
  outputShapes: number[][];
  kernelTimeMs: number | { error: string } | Promise<number | { error: string }>;
}

const LAYOUT = new Set(['Transpose', 'Slice', 'Pad', 'PadV2', 'Concat', 'Reshape', 'StridedSlice', 'Reverse', 'Identity', 'Cast', 'Fill', 'Tile', 'Pack']);
const REDUCE = new Set(['Sum', 'Mean', 'Max', 'Min', 'Prod']);

/** Op family of a kernel from its name, phase and shapes. */
function family(k: KernelRecord, phase: string): string {
  if (k.name === 'Conv2D' || k.name === 'FusedConv2D') {
    if (phase === 'forward') return 'conv forward';
    // Filter gradient as a conv: its "filter" is the output gradient [OH, OW, N, Cout] (this model's
    // kernels are at most 3×3, its maps at least 4×4); input gradient: a (sub-)kernel of ≤ 3×3.
    return (k.inputShapes[1]?.[0] ?? 0) >= 4 ? 'conv filter grad' : 'conv input grad';
  }
  if (k.name === 'BatchMatMul' && phase === 'backward') return 'conv filter grad (per-tap products) + fc';
  if (k.name.startsWith('Conv2DBackprop')) return k.name.includes('Filter') ? 'conv filter grad' : 'conv input grad';
  if (k.name.startsWith('BatchNorm') || k.name === 'FusedBatchNorm') return 'batchnorm kernel';
  if (REDUCE.has(k.name)) return 'reductions (BN statistics, grads)';
  if (LAYOUT.has(k.name)) return 'layout (transpose/slice/pad/concat)';
  return 'elementwise';
}

async function main(): Promise<void> {
  const choice = await initBackend(values.backend, { log: () => {}, threads: values.threads });
  console.log(`backend: ${choice.reason}`);
  const m = buildBenchModel({ ...workload, batch });
  const kernels = () => (tf.engine().state as unknown as { activeProfile: { kernels: KernelRecord[] } }).activeProfile.kernels;
  let marks: number[] = [];
  const step = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const l = m.loss() as never;
        marks.push(kernels()?.length ?? 0);
        return l;
      }, m.params);
      marks.push(kernels()?.length ?? 0);
      m.sgd.applyGradients(grads);
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  step(); // warm-up (kernel setup, XNNPACK operator caches)
  const steps = Number(values.steps);
  const load = values.backend === 'native' ? loadNativeAddon() : null;
  const addon = load?.ok ? load.addon : null;
  addon?.profile?.(true); // absent from an addon built before the profiler: npm run build:native
  const cpu0 = process.cpuUsage();
  const byFamily = new Map<string, number>();
  const byKernel = new Map<string, { ms: number; n: number }>();
  const byPhase = new Map<string, number>();
  let wall = 0;
  for (let s = 0; s < steps; s++) {
    marks = [];
    const t0 = performance.now();
    const profile = await tf.profile(step);
    wall += performance.now() - t0;
    const recs = profile.kernels as unknown as KernelRecord[];
    for (const [i, k] of recs.entries()) {
      // customGrad wrappers (BatchNorm's) are recorded too, around the kernels they run: skip them.
      if (!tf.getKernel(k.name, tf.getBackend())) continue;
      const phase = i < marks[0] ? 'forward' : i < marks[1] ? 'backward' : 'optimizer';
      const ms = await k.kernelTimeMs;
      const t = typeof ms === 'number' ? ms : 0;
      const fam = phase === 'optimizer' ? 'optimizer (SGD update)' : `${phase}: ${family(k, phase)}`;
      byFamily.set(fam, (byFamily.get(fam) ?? 0) + t);
      byPhase.set(phase, (byPhase.get(phase) ?? 0) + t);
      const key = `${phase} ${k.name} ${JSON.stringify(k.inputShapes)}`;
      const e = byKernel.get(key) ?? { ms: 0, n: 0 };
      e.ms += t;
      e.n += 1;
      byKernel.set(key, e);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const addonProfile = addon?.profile?.(false);
  const per = (v: number) => v / steps;
  const kernelTotal = [...byPhase.values()].reduce((a, b) => a + b, 0);
  console.log(`\none step, batch ${batch}: wall ${per(wall).toFixed(0)} ms (under tf.profile), kernels ${per(kernelTotal).toFixed(0)} ms, outside kernels ${per(wall - kernelTotal).toFixed(0)} ms`);
  console.log('\nby phase (ms per step)');
  for (const [k, v] of byPhase) console.log(`  ${k.padEnd(12)} ${per(v).toFixed(0).padStart(7)}`);
  console.log('\nby op family (ms per step, % of kernel time)');
  for (const [k, v] of [...byFamily].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${k.padEnd(48)} ${per(v).toFixed(0).padStart(7)}  ${((100 * v) / kernelTotal).toFixed(1).padStart(5)} %`);
  }
  console.log(`\ntop ${values.top} kernels by total time (ms per step, calls per step)`);
  for (const [k, v] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
    console.log(`  ${per(v.ms).toFixed(1).padStart(7)}  ${String(per(v.n)).padStart(3)}×  ${k}`);
  }
  if (addonProfile) {
    console.log(`\nnative addon, thread CPU ms per step (process CPU ${per((cpu.user + cpu.system) / 1000).toFixed(0)} ms per step, profiling included):`);
    for (const [k, [ms, n]] of Object.entries(addonProfile).sort((a, b) => b[1][0] - a[1][0])) {
      console.log(`  ${per(ms).toFixed(1).padStart(8)}  ${String(per(n)).padStart(4)}×  ${k}`);
    }
  }
  m.dispose();
}

await main();

/**
 * Engine benchmark: training steps (forward + backward + SGD) of the workloads in engine-model.ts on
 * ssl's engines (wasm; native fp32; native bf16) against PyTorch (Debian's python3-torch, the same
 * model and batch) in NCHW and channels_last, at each thread count; runs alternate between all of
 * them in rounds, so every engine sees the same load, and the table reports medians. Native rows
 * add achieved GFLOP/s (convolutions and matmuls) and its share of the cores' FMA peak, measured by
 * the addon's register-only FMA loop. `--layers` adds per-layer conv timings (forward, input grad,
 * filter grad) of ResNet-18-CIFAR, native vs PyTorch.
 *
 * `--clock cpu` times every step by the CPU time of its process (all threads: user + system) instead
 * of wall time, for both ssl and PyTorch: on a loaded machine the figure that holds, and at one
 * thread what the step takes on a quiet one. Engine `native-reorders` is native fp32 with
 * SSL_NATIVE_KEEP_BLOCKED=0 (every convolution reorders its activations from and to NHWC), for
 * comparison with the default, which keeps them in oneDNN's blocked layout between kernels.
 *
 * Usage: npm run bench:engine [-- --workloads resnet18-cifar,resnet18-narrow,resnet50,vit-tiny,swin-tiny,mae-vit-tiny
 *          --engines wasm,native,native-bf16[,native-reorders] --threads 1,2 --torch nchw,channels_last --rounds 5
 *          --layers --clock wall|cpu]
 * Set-up for the PyTorch side: tools/setup-bench-env.sh
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { loadNativeAddon } from '../src/engine/native/addon.js';
import { nativeFlops } from '../src/engine/native/kernels.js';
import { tf, type Tensor, type Tensor4D } from '../src/engine/tf.js';
import { median, startTorchProcess, timed as timedBy } from './bench-args.js';
import { WORKLOADS, buildBenchModel, type Workload } from './engine-model.js';

const { values } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'resnet18-cifar,resnet18-narrow,resnet50,vit-tiny,swin-tiny,mae-vit-tiny' },
    engines: { type: 'string', default: 'wasm,native,native-bf16' },
    threads: { type: 'string', default: '1,2' },
    torch: { type: 'string', default: 'nchw,channels_last' },
    rounds: { type: 'string', default: '5' },
    'wasm-rounds': { type: 'string', default: '2' },
    layers: { type: 'boolean', default: false },
    clock: { type: 'string', default: 'wall' },
  },
});
if (values.clock !== 'wall' && values.clock !== 'cpu') throw new Error(`--clock is wall or cpu, not ${values.clock}`);
const cpuClock = values.clock === 'cpu';
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const rounds = Number(values.rounds);

/** One engine under test: activate() switches to it (not timed), step() returns ms. */
interface Runner {
  name: string;
  isTorch: boolean;
  activate(): Promise<void>;
  step(): Promise<number>;
  /** Native rows: conv/matmul FLOPs of one step. */
  flops?: number;
  close(): void;
}

function timed(fn: () => Promise<void>): Promise<number> {
  return timedBy(fn, cpuClock);
}

async function tfjsRunner(engine: string, w: Workload, threads: number): Promise<Runner | string> {
  const backend = engine.startsWith('native') ? 'native' : engine;
  const precision = engine === 'native-bf16' ? 'bf16' : 'fp32';
  const activate = async () => {
    if (engine === 'native-reorders') process.env.SSL_NATIVE_KEEP_BLOCKED = '0';
    try {
      const choice = await initBackend(backend, { log: () => {}, threads, precision });
      if (choice.precision !== precision) throw new Error(`${engine}: the CPU has no bf16`);
    } finally {
      if (engine === 'native-reorders') delete process.env.SSL_NATIVE_KEEP_BLOCKED;
    }
  };
  try {
    await activate();
  } catch (e) {
    return `${engine}: not available (${(e as Error).message})`;
  }
  const m = buildBenchModel(w);
  const runner: Runner = {
    name: `ssl ${engine}${engine === 'wasm' ? '' : ` (${threads} thread${threads > 1 ? 's' : ''})`}`,
    isTorch: false,
    activate,
    step: () =>
      timed(async () => {
        const loss = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(m.loss as never, m.params);
          m.sgd.applyGradients(grads);
          return value;
        });
        await loss.data();
        loss.dispose();
      }),
    close: () => m.dispose(),
  };
  const before = nativeFlops.total;
  await runner.step(); // warm-up (primitive creation), and the FLOP count of one step
  if (backend === 'native') runner.flops = nativeFlops.total - before;
  return runner;
}

/** PyTorch's twin of workload `w` (benchmarks/engine_torch.py), one command per `ask`; `w` null: for `layer` commands only. */
async function torchProcess(w: Workload | null, threads: number, channelsLast: boolean): Promise<{ name: string; ask(cmd: string): Promise<string>; close(): void } | string> {
  const p = await startTorchProcess('engine_torch.py', { workload: w?.name ?? 'resnet18-cifar', threads, channels_last: channelsLast }, threads);
  if (typeof p === 'string') return p;
  return { name: `pytorch ${p.version} ${channelsLast ? 'channels_last' : 'NCHW'} (${threads} thread${threads > 1 ? 's' : ''})`, ask: p.ask, close: p.close };
}

async function torchRunner(w: Workload, threads: number, channelsLast: boolean): Promise<Runner | string> {
  const p = await torchProcess(w, threads, channelsLast);
  if (typeof p === 'string') return p;
  const step = async () => Number(await p.ask(cpuClock ? 'step cpu' : 'step'));
  await step();
  return { name: p.name, isTorch: true, activate: async () => {}, step, close: p.close };
}

interface Row {
  name: string;
  ms: number[];
  flops?: number;
  threads: number;
}

async function benchWorkload(w: Workload, peaks: Map<number, number>): Promise<void> {
  console.log(`\n## ${w.title}`);
  const rows: Row[] = [];
  for (const threads of list(values.threads!).map(Number)) {
    const runners: Runner[] = [];
    for (const engine of list(values.engines!)) {
      if (engine === 'wasm' && threads !== Number(list(values.threads!)[0])) continue; // single-threaded in Node
      const r = await tfjsRunner(engine, w, threads);
      if (typeof r === 'string') console.log(r);
      else runners.push(r);
    }
    for (const f of list(values.torch!)) {
      const r = await torchRunner(w, threads, f === 'channels_last');
      if (typeof r === 'string') console.log(r);
      else runners.push(r);
    }
    const ms = runners.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order each round; wasm (seconds a step) runs fewer rounds.
      const order = round % 2 === 0 ? runners.map((_, i) => i) : runners.map((_, i) => runners.length - 1 - i);
      for (const i of order) {
        if (runners[i].name === 'ssl wasm' && round >= Number(values['wasm-rounds'])) continue;
        await runners[i].activate();
        ms[i].push(await runners[i].step());
      }
    }
    runners.forEach((r, i) => rows.push({ name: r.name, ms: ms[i], flops: r.flops, threads }));
    for (const r of runners) r.close();
  }
  const torchMs = (threads: number, format: string) => {
    const row = rows.find((r) => r.threads === threads && r.name.startsWith('pytorch') && r.name.includes(format));
    return row ? median(row.ms) : NaN;
  };
  const pad = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'engine'.padEnd(pad)}  step ms (median)  images/s  vs PyTorch NCHW  vs channels_last  GFLOP/s  of fp32 FMA peak`);
  for (const r of rows) {
    const t = median(r.ms);
    const ratio = (ref: number) => (Number.isFinite(ref) ? `${(ref / t).toFixed(2)}x` : '-');
    const gflops = r.flops ? r.flops / t / 1e6 : NaN;
    const peak = peaks.get(r.threads);
    console.log(
      `${r.name.padEnd(pad)}  ${`${t.toFixed(0)} (${r.ms.length} runs)`.padStart(16)}  ${((w.batch * 1000) / t).toFixed(1).padStart(8)}  ` +
        `${ratio(torchMs(r.threads, 'NCHW')).padStart(14)}  ${ratio(torchMs(r.threads, 'channels_last')).padStart(16)}  ` +
        `${Number.isFinite(gflops) ? gflops.toFixed(0).padStart(7) : '      -'}  ${Number.isFinite(gflops) && peak ? `${((100 * gflops) / peak).toFixed(0)}%`.padStart(16) : '               -'}`,
    );
  }
}

/** ResNet-18-CIFAR's 3×3 convolutions at batch 64: forward, input and filter gradient, native vs PyTorch. */
async function benchLayers(threads: number): Promise<void> {
  const shapes: [number, number, number, number][] = [[64, 64, 1, 32], [64, 128, 2, 32], [128, 128, 1, 16], [128, 256, 2, 16], [256, 256, 1, 8], [256, 512, 2, 8], [512, 512, 1, 4]];
  const torch = await torchProcess(null, threads, false);
  await initBackend('native', { log: () => {}, threads, precision: 'fp32' }); // the inputs below need a backend when no workload ran before
  console.log(`\n## conv 3×3 layers of ResNet-18-CIFAR, batch 64, ${threads} thread(s): forward / input grad / filter grad ms (median of 5)`);
  console.log('layer                 native fp32          native bf16          pytorch NCHW');
  for (const [cin, cout, s, hw] of shapes) {
    const cells: string[] = [];
    const x = tf.randomNormal([64, hw, hw, cin]);
    const w = tf.randomNormal([3, 3, cin, cout]);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    for (const precision of ['fp32', 'bf16']) {
      await initBackend('native', { log: () => {}, threads, precision });
      const dy = tf.conv2d(x as Tensor4D, w as Tensor4D, s, pad);
      const attrs = { strides: s, pad, dataFormat: 'NHWC' };
      const time = (f: () => Tensor) => {
        f().dispose();
        const t: number[] = [];
        for (let i = 0; i < 5; i++) {
          const a = performance.now();
          const y = f();
          y.dataSync();
          t.push(performance.now() - a);
          y.dispose();
        }
        return median(t);
      };
      const f = time(() => tf.conv2d(x as Tensor4D, w as Tensor4D, s, pad));
      const bd = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape } as never) as Tensor);
      const bw = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape } as never) as Tensor);
      cells.push(`${f.toFixed(1)}/${bd.toFixed(1)}/${bw.toFixed(1)}`);
      dy.dispose();
    }
    if (typeof torch !== 'string') cells.push((JSON.parse(await torch.ask(`layer ${cin} ${cout} ${s} ${hw} 64`)) as number[]).map((v) => v.toFixed(1)).join('/'));
    console.log(`${`${cin}->${cout} s${s} ${hw}²`.padEnd(20)}  ${cells.map((c) => c.padEnd(19)).join('  ')}`);
    x.dispose();
    w.dispose();
  }
  if (typeof torch === 'string') console.log(torch);
  else torch.close();
}

async function main(): Promise<void> {
  const load = loadNativeAddon();
  const peaks = new Map<number, number>();
  if (load.ok) {
    const info = load.addon.info();
    for (const t of list(values.threads!).map(Number)) peaks.set(t, load.addon.fmaPeak(t, 400).gflops);
    console.log(`native: oneDNN ${info.onednn}, ISA ${info.isa}, bf16 ${info.bf16}; measured fp32 FMA peak ${[...peaks].map(([t, g]) => `${g.toFixed(0)} GFLOP/s at ${t} thread(s)`).join(', ')}`);
  } else console.log(`native: not available (${load.why})`);
  console.log(`steps: forward + backward + SGD, ${cpuClock ? 'CPU time of the process per step (--clock cpu)' : 'wall time'}; ${rounds} rounds (wasm ${values['wasm-rounds']}), engines alternating within each round; GFLOP/s counts convolutions and matmuls`);
  for (const name of list(values.workloads!)) {
    const w = WORKLOADS[name];
    if (!w) throw new Error(`unknown workload ${name}; choose from ${Object.keys(WORKLOADS).join(', ')}`);
    await benchWorkload(w, peaks);
  }
  if (values.layers && load.ok) for (const t of list(values.threads!).map(Number)) await benchLayers(t);
}

await main();

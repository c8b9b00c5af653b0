/**
 * Engine benchmark: CIFAR-style ResNet-18 (ResNet_CIFAR, 32×32, batch 64) + linear classifier,
 * forward ms, forward+backward+SGD step ms and images/s per available TF.js backend, and the same
 * step in PyTorch (/usr/bin/python3, Debian python3-torch) with the same thread count, with ratios.
 *
 * Usage: npm run bench:engine [-- --backends wasm,cpu,tensorflow --batch 64 --steps 3 --threads 1]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { convFilterGrad, convGeometry, convInputGrad } from '../src/engine/wasm/conv-grads.js';
import { tf, type Tensor, type Tensor4D } from '../src/engine/tf.js';
import { buildBenchModel } from './engine-model.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,wasm' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    'no-torch': { type: 'boolean', default: false },
    'no-layers': { type: 'boolean', default: false },
  },
});
const batch = Number(values.batch);
const steps = Number(values.steps);
const threads = Number(values.threads);

/** Times in ms: the fastest of the timed runs (least disturbed on a shared machine) and the median. */
interface Result {
  name: string;
  forwardMs: number;
  stepMs: number;
  forwardMedian: number;
  stepMedian: number;
  imagesPerSec: number;
}

/** One engine under test: forward() and step() each run once and return their wall time in ms. */
interface Runner {
  name: string;
  forward(): Promise<number>;
  step(): Promise<number>;
  close(): void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function tfjsRunner(backend: string): Promise<Runner | string> {
  try {
    await initBackend(backend, { log: () => {} });
  } catch (e) {
    return `${backend}: not available (${(e as Error).message})`;
  }
  const m = buildBenchModel(batch);
  return {
    name: `tfjs ${tf.getBackend()}`,
    forward: () =>
      timed(async () => {
        const y = tf.tidy(m.logits);
        await y.data();
        y.dispose();
      }),
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
}

/** The same model and step in PyTorch, in a /usr/bin/python3 process that runs one command per stdin line. */
async function torchRunner(): Promise<Runner | string> {
  if (!existsSync('/usr/bin/python3')) return 'pytorch: /usr/bin/python3 not found';
  const reference = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'torch-reference.py');
  const script = `
import importlib.util, json, sys, time, torch, torch.nn as nn
torch.set_num_threads(${threads})
spec = importlib.util.spec_from_file_location('ref', ${JSON.stringify(reference)}); ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
torch.manual_seed(0)
model = ref.ResNet(18, cifar=True); fc = nn.Linear(512, 10)
x = torch.randn(${batch}, 3, 32, 32); y = torch.arange(${batch}) % 10
opt = torch.optim.SGD(list(model.parameters()) + list(fc.parameters()), lr=0.01)
logits = lambda: fc(model(x)[0].mean((2, 3)))
def fwd():
    with torch.no_grad(): logits()
def step():
    opt.zero_grad(); loss = nn.functional.cross_entropy(logits(), y); loss.backward(); opt.step()
print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    fn = fwd if line.strip() == 'fwd' else step
    t0 = time.perf_counter(); fn(); print((time.perf_counter() - t0) * 1000, flush=True)
`;
  const child = spawn('/usr/bin/python3', ['-c', script], { env: { ...process.env, OMP_NUM_THREADS: String(threads) }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('the PyTorch process exited');
    return r.value as string;
  };
  try {
    const info = JSON.parse(await next());
    const ask = async (cmd: string) => {
      child.stdin!.write(`${cmd}\n`);
      return Number(await next());
    };
    return { name: `pytorch ${info.version} (${info.threads} thread)`, forward: () => ask('fwd'), step: () => ask('step'), close: () => child.stdin!.end() };
  } catch (e) {
    child.kill();
    return `pytorch: not available (${(e as Error).message}; needs Debian's python3-torch)`;
  }
}

/** Warm-up, then `steps` rounds in which every runner runs once in turn (so all see the same load). */
async function measure(runners: Runner[]): Promise<Result[]> {
  const fwd = runners.map(() => [] as number[]);
  const step = runners.map(() => [] as number[]);
  for (const r of runners) {
    await r.forward();
    await r.step();
  }
  for (let i = 0; i < steps; i++) for (const [k, r] of runners.entries()) fwd[k].push(await r.forward());
  for (let i = 0; i < steps; i++) for (const [k, r] of runners.entries()) step[k].push(await r.step());
  return runners.map((r, k) => ({
    name: r.name,
    forwardMs: Math.min(...fwd[k]),
    forwardMedian: median(fwd[k]),
    stepMs: Math.min(...step[k]),
    stepMedian: median(step[k]),
    imagesPerSec: (batch * 1000) / Math.min(...step[k]),
  }));
}

async function timeIt(fn: () => Promise<void>, n: number): Promise<[number, number]> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await timed(fn));
  return [Math.min(...ms), median(ms)];
}

/**
 * One conv layer (batch 32, 32×32, 3×3, as in the issue): forward, and the input/filter gradients
 * through ssl's forward-conv kernels vs tfjs-backend-wasm's own Conv2DBackpropInput.
 */
async function benchLayers(): Promise<void> {
  await initBackend('wasm', { log: () => {} });
  console.log('\nwasm conv layer, batch 32, 32x32 input, 3x3 (ms, fastest of 3 after 1 warm-up)');
  console.log('layer              forward  input grad (ssl)  input grad (tfjs kernel)  filter grad (ssl)');
  for (const [cin, cout, s] of [[64, 64, 1], [64, 64, 2], [64, 128, 2]]) {
    const x = tf.randomNormal([32, 32, 32, cin]) as Tensor4D;
    const w = tf.randomNormal([3, 3, cin, cout]) as Tensor4D;
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const dy = tf.conv2d(x, w, s, pad);
    const g = convGeometry(x.shape, w.shape, s, 1, pad, undefined);
    const t = async (f: () => Tensor) => (await timeIt(async () => {
      const y = f();
      await y.data();
      y.dispose();
    }, 3))[0];
    const fwd = await t(() => tf.conv2d(x, w, s, pad));
    const ours = await t(() => convInputGrad(dy, w, g));
    const native = await t(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: s, pad, dataFormat: 'NHWC', inputShape: x.shape }) as Tensor);
    const filt = await t(() => convFilterGrad(x, dy, g));
    console.log(`${`${cin}->${cout} stride ${s}`.padEnd(17)}  ${fwd.toFixed(0).padStart(7)}  ${ours.toFixed(0).padStart(16)}  ${native.toFixed(0).padStart(24)}  ${filt.toFixed(0).padStart(17)}`);
    for (const a of [x, w, dy]) a.dispose();
  }
}

async function main(): Promise<void> {
  console.log(`CIFAR ResNet-18 (ResNet_CIFAR depth 18 + fc 512->10), 32x32, batch ${batch}, 1 warm-up + ${steps} timed runs, ${threads} thread(s)`);
  console.log('runs alternate between TF.js and PyTorch; times: fastest run (median); images/s and ratio from the fastest step');
  const torch = values['no-torch'] ? 'pytorch: skipped' : await torchRunner();
  if (typeof torch === 'string') console.log(torch);
  const results: Result[] = [];
  let torchResult: Result | null = null;
  for (const b of values.backends!.split(',')) {
    const r = await tfjsRunner(b.trim());
    if (typeof r === 'string') {
      console.log(r);
      continue;
    }
    const [mine, theirs] = await measure(typeof torch === 'string' ? [r] : [r, torch]);
    r.close();
    results.push(mine);
    if (theirs) torchResult = theirs; // the PyTorch runs interleaved with the last backend
  }
  if (typeof torch !== 'string') torch.close();
  if (torchResult) results.push(torchResult);
  const pad = Math.max(...results.map((r) => r.name.length));
  console.log(`${'engine'.padEnd(pad)}  ${'forward ms'.padStart(16)}  ${'fwd+bwd+SGD ms'.padStart(16)}  images/s  vs pytorch`);
  const cell = (a: number, m: number) => `${a.toFixed(0)} (${m.toFixed(0)})`.padStart(16);
  for (const r of results) {
    const ratio = torchResult ? `${(r.imagesPerSec / torchResult.imagesPerSec).toFixed(2)}x` : '-';
    console.log(`${r.name.padEnd(pad)}  ${cell(r.forwardMs, r.forwardMedian)}  ${cell(r.stepMs, r.stepMedian)}  ${r.imagesPerSec.toFixed(1).padStart(8)}  ${ratio.padStart(10)}`);
  }
  if (!values['no-layers']) await benchLayers();
}

await main();

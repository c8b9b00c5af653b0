/**
 * Issue 17's speed criterion: no algorithm may make the ResNet-18 step more than 15 % slower than
 * SimCLR's on the same batch apart from its own extra work.
 *
 * Every ResNet-18 algorithm ssl registers is built from its MMSelfSup config (algo-step-cases.ts) and
 * trained through the runner's own iteration (`runTrainIter`: before_train_iter hooks, the model's
 * trainStep, after_train_iter hooks with the OptimizerHook's update and the algorithm's hooks) on one
 * fixed batch. Besides the steps, the parts of a step that differ between algorithms are timed on
 * their own (algo-step-probes.ts): the backbone's and the neck's training step on the algorithm's
 * inputs, and the algorithm's extra work. All of it is interleaved in rounds (order reversed every
 * other round) after a warm-up; medians. Per algorithm:
 *
 *   expected = SimCLR's step + (backbone − SimCLR's backbone) + (neck − SimCLR's neck) + extra work
 *
 * and the criterion is step / expected ≤ 1.15.
 *
 * Usage: npm run build && node lib/benchmarks/algo-step-time.js [--backend native|wasm] [--threads 1]
 *        [--rounds 5] [--warmup 1] [--clock cpu|wall|auto] [--only "MoCo v2,NPID"] [--batch 32] [--size 32]
 *        [--samples 50000] [--clusters 1000] [--neg-num 4096] [--configs DIR]
 * (--clock auto: CPU time when the 1-minute load average is above 2, else wall time.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import type { Module } from '../src/engine/module.js';
import { tf } from '../src/engine/tf.js';
import { singleProcessContext } from '../src/dist/trainer-context.js';
import { buildModel } from '../src/models/index.js';
import type { Batch } from '../src/models/contracts.js';
import { registerTrainingHooks } from '../src/runner/hooks/index.js';
import { IterBasedRunner } from '../src/runner/iter-runner.js';
import { Logger } from '../src/runner/logging/logger.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import { median } from './bench-args.js';
import { CASE_NAMES, pattern, stepCases, type StepCase } from './algo-step-cases.js';
import { backboneProbe, disposeProbeVariables, extraProbes, neckProbe, type Probe } from './algo-step-probes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    engine: { type: 'string' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    clock: { type: 'string', default: 'auto' },
    only: { type: 'string' },
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '32' },
    samples: { type: 'string', default: '50000' },
    clusters: { type: 'string', default: '1000' },
    'neg-num': { type: 'string', default: '4096' },
    configs: { type: 'string', default: join(root, '..', 'shared', 'data', 'mmselfsup-resolved', 'selfsup') },
  },
});
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
for (const name of only ?? []) if (!CASE_NAMES.includes(name)) throw new Error(`--only: unknown algorithm "${name}"; choose from ${CASE_NAMES.join(', ')}`);
const load0 = loadavg()[0];
const clock = values.clock === 'auto' ? (load0 > 2 ? 'cpu' : 'wall') : values.clock;
if (clock !== 'cpu' && clock !== 'wall') throw new Error(`--clock must be cpu, wall or auto, got ${values.clock}`);
const now = () => {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The runner's own training iteration on a fixed batch (hooks, trainStep, OptimizerHook). */
class StepRunner extends IterBasedRunner {
  async step(batch: Batch): Promise<void> {
    await this.runTrainIter(batch);
    this.innerIter += 1;
    this.iter += 1;
  }
}

/** Hooks whose before_run / before_train_epoch extract and cluster a whole data set (memories are initialised here instead). */
const DATASET_HOOKS = new Set(['DeepClusterHook', 'InterCLRHook']);

interface Built {
  c: StepCase;
  step: () => Promise<void>;
  probes: Probe[];
  times: Map<string, number[]>;
  dispose: () => void;
}

function fillUnitRows(q: Float32Array, dim: number, salt: number): void {
  q.set(pattern(q.length, salt));
  for (let r = 0; r < q.length; r += dim) {
    const row = q.subarray(r, r + dim);
    const norm = Math.hypot(...row);
    for (let j = 0; j < dim; j++) row[j] /= norm;
  }
}

async function build(c: StepCase, n: number, o: { samples: number; clusters: number }): Promise<Built> {
  manualSeed(0);
  const model = buildModel(c.model);
  const m = model as unknown as Record<string, any>;
  const bank = m.memoryBank;
  if (bank?.initMemory) {
    // what DeepClusterHook / InterCLRHook(init_memory=True) leave: features of the data set, labels i mod k
    const feats = pattern(bank.length * bank.featDim, 21);
    const labels = Int32Array.from({ length: bank.length }, (_, i) => i % o.clusters);
    if (c.name === 'ODC') bank.initMemory({ data: feats, rows: bank.length, cols: bank.featDim }, labels);
    else bank.initMemory(feats, labels);
  }
  const { optimizer } = buildOptimizer(model.namedParameters(), structuredClone(c.optimizer));
  const workDir = mkdtempSync(join(tmpdir(), 'ssl-algo-step-'));
  const runner = new StepRunner({
    model,
    optimizer,
    workDir,
    logger: new Logger(undefined, 0, 'mmselfsup', () => {}),
    dist: singleProcessContext(),
    meta: {},
    timestamp: 'bench',
    maxIters: 1_000_000,
  });
  registerTrainingHooks(runner, { optimizer_config: c.optimizerConfig, custom_hooks: c.customHooks });
  // mid-training: past SwAV's queue start (epoch 15) and frozen prototypes (5,005 iterations)
  runner.epoch = 20;
  runner.iter = 10_000;
  for (const h of runner.hooks) if (!DATASET_HOOKS.has(h.hookType)) await h.beforeRun(runner);
  for (const h of runner.hooks) if (!DATASET_HOOKS.has(h.hookType)) await h.beforeTrainEpoch(runner);
  model.train();
  // SwAV's queue, started by SwAVHook at epoch 15, is full by now: unit-length rows of embeddings
  const head = (model as unknown as { head?: { queue?: Float32Array[] | null; featDim: number } }).head;
  for (const [i, q] of (head?.queue ?? []).entries()) fillUnitRows(q, head!.featDim, 30 + i);
  const ctx = { c, model: model as unknown as Module, runner, n };
  const bb = backboneProbe(ctx);
  const neck = neckProbe(ctx, bb.featureShapes);
  const probes = [bb.probe, ...(neck ? [neck] : []), ...extraProbes(ctx)];
  const times = new Map<string, number[]>([['step', []], ...probes.map((p) => [p.label, []] as [string, number[]])]);
  const dispose = () => {
    model.dispose();
    optimizer.dispose();
    rmSync(workDir, { recursive: true, force: true });
  };
  return { c, step: () => runner.step(c.batch), probes, times, dispose };
}

async function timeOne(label: string, b: Built, run: () => unknown, per = 1): Promise<void> {
  const t0 = now();
  await run();
  b.times.get(label)!.push((now() - t0) / per);
}

const n = Number(values.batch);
const size = Number(values.size);
const o = { n, size, samples: Number(values.samples), clusters: Number(values.clusters), negNum: Number(values['neg-num']), configDir: values.configs! };
const backend = await initBackend(values.engine ?? values.backend, { log: () => {}, threads: values.threads });
const cases = stepCases(o, only);
const start = new Date();
const loads = [load0];

/**
 * One session per algorithm: SimCLR and the algorithm built side by side (the engine's heap holds
 * two models, not fourteen), their steps and parts interleaved in rounds, then both disposed.
 */
async function session(c: StepCase): Promise<[Built, Built]> {
  tf.engine().startScope();
  const pair = [await build(cases[0], n, o), await build(c, n, o)];
  const units = pair.flatMap((b) => [{ b, label: 'step', run: b.step, per: 1 }, ...b.probes.map((p) => ({ b, label: p.label, run: p.run, per: p.per }))]);
  for (let w = 0; w < Number(values.warmup); w++) for (const u of units) await u.run();
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const u of r % 2 === 0 ? units : [...units].reverse()) await timeOne(u.label, u.b, u.run, u.per);
    loads.push(loadavg()[0]);
  }
  const peak = tf.memory().numBytes;
  for (const b of pair) b.dispose();
  disposeProbeVariables();
  tf.engine().endScope();
  process.stderr.write(`${c.name}: ${values.rounds} rounds done, load ${loads.at(-1)!.toFixed(2)}, tensors ${(peak / 2 ** 20).toFixed(0)} MiB -> ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB\n`);
  return pair as [Built, Built];
}
const sessions: [Built, Built][] = [];
for (const c of cases.slice(1)) sessions.push(await session(c));
if (sessions.length === 0) sessions.push(await session(cases[0]));

const med = (b: Built, label: string) => median(b.times.get(label)!);
const images = (c: StepCase) => {
  const by = (calls: number[][]) => calls.map((x) => `${x[0]}@${x[1]}²`).join(' + ');
  return c.keyCalls.length > 0 ? `${by(c.backboneCalls)}; key ${by(c.keyCalls)}` : by(c.backboneCalls);
};
const ms = (x: number) => x.toFixed(0);
console.log(
  `\nalgorithm step times: ${backend.name} (${backend.reason}), ${values.threads} thread(s), ResNet_CIFAR-18, batch ${n} of ${size}², ` +
    `${values.rounds} interleaved rounds after ${values.warmup} warm-up per algorithm (each against SimCLR in the same rounds), medians, ` +
    `${clock === 'cpu' ? 'process CPU' : 'wall'} ms; ${start.toISOString()} – ${new Date().toISOString()}, ` +
    `load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; memories ${o.samples} samples, ${o.clusters} clusters, neg_num ${o.negNum}\n`,
);
console.log('| algorithm | images through the backbone per step | step ms | SimCLR step ms (same rounds) | × SimCLR | own extra work ms (backbone Δ, neck Δ, extra) | SimCLR + extra work ms | step ÷ (SimCLR + extra work) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [simclr, b] of sessions) {
  const ref = { step: med(simclr, 'step'), backbone: med(simclr, 'backbone'), neck: med(simclr, 'neck') };
  const step = med(b, 'step');
  const dBackbone = med(b, 'backbone') - ref.backbone;
  const dNeck = (b.times.has('neck') ? med(b, 'neck') : 0) - ref.neck;
  const extra = b.probes.filter((p) => p.label !== 'backbone' && p.label !== 'neck').reduce((sum, p) => sum + med(b, p.label), 0);
  const expected = ref.step + dBackbone + dNeck + extra;
  const ratio = step / expected;
  console.log(
    `| ${b.c.name} | ${images(b.c)} | ${ms(step)} | ${ms(ref.step)} | ${(step / ref.step).toFixed(2)} | ${ms(dBackbone + dNeck + extra)} (${ms(dBackbone)}, ${ms(dNeck)}, ${ms(extra)}) | ${ms(expected)} | **${ratio.toFixed(2)}**${ratio > 1.15 ? ' ✗' : ''} |`,
  );
}
console.log('\nthe parts, median ms per step (SimCLR: its backbone and neck in the same rounds):');
for (const [simclr, b] of sessions) {
  const parts = (x: Built) => x.probes.map((p) => `${p.label} ${med(x, p.label).toFixed(1)}`).join('; ');
  console.log(`- ${b.c.name} (${b.c.config}): ${parts(b)} | SimCLR: ${parts(simclr)}`);
}

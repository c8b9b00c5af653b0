/**
 * Replays a fixture of tools/torch-algos-reference.py (or a script built on it) in ssl: the reference's
 * hashed initial weights and step inputs (reproduced here, not stored; one shape per view for multi-crop),
 * its random draws (dropout masks, NPID negatives and memory init, stored), the same optimizer stepped
 * by ssl's OptimizerHook (the fixture's `optimizer_config`, e.g. SwAV's frozen prototypes), the fixture's
 * hooks (epoch hooks too where it states an epoch length); returns ssl's and PyTorch's losses and
 * per-tensor relative errors of the step-0 gradients and of the state after the last step. Used by
 * test/models/torch-algorithms.test.ts and `npm run bench:algo-replay`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '../src/engine/module.js';
import { decodeSafetensors, tensorFromRaw, type RawTensor } from '../src/engine/safetensors.js';
import { tf, type Tensor } from '../src/engine/tf.js';
import { loadTorchStateDict, toTorch, torchShape } from '../src/engine/torch-layout.js';
import { singleProcessContext } from '../src/dist/trainer-context.js';
import { buildModel } from '../src/models/index.js';
import type { Batch, StepOutputs } from '../src/models/contracts.js';
import type { NPID } from '../src/models/algorithms/npid.js';
import type { DeepCluster } from '../src/models/algorithms/deepcluster.js';
import type { ODC } from '../src/models/algorithms/odc.js';
import type { InterCLRMoCo } from '../src/models/algorithms/interclr-moco.js';
import type { SwAV } from '../src/models/algorithms/swav.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import type { BaseRunner } from '../src/runner/base-runner.js';
import { HOOKS } from '../src/runner/hooks/index.js';
import { OptimizerHook } from '../src/runner/hooks/optimizer-hook.js';
import type { Optimizer } from '../src/runner/optim/optimizer.js';

const { sin, sqrt, floor } = Math;

function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h += (i + 1) * name.charCodeAt(i);
  return h % 997;
}

/** 2 frac(43758.5453 sin(12.9898 j + 78.233 salt)) - 1 for j = 0..n-1 (in double, as the reference). */
export function hash01(n: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const h = sin(12.9898 * j + 78.233 * salt) * 43758.5453;
    out[j] = 2 * (h - floor(h)) - 1;
  }
  return out;
}

/** Step k's batch, NHWC (`salt`: the fixture's input salt, 1 unless the reference moved it off a ReLU kink). */
export function stepInput(k: number, shape: number[], salt = 1): Float32Array {
  return Float32Array.from(hash01(shape.reduce((a, b) => a * b, 1), k + salt));
}

/** The reference's initial value of state-dict entry `name` (PyTorch layout). */
export function hashTensor(name: string, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.split('.').pop()!;
  if (leaf === 'num_batches_tracked' || leaf.endsWith('_ptr')) return tf.zeros(shape, 'int32');
  const v = hash01(n, nameHash(name) + 1);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    if (leaf === 'running_var') out[j] = 1 + 0.25 * (v[j] + 1);
    else if (leaf === 'running_mean') out[j] = 0.1 * v[j];
    else if (shape.length === 1 && leaf === 'weight') out[j] = 1 + 0.1 * v[j];
    else if (shape.length === 1) out[j] = 0.05 * v[j];
    else out[j] = v[j] * sqrt(3 / (n / shape[0]));
  }
  return tf.tensor(out, shape);
}

/** Fills every state-dict entry of `m` with `hashTensor` (strict). */
export function loadHashWeights(m: Module): void {
  const layouts = m.stateDictLayouts();
  const state = new Map<string, Tensor>();
  // the Sobel filters are fixed, not initialised
  for (const [name, t] of m.stateDict()) state.set(name, name.startsWith('sobel_layer.') ? toTorch(t, layouts.get(name)!) : hashTensor(name, torchShape(t.shape, layouts.get(name)!)));
  loadTorchStateDict(m, state, { strict: true });
  for (const t of state.values()) t.dispose();
}

/** max |a - b| / max(max |b|, floor). */
export function relErr(a: Float32Array, b: Float32Array, floor = 0): number {
  let num = 0;
  let den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

const ints = (r: RawTensor) => Int32Array.from(tensorFromRaw(r).dataSync());

/** nn.Dropout replayed from the reference's masks. */
class MaskDropout extends Module {
  k = 0;
  constructor(readonly masks: Tensor[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return tf.div(tf.mul(x, this.masks[this.k++]), 0.5);
  }
}

export interface AlgoReplay {
  losses: number[];
  refLosses: number[];
  gradErr: Record<string, number>;
  finalErr: Record<string, number>;
  /** For each `init.<name>` of the fixture: ssl's value as built (before the hashed weights) against it. */
  builtErr: Record<string, number>;
  /** SwAV: whether ssl's head predicted with its queue, per step. */
  queueUsed: boolean[];
}

/** What the replay sets on its stand-in runner between hook calls. */
interface ReplayRunner {
  iter: number;
  innerIter: number;
  epoch: number;
  outputs: StepOutputs | null;
}

/** mmcv's hook calls, on a stand-in runner holding what the hooks read (`epochLength` iterations an epoch). */
function hookRunner(model: unknown, maxIters: number, epochLength: number, optimizer: Optimizer, workDir: string) {
  const log = { info: () => {}, warning: () => {} };
  return {
    model, optimizer, workDir, outputs: null, iter: 0, innerIter: 0, epoch: 0, maxIters, maxEpochs: Math.ceil(maxIters / epochLength), epochLength,
    rank: 0, worldSize: 1, logger: log, logBuffer: { update: () => {} },
  } as unknown as BaseRunner;
}

/** Replays fixture `name` in ssl; returns ssl's and PyTorch's losses and the per-tensor relative errors. */
export async function replay(fixture: string): Promise<AlgoReplay> {
  const { tensors, metadata } = decodeSafetensors(readFileSync(fixture));
  const get = (k: string) => tensors.get(k)!;
  const model = buildModel(JSON.parse(metadata.model));
  const layouts = model.stateDictLayouts();
  const built = model.stateDict();
  const builtErr: Record<string, number> = {};
  const inits = new Map<string, Tensor>();
  for (const key of tensors.keys()) {
    if (!key.startsWith('init.')) continue;
    const name = key.slice(5);
    const ref = tensorFromRaw(get(key));
    const mine = tf.tidy(() => toTorch(built.get(name)!, layouts.get(name)!));
    builtErr[name] = relErr(mine.dataSync() as Float32Array, ref.dataSync() as Float32Array);
    mine.dispose();
    inits.set(name, ref);
  }
  loadHashWeights(model);
  loadTorchStateDict(model, inits, { strict: false });
  // what MMSelfSup's __init__/init_weights does after the weights: momentum encoders copy the online ones
  model.afterInitWeights();
  for (const t of inits.values()) t.dispose();
  model.train(true);
  const steps = Number(metadata.steps);
  const { optimizer } = buildOptimizer(model.namedParameters(), JSON.parse(metadata.optimizer));
  // mmcv's optimizer hook steps the optimizer (dropping frozen_layers_cfg gradients); epoch hooks only run
  // for fixtures that state their epoch length (the others were written without them)
  const optimizerHook = new OptimizerHook(JSON.parse(metadata.optimizer_config ?? '{}'));
  const epochLength = metadata.epoch_length ? Number(metadata.epoch_length) : 0;
  const workDir = mkdtempSync(join(tmpdir(), 'ssl-algo-replay-'));
  const hooks = (JSON.parse(metadata.hooks ?? '[]') as Record<string, unknown>[]).map((h) => HOOKS.build(h));
  const runner = hookRunner(model, steps, epochLength || steps, optimizer, workDir);
  const state = runner as unknown as ReplayRunner;
  for (const h of [optimizerHook, ...hooks]) await h.beforeRun(runner);
  const neck = (model as unknown as { neck?: { dropout?: unknown } }).neck;
  if (neck && 'dropout' in neck) {
    neck.dropout = new MaskDropout([...tensors.keys()].filter((k) => k.startsWith('dropout.')).sort().map((k) => tensorFromRaw(get(k))));
  }
  if (tensors.has('labels.init')) {
    // InterCLR: the reference's memory (bank, labels, centroids) and positive/negative draws
    const m = model as unknown as InterCLRMoCo;
    m.memoryBank.featureBank.set(tensorFromRaw(get('memory.init')).dataSync());
    m.memoryBank.labelBank.set(ints(get('labels.init')));
    m.memoryBank.centroids.set(tensorFromRaw(get('centroids')).dataSync());
    m.memoryBank.initialized = true;
    let k = 0;
    m.drawInterSamples = () => ({ pos: ints(get(`pos_idx.${k}`)), neg: ints(get(`neg_idx.${k++}`)) });
  } else if (tensors.has('memory.init')) {
    const npid = model as unknown as NPID;
    npid.memoryBank.featureBank.set(tensorFromRaw(get('memory.init')).dataSync());
    let k = 0;
    npid.drawNegatives = () => ints(get(`neg_idx.${k++}`));
  }
  if (tensors.has('assignment')) (model as unknown as DeepCluster).setReweight(ints(get('assignment')), 0.5);
  // ODC: the memory as DeepClusterHook(init_memory=True) leaves it before the run (the fixture's ODCHook runs after each step)
  const odc = tensors.has('odc.memory.init') ? (model as unknown as ODC) : null;
  const changeRatios: number[] = [];
  if (odc) {
    const init = tensorFromRaw(get('odc.memory.init'));
    const [rows, cols] = init.shape;
    odc.memoryBank.initMemory({ data: init.dataSync() as Float32Array, rows, cols }, ints(get('odc.labels.init')));
    init.dispose();
  }
  const shape = JSON.parse(metadata.shape) as number[];
  const numViews = Number(metadata.views ?? 1);
  const viewShapes = metadata.view_shapes ? (JSON.parse(metadata.view_shapes) as number[][]) : Array.from({ length: numViews }, () => shape);
  const losses: number[] = [];
  const gradErr: Record<string, number> = {};
  const ctx = { dist: singleProcessContext() };
  const queueUsed: boolean[] = [];
  for (let k = 0; k < steps; k++) {
    state.iter = k;
    state.innerIter = epochLength ? k % epochLength : k;
    state.epoch = epochLength ? Math.floor(k / epochLength) : 0;
    if (epochLength && k % epochLength === 0) for (const h of hooks) await h.beforeTrainEpoch(runner);
    for (const h of hooks) await h.beforeTrainIter(runner);
    // view v of step k: the reference's step_input(k + 100 v, salt)
    const salt = Number(metadata.salt ?? 1);
    const batch: Batch = { views: viewShapes.map((s, v) => ({ data: stepInput(k + 100 * v, s, salt), shape: s })) };
    for (const key of ['rot_label', 'patch_label']) if (tensors.has(`${key}.${k}`)) batch[key] = { data: ints(get(`${key}.${k}`)), shape: [] };
    if (tensors.has(`idx.${k}`)) batch.idx = ints(get(`idx.${k}`));
    if (tensors.has(`pseudo_label.${k}`)) batch.pseudo_label = ints(get(`pseudo_label.${k}`));
    const out = await model.trainStep(batch, ctx);
    losses.push(out.loss);
    if (k === 0) {
      // a parameter whose gradient is zero in exact arithmetic (a Linear bias before BatchNorm) is
      // compared relative to 1e-3 of the largest gradient instead of to its own rounding noise
      const refs = new Map([...out.grads.keys()].map((n) => [n, tensorFromRaw(get(`grad.${n}`)).dataSync() as Float32Array]));
      const floor = 1e-3 * Math.max(...[...refs.values()].map((r) => r.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
      for (const [n, g] of out.grads) {
        const mine = tf.tidy(() => toTorch(g, layouts.get(n)!));
        gradErr[n] = relErr(mine.dataSync() as Float32Array, refs.get(n)!, floor);
        mine.dispose();
      }
    }
    if (odc) changeRatios.push(out.logVars.change_ratio);
    if (tensors.has('swav.queue_used')) queueUsed.push((model as unknown as SwAV).head.useQueue);
    state.outputs = out;
    await optimizerHook.afterTrainIter(runner); // steps the optimizer and disposes the gradients
    state.outputs = null;
    for (const h of hooks) await h.afterTrainIter(runner);
    if (epochLength && (k + 1) % epochLength === 0) for (const h of hooks) await h.afterTrainEpoch(runner);
  }
  rmSync(workDir, { recursive: true, force: true });
  const finalErr: Record<string, number> = {};
  for (const [n, t] of model.stateDict()) {
    const r = tensors.get(`final.${n}`);
    if (!r) continue;
    const mine = tf.tidy(() => toTorch(t, layouts.get(n)!));
    finalErr[n] = relErr(mine.dataSync() as Float32Array, tensorFromRaw(r).dataSync() as Float32Array);
    mine.dispose();
  }
  if (tensors.has('memory.final')) {
    finalErr['memory_bank'] = relErr((model as unknown as NPID).memoryBank.featureBank, tensorFromRaw(get('memory.final')).dataSync() as Float32Array);
  }
  if (odc) {
    finalErr['memory_bank.feature_bank'] = relErr(odc.memoryBank.featureBank, tensorFromRaw(get('odc.memory.final')).dataSync() as Float32Array);
    // labels and change ratios are discrete: any difference counts whole
    const labels = ints(get('odc.labels.final'));
    finalErr['memory_bank.label_bank'] = labels.some((l, i) => l !== odc.memoryBank.labelBank[i]) ? 1 : 0;
    const ref = tensorFromRaw(get('odc.change_ratio')).dataSync();
    finalErr['change_ratio'] = Math.max(...changeRatios.map((c, i) => Math.abs(c - ref[i])));
  }
  if (tensors.has('swav.queue.final')) {
    // SwAV's queue (rows newest first) and at which steps the head predicted with it (any difference counts whole)
    const queue = (model as unknown as SwAV).head.queue;
    const ref = tensorFromRaw(get('swav.queue.final')).dataSync() as Float32Array;
    finalErr['head.queue'] = queue ? relErr(Float32Array.from(queue.flatMap((q) => Array.from(q))), ref) : 1;
    const used = tensorFromRaw(get('swav.queue_used')).dataSync();
    finalErr['head.use_queue'] = queueUsed.some((u, i) => Number(u) !== used[i]) ? 1 : 0;
  }
  if (tensors.has('labels.final')) {
    const want = ints(get('labels.final'));
    const got = (model as unknown as InterCLRMoCo).memoryBank.labelBank;
    finalErr['memory_bank.label_bank'] = want.filter((l, i) => l !== got[i]).length;
  }
  optimizer.dispose();
  model.dispose();
  return { losses, refLosses: [...tensorFromRaw(get('loss')).dataSync()], gradErr, finalErr, builtErr, queueUsed };
}


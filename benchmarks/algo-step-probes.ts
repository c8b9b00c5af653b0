/**
 * What the step-time benchmark (`algo-step-time.ts`) times besides each algorithm's real step: the
 * parts of a step that differ between algorithms, each run on its own.
 *
 * - `backbone`: forward + backward + the config's optimizer update of the backbone alone, on the
 *   algorithm's inputs grouped as it groups them (SimCLR: one 2N batch; BYOL: two N batches; SwAV:
 *   2N large + 6N small crops), with a loss that costs nothing (the mean of the feature map).
 * - `neck`: the same for neck (+ the predictor of BYOL/SimSiam) on backbone-shaped features.
 * - the algorithm's own extra work, written here from plain tensor ops (not the algorithm's code,
 *   so that a slow algorithm implementation shows up as a ratio above 1): the momentum encoder's
 *   forward and EMA, queue/memory contrasts, enqueues, SwAV's prototypes and Sinkhorn, Barlow Twins'
 *   cross-correlation, Sobel; memory updates and the ODC/InterCLR iteration hooks call the
 *   memory's own methods (JS loops over the bank, no tensor equivalent), amortised per step.
 */
import type { Scalar } from '@tensorflow/tfjs-core';
import { Module } from '../src/engine/module.js';
import { tf, type Tensor, type Variable } from '../src/engine/tf.js';
import type { BaseRunner } from '../src/runner/base-runner.js';
import type { Hook } from '../src/runner/hook.js';
import type { Optimizer } from '../src/runner/optim/optimizer.js';
import { contrastiveLoss } from '../src/models/losses/contrastive.js';
import { noGrad } from '../src/models/ops.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import type { StepCase, Shape } from './algo-step-cases.js';
import { pattern } from './algo-step-cases.js';

type ListModule = Module & { forward(x: Tensor | Tensor[]): Tensor[] };

export interface Probe {
  label: string;
  run: () => void | Promise<void>;
  /** Steps one run stands for (hooks that act every k iterations run k times per probe). */
  per: number;
}

const constant = (shape: Shape, salt = 0) => tf.tensor(pattern(shape.reduce((a, b) => a * b, 1), salt), shape);
/** Probe variables, disposed with the session that made them (`disposeProbeVariables`). */
const made: Variable[] = [];
const madeOptimizers: Optimizer[] = [];
const variable = (shape: Shape, salt = 0) => {
  const v = tf.variable(constant(shape, salt));
  made.push(v);
  return v;
};
export function disposeProbeVariables(): void {
  for (const v of made.splice(0)) v.dispose();
  for (const o of madeOptimizers.splice(0)) o.dispose();
}

/** One training step of `params` (name -> variable) on `loss`, updated by `optimizer` (the runner's, or a plain SGD). */
function trainProbe(params: [string, Variable][], optimizer: Optimizer, loss: () => Tensor): () => void {
  const trainable = params.filter(([, v]) => v.trainable);
  const nameOf = new Map(trainable.map(([n, v]) => [v.name, n]));
  return () => {
    const { value, grads } = tf.variableGrads(() => loss() as Scalar, trainable.map(([, v]) => v));
    const byName = new Map<string, Tensor>(Object.entries(grads).map(([k, g]) => [nameOf.get(k) ?? k, g]));
    optimizer.step(byName);
    value.dataSync();
    value.dispose();
    for (const g of byName.values()) g.dispose();
  };
}

/** A plain SGD for the extra-work probes' own variables. */
const sgd = (params: [string, Variable][]) => {
  const { optimizer } = buildOptimizer(params, { type: 'SGD', lr: 0.01 });
  madeOptimizers.push(optimizer);
  return optimizer;
};
const sgdProbe = (params: [string, Variable][], loss: () => Tensor) => trainProbe(params, sgd(params), loss);

/** `module`'s parameters under the model's names (the runner's optimizer groups them by name). */
function modelNamed(model: Module, module: Module): [string, Variable][] {
  const mine = new Set(module.namedParameters().map(([, v]) => v));
  return model.namedParameters().filter(([, v]) => mine.has(v));
}

/** Contrastive loss of rows `q` [M, D] against their positive (`pos` [M, 1]) and negatives `neg` [M, K] (ContrastiveHead: CE with label 0). */
const l2n = (x: Tensor, axis = -1) => tf.div(x, tf.maximum(tf.norm(x, 2, axis, true), 1e-12));

/** `dst = m·dst + (1 − m)·src` for every parameter pair (MoCo/BYOL momentum update). */
function ema(src: Module, dst: Module, m: number): void {
  const d = dst.namedParameters();
  tf.tidy(() => src.namedParameters().forEach(([, v], i) => d[i][1].assign(tf.add(tf.mul(d[i][1], m), tf.mul(v, 1 - m)))));
}

export interface ProbeContext {
  c: StepCase;
  model: Module;
  runner: BaseRunner;
  n: number;
}

/** The backbone's training step on the algorithm's inputs; also returns the feature shapes it gives. */
export function backboneProbe({ c, model, runner }: ProbeContext): { probe: Probe; featureShapes: Shape[] } {
  const backbone = (model as unknown as { backbone: ListModule }).backbone;
  const inputs = c.backboneCalls.map((s, i) => constant(s, i));
  const featureShapes = tf.tidy(() => inputs.map((x) => backbone.forward(x)[0].shape as Shape));
  const run = trainProbe(modelNamed(model, backbone), runner.optimizer, () => tf.addN(inputs.map((x) => tf.mean(backbone.forward(x)[0]))));
  return { probe: { label: 'backbone', run, per: 1 }, featureShapes };
}

/** The neck's (and predictor's) training step on backbone-shaped features, fed as the algorithm feeds them. */
export function neckProbe({ c, model, runner }: ProbeContext, featureShapes: Shape[]): Probe | null {
  const m = model as unknown as { neck?: ListModule | null; head?: { predictor?: ListModule } };
  const neck = m.neck;
  const predictor = m.head?.predictor ?? null;
  if (!neck || c.neckFeed === 'none') return null;
  const feats = featureShapes.map((s, i) => constant(s, i));
  const params = [...modelNamed(model, neck), ...(predictor ? modelNamed(model, predictor) : [])];
  if (!params.some(([, v]) => v.trainable)) return null; // a parameter-free neck (AvgPool2dNeck)
  const calls = (): Tensor[][] => {
    if (c.neckFeed === 'all') return [feats];
    if (c.neckFeed === 'pairs') return [[tf.concat([feats[0], feats[1]], 3)]];
    return feats.map((f) => [f]);
  };
  const loss = () => {
    const terms: Tensor[] = [];
    for (const input of calls()) {
      const outs = neck.forward(input);
      for (const o of outs) terms.push(tf.mean(o));
      if (predictor) terms.push(tf.mean(predictor.forward([outs[0]])[0]));
    }
    return tf.addN(terms);
  };
  return { label: 'neck', run: trainProbe(params, runner.optimizer, loss), per: 1 };
}

/** The algorithm's own extra work (`c.extras`), one probe per item. */
export function extraProbes(ctx: ProbeContext): Probe[] {
  const { c, model, n } = ctx;
  const cfg = c.model as Record<string, any>;
  const temperature = (cfg.head?.temperature as number) ?? 0.1;
  const featDim = (cfg.feat_dim as number) ?? 128;
  const queueLen = (cfg.queue_len as number) ?? 65536;
  const m = model as unknown as Record<string, any>;
  const probes: Probe[] = [];
  for (const item of c.extras) {
    if (item === 'key encoder') {
      // the momentum encoder: EMA of online -> key parameters, then the key views' forward (no tape)
      const online: Module = m.encoderQ ?? m.onlineNet;
      const key: Module & { forward(x: Tensor): Tensor[] } = m.encoderK ?? m.targetNet;
      const inputs = c.keyCalls.map((s, i) => constant(s, i + 1));
      const momentum = (cfg.momentum as number) ?? (cfg.base_momentum as number) ?? 0.99;
      probes.push({
        label: `key encoder (EMA + forward of ${c.keyCalls.map((s) => s[0]).join(' + ')} images)`,
        run: () => {
          ema(online, key, momentum);
          tf.tidy(() => inputs.forEach((x) => (key.forward(x) as Tensor[])[0].dataSync()));
        },
        per: 1,
      });
    } else if (item === 'queue contrast' || item === 'dense queue contrast') {
      // q [M, D] (M = N, or N·S² dense positions) against a [D, queue_len] queue, with gradients to q
      const rows = item === 'queue contrast' ? n : n * 16;
      const q = variable([rows, featDim], 3);
      const k = constant([rows, featDim], 4);
      const queue = l2n(constant([featDim, queueLen], 5), 0);
      probes.push({
        label: `${item} (${rows} × ${queueLen})`,
        run: sgdProbe([['q', q]], () => {
          const qn = l2n(q);
          return contrastiveLoss(tf.sum(tf.mul(qn, k), 1, true), tf.matMul(qn, queue), temperature);
        }),
        per: 1,
      });
    } else if (item === 'enqueue') {
      // MoCo's _dequeue_and_enqueue: N key columns into the [D, queue_len] queue at a moving pointer
      const queue = variable([featDim, queueLen], 6);
      const keys = constant([n, featDim], 7);
      let ptr = 0;
      probes.push({
        label: `enqueue (${n} of ${queueLen})`,
        run: () => {
          tf.tidy(() => {
            const parts: Tensor[] = [];
            if (ptr > 0) parts.push(tf.slice(queue, [0, 0], [-1, ptr]));
            parts.push(tf.transpose(keys));
            if (ptr + n < queueLen) parts.push(tf.slice(queue, [0, ptr + n], [-1, -1]));
            queue.assign(tf.concat(parts, 1));
          });
          queue.dataSync();
          ptr = (ptr + n) % queueLen;
        },
        per: 1,
      });
    } else if (item === 'memory contrast') {
      // NPID / InterCLR's inter branch: neg_num bank rows per sample gathered, [N, K, D] x [N, D, 1], CE
      const bank: { rows(i: ArrayLike<number>): Float32Array; length: number; featDim: number } = m.memoryBank;
      const negNum = cfg.neg_num as number;
      const d = bank.featDim;
      const f = variable([n, d], 8);
      const posFeat = constant([n, d], 9);
      let salt = 0;
      const run = sgdProbe([['f', f]], () => {
        const idx = Int32Array.from({ length: n * negNum }, (_, i) => (i * 2654435761 + salt) % bank.length);
        const neg = tf.tensor3d(bank.rows(idx), [n, negNum, d]);
        const fn = l2n(f);
        return contrastiveLoss(tf.sum(tf.mul(posFeat, fn), 1, true), tf.squeeze(tf.matMul(neg, tf.expandDims(fn, 2)), [2]), temperature);
      });
      probes.push({ label: `memory contrast (${n} × ${negNum} rows gathered)`, run: () => (salt++, run()), per: 1 });
    } else if (item === 'memory update') {
      const bank = m.memoryBank;
      const idx = c.batch.idx as Int32Array;
      const feats = pattern(n * bank.featDim, 10);
      const update = bank.updateSamplesMemory ? (i: Int32Array, f: Float32Array) => bank.updateSamplesMemory(i, f) : (i: Int32Array, f: Float32Array) => bank.update(i, f);
      probes.push({ label: 'memory update (the memory\'s own method)', run: () => void update(idx, feats), per: 1 });
    } else if (item === 'memory hooks') {
      // ODCHook / InterCLRHook after_train_iter over one centroid-update period, on the real memory
      const hook = ctx.runner.hooks.find((h) => h.hookType === 'ODCHook' || h.hookType === 'InterCLRHook') as Hook;
      const period = 10;
      const stand = { model, logger: ctx.runner.logger, rank: 0, dist: ctx.runner.dist, iter: 0, epoch: 0, innerIter: 0, byEpoch: false } as unknown as BaseRunner;
      probes.push({
        label: `${hook.hookType}.after_train_iter (the hook, amortised over ${period} iterations)`,
        run: async () => {
          for (let i = 0; i < period; i++) {
            (stand as { iter: number }).iter += 1;
            await hook.afterTrainIter(stand);
          }
        },
        per: period,
      });
    } else if (item === 'inter sampling') {
      const featNorm = pattern(n * featDim, 11);
      const idx = c.batch.idx as Int32Array;
      probes.push({ label: 'inter sampling (drawInterSamples: semihard pool search)', run: () => void m.drawInterSamples(featNorm, idx), per: 1 });
    } else if (item === 'prototypes + Sinkhorn') {
      // the queue only when the head has one (algo-step-time.ts fills it, as mid-training)
      probes.push(swavProbe(cfg, n, (m.head?.queue as Float32Array[] | null)?.[0]?.length ?? 0));
    } else if (item === 'cross-correlation') {
      const dim = cfg.neck.out_channels as number;
      const z1 = variable([n, dim], 12);
      const z2 = variable([n, dim], 13);
      const lambd = (cfg.head?.lambd as number) ?? 0.0051;
      const bn = (z: Tensor) => {
        const { mean, variance } = tf.moments(z, 0);
        return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5)));
      };
      probes.push({
        label: `cross-correlation (${dim} × ${dim})`,
        run: sgdProbe([['z1', z1], ['z2', z2]], () => {
          const cc = tf.div(tf.matMul(bn(z1), bn(z2), true, false), n);
          const diag = tf.sum(tf.mul(cc, tf.eye(dim)), 1);
          const on = tf.sum(tf.square(tf.sub(diag, 1)));
          const off = tf.sub(tf.sum(tf.square(cc)), tf.sum(tf.square(diag)));
          return tf.add(on, tf.mul(off, lambd));
        }),
        per: 1,
      });
    } else if (item === 'Sobel') {
      const sobel = m.sobelLayer as Module & { forward(x: Tensor): Tensor };
      const x = constant(c.batch.views[0].shape as Shape, 14);
      probes.push({ label: 'Sobel (forward)', run: () => tf.tidy(() => void sobel.forward(x).dataSync()), per: 1 });
    } else {
      throw new Error(`no probe for "${item}"`);
    }
  }
  return probes;
}

/** SwAV's head: prototype scores of every crop (gradients to features and prototypes), Sinkhorn codes of the assignment crops with the queue in front, the swapped cross-entropy. */
function swavProbe(cfg: Record<string, any>, n: number, queueValues: number): Probe {
  const featDim = (cfg.head.feat_dim as number) ?? 128;
  const numPrototypes = (cfg.head.num_prototypes as number) ?? 3000;
  const crops = (cfg.head.num_crops as number[]).reduce((a, b) => a + b, 0);
  const assign: number[] = cfg.head.crops_for_assign ?? [0, 1];
  const eps = (cfg.head.epsilon as number) ?? 0.05;
  const temperature = (cfg.head.temperature as number) ?? 0.1;
  const iterations = (cfg.head.sinkhorn_iterations as number) ?? 3;
  const queueRows = queueValues / featDim;
  const z = variable([crops * n, featDim], 15);
  const prototypes = variable([numPrototypes, featDim], 16);
  const queue = assign.map((_, i) => constant([queueRows, featDim], 17 + i));
  const sinkhorn = (scores: Tensor) => {
    let q = tf.transpose(tf.exp(tf.div(scores, eps)));
    q = tf.div(q, tf.sum(q));
    const [k, b] = q.shape;
    for (let it = 0; it < iterations; it++) {
      q = tf.div(tf.div(q, tf.sum(q, 1, true)), k);
      q = tf.div(tf.div(q, tf.sum(q, 0, true)), b);
    }
    return tf.transpose(tf.mul(q, b));
  };
  const run = sgdProbe([['z', z], ['prototypes', prototypes]], () => {
    const out = tf.matMul(l2n(z), prototypes, false, true);
    const terms: Tensor[] = [];
    for (const [i, a] of assign.entries()) {
      // codes without gradients (MMSelfSup: torch.no_grad())
      const mine = tf.slice(out, [a * n, 0], [n, -1]);
      const codes = noGrad((o: Tensor, w: Tensor) => {
        const scores = queueRows > 0 ? tf.concat([tf.matMul(queue[i], w, false, true), o], 0) : o;
        return tf.slice(sinkhorn(scores), [queueRows, 0], [n, -1]);
      }, mine, prototypes);
      for (let v = 0; v < crops; v++) {
        if (v === a) continue;
        const p = tf.logSoftmax(tf.div(tf.slice(out, [v * n, 0], [n, -1]), temperature));
        terms.push(tf.neg(tf.mean(tf.sum(tf.mul(codes, p), 1))));
      }
    }
    return tf.div(tf.addN(terms), terms.length);
  });
  return { label: `prototypes + Sinkhorn (${crops}×${n} rows × ${numPrototypes} prototypes, queue ${queueRows})`, run, per: 1 };
}

import { ConfigError } from '../../errors.js';
import { checkArgs, defineComponent } from '../../registry/index.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { noGrad, stopGradient } from '../ops.js';

/** A blocking element-wise sum over the ranks of the job (the dist context's float32 all-reduce). */
export type AllReduceSum = (data: Float32Array) => Float32Array;

/**
 * MMSelfSup `distributed_sinkhorn`: `Q = exp(out/ε)ᵀ` `[K, B]`, divided by its sum, then `iterations` ×
 * (rows to 1/K, columns to 1/B); returns `(B·Q)ᵀ` `[B, K]`. Across ranks (`allReduceSum` given) `B` is
 * local × world size and sum(Q) is all-reduced, but, as in MMSelfSup (unlike facebookresearch/swav, which
 * all-reduces every row sum), the row sums are all-reduced only in an iteration where a prototype's row sums
 * to 0 (then 1e-12 is added to Q first); otherwise each rank normalises its own rows, and since the
 * column step makes every row sum to 1 the codes are those of its local batch alone. MMSelfSup takes that
 * branch per rank (a rank with a zero row all-reduces alone); here the ranks agree on it through a one-number
 * all-reduce, so the collectives stay matched: any rank with a zero row makes every rank take it.
 */
export function sinkhorn(out: Tensor, iterations: number, epsilon: number, allReduceSum?: AllReduceSum, worldSize = 1): Tensor {
  const reduce = (t: Tensor): Tensor => (allReduceSum ? tf.tensor(allReduceSum(Float32Array.from(t.dataSync())), t.shape) : t);
  return tf.tidy(() => {
    let q = tf.transpose(tf.exp(tf.div(out, epsilon)));
    const k = q.shape[0] as number;
    const b = (q.shape[1] as number) * (allReduceSum ? worldSize : 1);
    q = tf.div(q, reduce(tf.sum(q)));
    // Each iteration's [K, B] intermediates are freed before the next (B is queue + batch rows).
    for (let it = 0; it < iterations; it++) {
      const prev = q;
      q = tf.tidy(() => {
        let p = prev;
        let u = tf.sum(p, 1, true);
        let zeroRows = tf.sum(tf.cast(tf.equal(u, 0), 'float32')).dataSync()[0];
        if (allReduceSum) zeroRows = allReduceSum(Float32Array.of(zeroRows))[0];
        if (zeroRows > 0) {
          p = tf.add(p, 1e-12);
          u = reduce(tf.sum(p, 1, true));
        }
        p = tf.div(tf.div(p, u), k);
        return tf.div(tf.div(p, tf.sum(p, 0, true)), b);
      });
      prev.dispose();
    }
    return tf.transpose(tf.mul(q, b));
  });
}

/**
 * MMSelfSup `SwAVHead`: bias-free `prototypes` Linear(feat_dim, num_prototypes) (rows L2-normalised
 * before each step), Sinkhorn-Knopp codes of each `crops_for_assign` crop (with the queue's features
 * in front once it is filled) predicted from every other crop's `prototypes(x)/temperature`.
 * The queue `[len(crops_for_assign), L, feat_dim]` is created by `SwAVHook`; after the step the batch's
 * assignment-crop embeddings are pushed onto its front. Across ranks each rank keeps its own queue of its own
 * embeddings (nothing is gathered), as MMSelfSup.
 */
export class SwAVHead extends Module {
  readonly sinkhornIterations: number;
  readonly epsilon: number;
  readonly temperature: number;
  readonly cropsForAssign: number[];
  readonly numCrops: number[];
  readonly featDim: number;
  readonly prototypes: Linear;
  /** `[len(crops_for_assign)][L·feat_dim]`, newest rows first; null until SwAVHook starts it. */
  queue: Float32Array[] | null = null;
  useQueue = false;
  /** Set by `SwAV` before each step when the job has several ranks: Sinkhorn's sum(Q) (and zero-row sums) are all-reduced over them. */
  distributed: { allReduceSum: AllReduceSum; worldSize: number } | null = null;
  private pending: Tensor | null = null;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('SwAVHead', args, ['feat_dim', 'sinkhorn_iterations', 'epsilon', 'temperature', 'crops_for_assign', 'num_crops', 'num_prototypes', 'init_cfg']);
    this.featDim = args.feat_dim as number;
    this.sinkhornIterations = (args.sinkhorn_iterations as number) ?? 3;
    this.epsilon = (args.epsilon as number) ?? 0.05;
    this.temperature = (args.temperature as number) ?? 0.1;
    this.cropsForAssign = (args.crops_for_assign as number[]) ?? [0, 1];
    this.numCrops = (args.num_crops as number[]) ?? [2];
    const numPrototypes = (args.num_prototypes as number) ?? 3000;
    if (!Number.isInteger(this.featDim) || this.featDim <= 0) throw new ConfigError(`SwAVHead: feat_dim must be a positive integer, got ${String(args.feat_dim)}`);
    if (!Array.isArray(this.numCrops) || !this.numCrops.every((n) => Number.isInteger(n) && n > 0)) {
      throw new ConfigError(`SwAVHead: num_crops must be a list of positive integers (crops per resolution), got ${JSON.stringify(args.num_crops)}`);
    }
    const total = this.totalCrops;
    for (const c of this.cropsForAssign) {
      if (!(Number.isInteger(c) && c >= 0 && c < total)) {
        throw new ConfigError(`SwAVHead: crops_for_assign ${JSON.stringify(this.cropsForAssign)} has ${String(c)}, outside the ${total} crops of num_crops ${JSON.stringify(this.numCrops)}; use crop ids 0..${total - 1}`);
      }
    }
    if (!(Number.isInteger(numPrototypes) && numPrototypes > 0)) throw new ConfigError(`SwAVHead: num_prototypes must be a positive integer (a list of them is not supported), got ${JSON.stringify(args.num_prototypes)}`);
    this.prototypes = this.registerModule('prototypes', new Linear(this.featDim, numPrototypes, { bias: false }));
  }

  get totalCrops(): number {
    return this.numCrops.reduce((a, b) => a + b, 0);
  }

  /** MMSelfSup normalises the prototype vectors in place (no gradient) at the start of each forward. */
  normalizePrototypes(): void {
    const w = this.prototypes.weight; // [feat_dim, K]: one prototype per column
    const n = tf.tidy(() => tf.div(w, tf.maximum(tf.norm(w, 2, 0, true), 1e-12)));
    w.assign(n);
    n.dispose();
  }

  /** x `[sum(num_crops)·N, feat_dim]` (crop-major) -> `{loss}`. */
  forward(x: Tensor): Record<string, Tensor> {
    const output = this.prototypes.forward(x);
    const embedding = stopGradient(x);
    const total = this.totalCrops;
    const bs = Math.floor(x.shape[0] / total);
    let loss: Tensor = tf.scalar(0);
    let useQueue = this.useQueue;
    for (const [i, cropId] of this.cropsForAssign.entries()) {
      const q = this.queue?.[i];
      if (q && !useQueue) useQueue = q.subarray(q.length - this.featDim).some((v) => v !== 0);
      // Off the tape (MMSelfSup's torch.no_grad()): with a filled queue each crop's scores are
      // [L + bs, num_prototypes] (3848 × 3000 with queue_length 3840), and the tape would keep every
      // Sinkhorn intermediate of them until the backward pass, past wasm's 4 GiB heap.
      const codes = noGrad((o: Tensor, w: Tensor) => {
        let out = o;
        if (q && useQueue) out = tf.concat([tf.matMul(tf.tensor2d(q, [q.length / this.featDim, this.featDim]), w), out], 0);
        return tf.slice(sinkhorn(out, this.sinkhornIterations, this.epsilon, this.distributed?.allReduceSum, this.distributed?.worldSize), [out.shape[0] - bs, 0], [bs, -1]);
      }, tf.slice(output, [bs * cropId, 0], [bs, -1]), this.prototypes.weight);
      let subloss: Tensor = tf.scalar(0);
      for (let v = 0; v < total; v++) {
        if (v === cropId) continue;
        const logits = tf.div(tf.slice(output, [bs * v, 0], [bs, -1]), this.temperature);
        subloss = tf.sub(subloss, tf.mean(tf.sum(tf.mul(codes, tf.logSoftmax(logits, 1)), 1)));
      }
      loss = tf.add(loss, tf.div(subloss, total - 1));
    }
    this.useQueue = useQueue;
    if (this.queue) {
      this.pending?.dispose();
      this.pending = tf.keep(tf.concat(this.cropsForAssign.map((c) => tf.slice(embedding, [bs * c, 0], [bs, -1])), 0));
    }
    return { loss: tf.div(loss, this.cropsForAssign.length) };
  }

  /** Pushes this step's assignment-crop embeddings (`[len(crops_for_assign)·bs, feat_dim]`) onto the queue fronts. */
  async updateQueue(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (!p || !this.queue) return p?.dispose();
    const rows = await p.data();
    const n = rows.length / this.cropsForAssign.length;
    p.dispose();
    for (const [i, q] of this.queue.entries()) {
      const keep = Math.max(q.length - n, 0);
      q.copyWithin(n, 0, keep);
      q.set(rows.subarray(i * n, i * n + Math.min(n, q.length)), 0);
    }
  }
}

export const swavHeadEntry = defineComponent({ type: 'SwAVHead', build: (a) => new SwAVHead(a) });

import { Module } from '../module.js';
import { tf, type Tensor, type Tensor1D, type Variable } from '../tf.js';
import { stableMoments, stableSum } from '../ops/stable-sum.js';
import { nativeBatchNormApply, nativeBatchNormAvailable, nativeBatchNormTrain, nativeBatchStats } from '../ops/batch-norm-train.js';

/** Per-channel sums of one process's batch: Σx, Σx², and how many values were summed. */
export interface BatchStats {
  sum: Tensor1D;
  sumSq: Tensor1D;
  count: number;
}

/**
 * SyncBN hook: turns local batch statistics into global ones (all-reduce over the process group).
 * Must be differentiable with respect to `sum`/`sumSq` (e.g. `tf.customGrad` that all-reduces the
 * gradients too) for SyncBN training to match PyTorch. Set by the distributed engine.
 */
export type BatchStatsReducer = (local: BatchStats) => BatchStats;

let reducer: BatchStatsReducer | null = null;

/** Installs (or clears with null) the reducer used by BatchNorm layers built with `sync: true`. */
export function setBatchStatsReducer(r: BatchStatsReducer | null): void {
  reducer = r;
}

export interface BatchNormArgs {
  eps?: number;
  /** Running-stat update factor (PyTorch default 0.1); null = cumulative moving average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  /** SyncBN: reduce batch statistics across processes through the installed reducer. */
  sync?: boolean;
}

/**
 * torch.nn.BatchNorm{1,2}d / SyncBatchNorm over the last (channel) axis of `[N, C]`, `[N, L, C]`
 * or NHWC `[N, H, W, C]` input. Parameters `weight`, `bias`; buffers `running_mean`, `running_var`,
 * `num_batches_tracked` (int32 here, int64 in PyTorch files).
 * Training: normalises with the biased batch variance, updates running stats with the unbiased one.
 * Eval (or frozen via `eval()`): uses running stats.
 */
export class BatchNorm extends Module {
  readonly weight: Variable | null;
  readonly bias: Variable | null;
  readonly runningMean: Variable | null;
  readonly runningVar: Variable | null;
  readonly numBatchesTracked: Variable | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly sync: boolean;

  constructor(
    readonly numFeatures: number,
    args: BatchNormArgs = {},
  ) {
    super();
    this.eps = args.eps ?? 1e-5;
    this.momentum = args.momentum === undefined ? 0.1 : args.momentum;
    this.sync = args.sync ?? false;
    const affine = args.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    const track = args.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32')) : null;
  }

  forward(x: Tensor): Tensor {
    const useBatchStats = this.training || !this.runningMean;
    if (!useBatchStats) {
      // eval mode on the native engine: one multi-threaded pass that keeps a convolution's blocked layout (tfjs's
      // FusedBatchNorm ran on single-threaded wasm after reordering the activation to NHWC: half of a frozen
      // ResNet's feature extraction time)
      if (nativeBatchNormAvailable(x)) return nativeBatchNormApply(x, this.runningMean!, this.runningVar!, this.weight ?? tf.ones([this.numFeatures]), this.bias ?? tf.zeros([this.numFeatures]), this.eps);
      return this.normalise(x, this.runningMean!, this.runningVar!);
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const n = x.size / this.numFeatures;
    if (!(this.sync && reducer)) return this.trainForward(x, axes, n);
    const native = nativeBatchNormAvailable(x);
    const local = native ? nativeBatchStats(x) : { sum: stableSum(x, axes), sumSq: stableSum(tf.square(x), axes) };
    const global = reducer({ sum: local.sum as Tensor1D, sumSq: local.sumSq as Tensor1D, count: n });
    const mean = tf.div(global.sum, global.count);
    const variance = tf.relu(tf.sub(tf.div(global.sumSq, global.count), tf.square(mean)));
    if (this.training && this.runningMean) this.updateRunningStats(mean, variance, global.count);
    if (native) return nativeBatchNormApply(x, mean, variance, this.weight ?? tf.ones([this.numFeatures]), this.bias ?? tf.zeros([this.numFeatures]), this.eps);
    return this.normalise(x, mean, variance);
  }

  /**
   * Batch-statistics normalisation with the closed-form backward
   * dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy
   * (tfjs's FusedBatchNorm gradient tiles the statistics to the full input shape: 3× slower on wasm).
   */
  private trainForward(x: Tensor, axes: number[], n: number): Tensor {
    const c = this.numFeatures;
    const gamma = this.weight ?? tf.ones([c]);
    const beta = this.bias ?? tf.zeros([c]);
    if (nativeBatchNormAvailable(x)) {
      return nativeBatchNormTrain(x, gamma, beta, this.eps, (mean, variance) => {
        if (this.training && this.runningMean) this.updateRunningStats(mean, variance, n);
      });
    }
    const f = tf.customGrad(((xi: Tensor, g: Tensor, b: Tensor, save: (ts: Tensor[]) => void) => {
      const { mean, variance } = stableMoments(xi, axes);
      if (this.training && this.runningMean) this.updateRunningStats(mean, variance, n);
      const rstd = tf.rsqrt(tf.add(variance, this.eps));
      const xhat = tf.mul(tf.sub(xi, mean), rstd);
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
          const [xh, rs, gm] = saved;
          const d = dy as Tensor;
          const dBeta = stableSum(d, axes);
          const dGamma = stableSum(tf.mul(d, xh), axes);
          const centred = tf.sub(tf.sub(d, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
          return [tf.mul(centred, tf.mul(gm, rs)), dGamma, dBeta];
        },
      };
    }) as never) as (a: Tensor, b: Tensor, c: Tensor) => Tensor;
    return f(x, gamma, beta);
  }

  private normalise(x: Tensor, mean: Tensor, variance: Tensor): Tensor {
    // without affine, ones/zeros rather than undefined: tfjs's FusedBatchNorm saves `scale` for its
    // gradient, and an undefined one fails inside a tape (SyncBN of a `with_last_bn_affine=False` neck)
    const c = this.numFeatures;
    return tf.batchNorm(x, mean as Tensor1D, variance as Tensor1D, this.bias ?? tf.zeros([c]), this.weight ?? tf.ones([c]), this.eps);
  }

  private updateRunningStats(mean: Tensor, variance: Tensor, count: number): void {
    // Not differentiated: the tape never reaches these ops from the loss.
    const tracked = this.numBatchesTracked!;
    tf.tidy(() => tracked.assign(tf.add(tracked, tf.scalar(1, 'int32'))));
    // momentum=null (cumulative average) needs the count on the host; the default path avoids that sync.
    const m = this.momentum ?? 1 / tracked.dataSync()[0];
    const unbiased = count > 1 ? count / (count - 1) : 1;
    tf.tidy(() => {
      const rm = this.runningMean!;
      const rv = this.runningVar!;
      rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
      rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(variance, m * unbiased)));
    });
  }
}

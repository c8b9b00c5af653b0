import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import { PRIORITIES } from '../priority.js';

export interface GradClip {
  max_norm: number;
  norm_type?: number;
}

/**
 * mmcv `OptimizerHook` / MMSelfSup `DistOptimizerHook` (from `optimizer_config`): takes the step's
 * gradients, accumulates them over `update_interval` iterations (each scaled by 1/interval, the last
 * incomplete group by 1/remainder), drops gradients of `frozen_layers_cfg` layers for their first
 * iterations, all-reduces across processes, clips (`grad_clip`, logs `grad_norm`), steps the optimizer.
 * `type='GradientCumulativeOptimizerHook', cumulative_iters=N` (or `cumulative_iters` alone) is mmcv's
 * hook of that name: the same accumulation, its groups counted from the iterations left at the start
 * (a resumed run), and a warning when the model has BatchNorm layers.
 */
export class OptimizerHook extends Hook {
  override priority: number = PRIORITIES.ABOVE_NORMAL;
  readonly hookType: string;
  readonly updateInterval: number;
  readonly gradClip: GradClip | null;
  readonly frozenLayers: [string, number][];
  /** mmcv's GradientCumulativeOptimizerHook (`cumulative_iters`) rather than MMSelfSup's `update_interval`. */
  readonly cumulative: boolean;
  private accumulated = new Map<string, Tensor>();
  private divisibleIters = 0;
  private remainderIters = 0;

  constructor(cfg: Record<string, unknown> = {}, distributed = false) {
    super();
    const { type, ...args } = cfg;
    if (type !== undefined && !['OptimizerHook', 'DistOptimizerHook', 'GradientCumulativeOptimizerHook'].includes(type as string)) {
      throw new ConfigError(`optimizer_config.type "${String(type)}" is not supported; use OptimizerHook, DistOptimizerHook or GradientCumulativeOptimizerHook`);
    }
    // mmcv's GradientCumulativeOptimizerHook(cumulative_iters): `optimizer_config = dict(cumulative_iters=N)` selects it too
    this.cumulative = type === 'GradientCumulativeOptimizerHook' || (type === undefined && args.cumulative_iters !== undefined);
    const key = this.cumulative ? 'cumulative_iters' : 'update_interval';
    const accepted = ['grad_clip', 'frozen_layers_cfg', 'coalesce', 'bucket_size_mb', 'detect_anomalous_params', key];
    checkArgs(this.cumulative ? 'GradientCumulativeOptimizerHook' : 'OptimizerHook', args, accepted);
    this.hookType = this.cumulative ? 'GradientCumulativeOptimizerHook' : ((type as string) ?? (distributed || args.update_interval !== undefined ? 'DistOptimizerHook' : 'OptimizerHook'));
    this.updateInterval = (args[key] as number) ?? 1;
    if (!Number.isInteger(this.updateInterval) || this.updateInterval < 1) {
      throw new ConfigError(`optimizer_config.${key} must be a positive integer, got ${String(args[key])}`);
    }
    const clip = args.grad_clip as GradClip | null | undefined;
    if (clip) checkArgs('grad_clip', clip as unknown as Record<string, unknown>, ['max_norm', 'norm_type']);
    this.gradClip = clip ?? null;
    this.frozenLayers = Object.entries((args.frozen_layers_cfg as Record<string, number>) ?? {});
  }

  override beforeRun(runner: BaseRunner): void {
    if (this.cumulative) {
      // mmcv GradientCumulativeOptimizerHook._init (at the first iteration run): the groups are counted
      // from the iterations left, then compared with the absolute iteration, as mmcv does
      const residual = runner.maxIters - runner.iter;
      this.divisibleIters = Math.floor(residual / this.updateInterval) * this.updateInterval;
      this.remainderIters = residual - this.divisibleIters;
      if (this.updateInterval > 1 && runner.model.namedBuffers().some(([n]) => n.endsWith('running_mean'))) {
        runner.logger.warning('GradientCumulativeOptimizerHook may slightly decrease performance if the model has BatchNorm layers.');
      }
    } else {
      this.divisibleIters = Math.floor(runner.maxIters / this.updateInterval) * this.updateInterval;
      this.remainderIters = runner.maxIters - this.divisibleIters;
    }
    if (runner.iter % this.updateInterval !== 0) {
      runner.logger.warning(
        `Resume iter number is not divisible by ${this.cumulative ? 'cumulative_iters' : 'update_interval'} in GradientCumulativeOptimizerHook, which means the gradient of some iters is lost and the result may be influenced slightly.`,
      );
    }
  }

  override async afterTrainIter(runner: BaseRunner): Promise<void> {
    const out = runner.outputs;
    if (!out) return;
    const factor = runner.iter < this.divisibleIters || this.remainderIters === 0 ? this.updateInterval : this.remainderIters;
    for (const [name, g] of out.grads) {
      const scaled = factor === 1 ? g : tf.tidy(() => tf.div(g, factor));
      const prev = this.accumulated.get(name);
      if (prev) {
        this.accumulated.set(name, tf.tidy(() => tf.add(prev, scaled)));
        prev.dispose();
        if (scaled !== g) scaled.dispose();
      } else {
        this.accumulated.set(name, scaled === g ? tf.clone(g) : scaled);
      }
    }
    for (const g of out.grads.values()) g.dispose();
    out.grads.clear();
    if (!(this.everyNIters(runner, this.updateInterval) || this.isLastIter(runner))) return;
    const grads = this.accumulated;
    this.accumulated = new Map();
    try {
      for (const [layer, iters] of this.frozenLayers) {
        if (runner.iter < iters) {
          for (const name of [...grads.keys()]) {
            if (name.includes(layer)) {
              grads.get(name)!.dispose();
              grads.delete(name);
            }
          }
        }
      }
      if (runner.worldSize > 1 && runner.dist.allReduceGrads) {
        const riders = runner.gradientRiders();
        await runner.dist.allReduceGrads(grads, riders);
        runner.acceptGradientRiders(riders);
      }
      if (this.gradClip && grads.size > 0) {
        const norm = clipGradNorm(grads, this.gradClip.max_norm, this.gradClip.norm_type ?? 2);
        runner.logBuffer.update({ grad_norm: norm }, out.numSamples);
      }
      runner.optimizer.step(grads);
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: total norm over all gradients; if above `maxNorm`, every gradient
 * is scaled by `maxNorm / (total + 1e-6)` (in the map). Returns the total norm before clipping.
 */
export function clipGradNorm(grads: Map<string, Tensor>, maxNorm: number, normType = 2): number {
  const total = tf.tidy(() => {
    const gs = [...grads.values()];
    if (normType === Infinity) return tf.max(tf.stack(gs.map((g) => tf.max(tf.abs(g)))));
    const parts = gs.map((g) => tf.norm(g, normType));
    return tf.norm(tf.stack(parts), normType);
  });
  const totalNorm = total.dataSync()[0];
  total.dispose();
  const coef = maxNorm / (totalNorm + 1e-6);
  if (coef < 1) {
    for (const [name, g] of grads) {
      grads.set(name, tf.tidy(() => tf.mul(g, coef)));
      g.dispose();
    }
  }
  return totalNorm;
}

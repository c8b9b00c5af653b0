import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import type { Policy, WarmupType } from '../lr-policies.js';
import { CosineAnnealingPolicy, CyclicPolicy, StepPolicy } from '../lr-policies.js';
import { PRIORITIES } from '../priority.js';
import { policyTypeName, progressOf } from './lr-updater-hook.js';

/** mmcv `get_warmup_momentum`: momentum is divided where lr is multiplied. */
export function warmupMomentum(type: WarmupType, curIter: number, warmupIters: number, warmupRatio: number, regular: number): number {
  if (type === 'constant') return regular / warmupRatio;
  if (type === 'linear') return regular / (1 - (1 - curIter / warmupIters) * (1 - warmupRatio));
  return regular / warmupRatio ** (1 - curIter / warmupIters);
}

/**
 * mmcv `MomentumUpdaterHook`: sets each group's `momentum` (or `betas[0]` for Adam-style
 * optimizers) from a policy, from `momentum_config`.
 */
export class MomentumUpdaterHook extends Hook {
  override priority: number = PRIORITIES.HIGH;
  baseMomentum: number[] = [];
  regularMom: number[] = [];

  constructor(
    readonly hookType: string,
    readonly policy: Policy,
    readonly byEpoch: boolean,
    readonly warmup: WarmupType | null = null,
    readonly warmupIters = 0,
    readonly warmupRatio = 0.9,
  ) {
    super();
  }

  private set(runner: BaseRunner, values: number[]): void {
    runner.optimizer.paramGroups.forEach((g, i) => {
      if (g.momentum !== undefined) g.momentum = values[i];
      else if (g.betas !== undefined) g.betas = [values[i], g.betas[1]];
    });
  }

  private regular(runner: BaseRunner): number[] {
    const p = progressOf(runner);
    return this.baseMomentum.map((b) => this.policy.value(p, b, this.byEpoch));
  }

  override beforeRun(runner: BaseRunner): void {
    for (const g of runner.optimizer.paramGroups) {
      if (g.initial_momentum === undefined) g.initial_momentum = g.momentum !== undefined ? g.momentum : (g.betas?.[0] ?? 0);
    }
    this.baseMomentum = runner.optimizer.paramGroups.map((g) => g.initial_momentum as number);
    this.policy.prepare?.(progressOf(runner));
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    if (!this.byEpoch) return;
    this.regularMom = this.regular(runner);
    this.set(runner, this.regularMom);
  }

  override beforeTrainIter(runner: BaseRunner): void {
    const cur = runner.iter;
    const warm = (): number[] => this.regularMom.map((r) => warmupMomentum(this.warmup as WarmupType, cur, this.warmupIters, this.warmupRatio, r));
    if (!this.byEpoch) {
      this.regularMom = this.regular(runner);
      if (this.warmup === null || cur >= this.warmupIters) this.set(runner, this.regularMom);
      else this.set(runner, warm());
    } else {
      if (this.warmup === null || cur > this.warmupIters) return;
      if (cur === this.warmupIters) this.set(runner, this.regularMom);
      else this.set(runner, warm());
    }
  }
}

/** Keys every momentum policy takes (they are taken out before the policy's own are checked; listed for did-you-mean). */
const COMMON = ['policy', 'by_epoch', 'warmup', 'warmup_iters', 'warmup_ratio'];

/** Builds the momentum hook from `momentum_config` (`{policy: 'cyclic', ...}`). */
export function buildMomentumUpdaterHook(cfg: Record<string, unknown>): MomentumUpdaterHook {
  const { policy, by_epoch, warmup, warmup_iters, warmup_ratio, ...own } = cfg;
  if (typeof policy !== 'string') {
    checkArgs('momentum_config', own, COMMON);
    throw new ConfigError('momentum_config needs a string "policy" (cyclic, CosineAnnealing, Step)');
  }
  const type = policyTypeName(policy);
  const hookType = `${type}MomentumUpdaterHook`;
  let p: Policy;
  let byEpoch = (by_epoch as boolean | undefined) ?? true;
  switch (type) {
    case 'Cyclic':
      checkArgs(hookType, own, [...['target_ratio', 'cyclic_times', 'step_ratio_up', 'anneal_strategy', 'gamma'], ...COMMON]);
      if (by_epoch) throw new ConfigError('momentum_config (CyclicMomentumUpdaterHook): only by_epoch: false is supported');
      byEpoch = false;
      p = new CyclicPolicy(
        (own.target_ratio as number | number[]) ?? [0.85 / 0.95, 1],
        (own.cyclic_times as number) ?? 1,
        (own.step_ratio_up as number) ?? 0.4,
        (own.anneal_strategy as 'cos' | 'linear') ?? 'cos',
        (own.gamma as number) ?? 1,
      );
      break;
    case 'CosineAnnealing':
      checkArgs(hookType, own, [...['min_momentum', 'min_momentum_ratio'], ...COMMON]);
      p = new CosineAnnealingPolicy((own.min_momentum as number) ?? null, (own.min_momentum_ratio as number) ?? null);
      break;
    case 'Step':
      checkArgs(hookType, own, [...['step', 'gamma', 'min_momentum'], ...COMMON]);
      p = new StepPolicy(own.step as number | number[], (own.gamma as number) ?? 0.5, (own.min_momentum as number) ?? null);
      break;
    default:
      throw new ConfigError(`momentum_config: unknown policy "${policy}" (${hookType}); use cyclic, CosineAnnealing or Step`);
  }
  return new MomentumUpdaterHook(hookType, p, byEpoch, (warmup as WarmupType) ?? null, (warmup_iters as number) ?? 0, (warmup_ratio as number) ?? 0.9);
}

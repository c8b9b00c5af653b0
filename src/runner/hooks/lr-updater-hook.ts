import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import type { Policy, Progress, WarmupType } from '../lr-policies.js';
import {
  CosineAnnealingPolicy,
  CyclicPolicy,
  ExpPolicy,
  PolyPolicy,
  StepFixCosineAnnealingPolicy,
  StepPolicy,
  warmupLr,
} from '../lr-policies.js';
import { PRIORITIES } from '../priority.js';

export interface WarmupOptions {
  by_epoch?: boolean;
  warmup?: WarmupType | null;
  warmup_iters?: number;
  warmup_ratio?: number;
  warmup_by_epoch?: boolean;
}

const WARMUP_KEYS = ['by_epoch', 'warmup', 'warmup_iters', 'warmup_ratio', 'warmup_by_epoch'];

export function progressOf(runner: BaseRunner): Progress {
  return { epoch: runner.epoch, iter: runner.iter, maxEpochs: runner.maxEpochs, maxIters: runner.maxIters, epochLength: runner.epochLength };
}

/**
 * mmcv `LrUpdaterHook`: sets each param group's `lr` from a policy, per epoch or per iteration,
 * with optional warm-up. Base lrs are the groups' `initial_lr` (saved in checkpoints).
 */
export class LrUpdaterHook extends Hook {
  override priority: number = PRIORITIES.VERY_HIGH;
  readonly byEpoch: boolean;
  readonly warmup: WarmupType | null;
  warmupIters: number | null;
  readonly warmupRatio: number;
  readonly warmupEpochs: number | null;
  baseLr: number[] = [];
  regularLr: number[] = [];

  constructor(
    readonly hookType: string,
    readonly policy: Policy,
    opts: WarmupOptions = {},
  ) {
    super();
    this.byEpoch = opts.by_epoch ?? true;
    this.warmup = opts.warmup ?? null;
    this.warmupRatio = opts.warmup_ratio ?? 0.1;
    const warmupIters = opts.warmup_iters ?? 0;
    if (this.warmup !== null) {
      if (!['constant', 'linear', 'exp'].includes(this.warmup)) {
        throw new ConfigError(`lr_config: warmup "${this.warmup}" is not supported; use constant, linear or exp`);
      }
      if (!(warmupIters > 0)) throw new ConfigError('lr_config: warmup_iters must be a positive integer when warmup is set');
      if (!(this.warmupRatio > 0 && this.warmupRatio <= 1)) throw new ConfigError('lr_config: warmup_ratio must be in (0, 1]');
    }
    if (opts.warmup_by_epoch) {
      this.warmupEpochs = warmupIters;
      this.warmupIters = null;
    } else {
      this.warmupEpochs = null;
      this.warmupIters = warmupIters;
    }
  }

  protected setLr(runner: BaseRunner, lrs: number[]): void {
    runner.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
  }

  regular(runner: BaseRunner): number[] {
    const p = progressOf(runner);
    return this.baseLr.map((b) => this.policy.value(p, b, this.byEpoch));
  }

  warmupLrs(curIter: number): number[] {
    return this.regularLr.map((r) => warmupLr(this.warmup as WarmupType, curIter, this.warmupIters as number, this.warmupRatio, r));
  }

  override beforeRun(runner: BaseRunner): void {
    for (const g of runner.optimizer.paramGroups) if (g.initial_lr === undefined) g.initial_lr = g.lr;
    this.baseLr = runner.optimizer.paramGroups.map((g) => g.initial_lr as number);
    this.policy.prepare?.(progressOf(runner));
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    if (this.warmupIters === null) this.warmupIters = (this.warmupEpochs as number) * runner.epochLength;
    if (this.policy instanceof StepFixCosineAnnealingPolicy) this.policy.warmupIters = this.warmup === null ? null : this.warmupIters;
    if (!this.byEpoch) return;
    this.regularLr = this.regular(runner);
    this.setLr(runner, this.regularLr);
  }

  override beforeTrainIter(runner: BaseRunner): void {
    const cur = runner.iter;
    const warmupIters = this.warmupIters as number;
    if (!this.byEpoch) {
      this.regularLr = this.regular(runner);
      if (this.warmup === null || cur >= warmupIters) this.setLr(runner, this.regularLr);
      else this.setLr(runner, this.warmupLrs(cur));
    } else {
      if (this.warmup === null || cur > warmupIters) return;
      if (cur === warmupIters) this.setLr(runner, this.regularLr);
      else this.setLr(runner, this.warmupLrs(cur));
    }
  }
}

function num(v: unknown, key: string, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(v: unknown, key: string, where: string): number | null {
  return v === undefined || v === null ? null : num(v, key, where);
}

/** mmcv's policy naming: an all-lower-case policy is title-cased (`'step'` -> `'Step'`). */
export function policyTypeName(policy: string): string {
  return policy === policy.toLowerCase() ? policy.charAt(0).toUpperCase() + policy.slice(1) : policy;
}

/** Builds the lr hook from `lr_config` (`{policy, ...}`), as mmcv `register_lr_hook`. */
export function buildLrUpdaterHook(lrConfig: Record<string, unknown>): LrUpdaterHook {
  const { policy, ...rest } = lrConfig;
  if (typeof policy !== 'string') {
    checkArgs('lr_config', rest, ['policy', ...WARMUP_KEYS]);
    throw new ConfigError('lr_config needs a string "policy" (CosineAnnealing, Step, Poly, Cyclic, StepFixCosineAnnealing, Exp, Fixed)');
  }
  const type = policyTypeName(policy);
  const hookType = `${type}LrUpdaterHook`;
  const warm = Object.fromEntries(Object.entries(rest).filter(([k]) => WARMUP_KEYS.includes(k))) as WarmupOptions;
  const own = Object.fromEntries(Object.entries(rest).filter(([k]) => !WARMUP_KEYS.includes(k)));
  const where = `lr_config (${hookType})`;
  let p: Policy;
  switch (type) {
    case 'Fixed':
      checkArgs(hookType, own, WARMUP_KEYS);
      p = { value: (_p, base) => base };
      break;
    case 'Step': {
      checkArgs(hookType, own, [...['step', 'gamma', 'min_lr'], ...WARMUP_KEYS]);
      p = new StepPolicy(own.step as number | number[], optNum(own.gamma, 'gamma', where) ?? 0.1, optNum(own.min_lr, 'min_lr', where));
      break;
    }
    case 'Exp':
      checkArgs(hookType, own, [...['gamma'], ...WARMUP_KEYS]);
      p = new ExpPolicy(num(own.gamma, 'gamma', where));
      break;
    case 'Poly':
      checkArgs(hookType, own, [...['power', 'min_lr'], ...WARMUP_KEYS]);
      p = new PolyPolicy(optNum(own.power, 'power', where) ?? 1, optNum(own.min_lr, 'min_lr', where) ?? 0);
      break;
    case 'CosineAnnealing':
    case 'StepFixCosineAnnealing': {
      checkArgs(hookType, own, [...['min_lr', 'min_lr_ratio'], ...WARMUP_KEYS]);
      const Cls = type === 'CosineAnnealing' ? CosineAnnealingPolicy : StepFixCosineAnnealingPolicy;
      try {
        p = new Cls(optNum(own.min_lr, 'min_lr', where), optNum(own.min_lr_ratio, 'min_lr_ratio', where));
      } catch (e) {
        throw new ConfigError(`${where}: ${(e as Error).message}`);
      }
      break;
    }
    case 'Cyclic': {
      checkArgs(hookType, own, [...['target_ratio', 'cyclic_times', 'step_ratio_up', 'anneal_strategy', 'gamma'], ...WARMUP_KEYS]);
      if (warm.by_epoch) throw new ConfigError(`${where}: only by_epoch: false is supported`);
      warm.by_epoch = false;
      p = new CyclicPolicy(
        (own.target_ratio as number | number[]) ?? [10, 1e-4],
        optNum(own.cyclic_times, 'cyclic_times', where) ?? 1,
        optNum(own.step_ratio_up, 'step_ratio_up', where) ?? 0.4,
        (own.anneal_strategy as 'cos' | 'linear') ?? 'cos',
        optNum(own.gamma, 'gamma', where) ?? 1,
      );
      break;
    }
    default:
      throw new ConfigError(
        `lr_config: unknown policy "${policy}" (${hookType}); use CosineAnnealing, Step, Poly, Exp, Cyclic, Fixed or StepFixCosineAnnealing`,
      );
  }
  return new LrUpdaterHook(hookType, p, warm);
}

/**
 * Learning-rate and momentum formulas, exactly as mmcv 1.x `lr_updater.py` / `momentum_updater.py`
 * (pure functions so tests can check them at chosen iterations).
 */

/** Cosine annealing from `start` to `end` as `factor` goes 0 -> 1 (mmcv `annealing_cos`). */
export function annealingCos(start: number, end: number, factor: number, weight = 1): number {
  const cosOut = Math.cos(Math.PI * factor) + 1;
  return end + 0.5 * weight * (start - end) * cosOut;
}

/** Linear annealing from `start` to `end` (mmcv `annealing_linear`). */
export function annealingLinear(start: number, end: number, factor: number): number {
  return start + (end - start) * factor;
}

/** Where training is: the progress counters a policy reads. */
export interface Progress {
  epoch: number;
  iter: number;
  maxEpochs: number;
  maxIters: number;
  /** Iterations per epoch (`len(runner.data_loader)`). */
  epochLength: number;
}

export type WarmupType = 'constant' | 'linear' | 'exp';

/** mmcv `LrUpdaterHook.get_warmup_lr` for one regular lr. */
export function warmupLr(type: WarmupType, curIter: number, warmupIters: number, warmupRatio: number, regularLr: number): number {
  if (type === 'constant') return regularLr * warmupRatio;
  if (type === 'linear') {
    const k = (1 - curIter / warmupIters) * (1 - warmupRatio);
    return regularLr * (1 - k);
  }
  const k = warmupRatio ** (1 - curIter / warmupIters);
  return regularLr * k;
}

/** A scheduling policy: value at the current progress for one base value. */
export interface Policy {
  /** Called once before the run (Cyclic computes its phases here). */
  prepare?(p: Progress): void;
  value(p: Progress, base: number, byEpoch: boolean): number;
}

function progressOf(p: Progress, byEpoch: boolean): [number, number] {
  return byEpoch ? [p.epoch, p.maxEpochs] : [p.iter, p.maxIters];
}

/** mmcv `StepLrUpdaterHook`: `base * gamma^k`, k = progress // step or the number of milestones passed. */
export class StepPolicy implements Policy {
  constructor(readonly step: number | number[], readonly gamma = 0.1, readonly minLr: number | null = null) {
    const steps = Array.isArray(step) ? step : [step];
    if (steps.length === 0 || steps.some((s) => !Number.isInteger(s) || s <= 0)) {
      throw new RangeError(`Step policy: "step" must be a positive integer or a list of them, got ${JSON.stringify(step)}`);
    }
  }

  value(p: Progress, base: number, byEpoch: boolean): number {
    const [progress] = progressOf(p, byEpoch);
    let exp: number;
    if (!Array.isArray(this.step)) exp = Math.floor(progress / this.step);
    else {
      exp = this.step.length;
      for (let i = 0; i < this.step.length; i++) {
        if (progress < this.step[i]) {
          exp = i;
          break;
        }
      }
    }
    let lr = base * this.gamma ** exp;
    if (this.minLr !== null && this.minLr !== undefined) lr = Math.max(lr, this.minLr);
    return lr;
  }
}

/** mmcv `ExpLrUpdaterHook`: `base * gamma^progress`. */
export class ExpPolicy implements Policy {
  constructor(readonly gamma: number) {}
  value(p: Progress, base: number, byEpoch: boolean): number {
    return base * this.gamma ** progressOf(p, byEpoch)[0];
  }
}

/** mmcv `PolyLrUpdaterHook`: `(base - min) * (1 - progress/max)^power + min`. */
export class PolyPolicy implements Policy {
  constructor(readonly power = 1, readonly minLr = 0) {}
  value(p: Progress, base: number, byEpoch: boolean): number {
    const [progress, max] = progressOf(p, byEpoch);
    const coeff = (1 - progress / max) ** this.power;
    return (base - this.minLr) * coeff + this.minLr;
  }
}

/** mmcv `CosineAnnealingLrUpdaterHook` (exactly one of min_lr / min_lr_ratio). */
export class CosineAnnealingPolicy implements Policy {
  constructor(readonly minLr: number | null, readonly minLrRatio: number | null) {
    if ((minLr === null) === (minLrRatio === null)) {
      throw new RangeError('CosineAnnealing: set exactly one of min_lr and min_lr_ratio');
    }
  }

  protected target(base: number): number {
    return this.minLrRatio !== null ? base * this.minLrRatio : (this.minLr as number);
  }

  value(p: Progress, base: number, byEpoch: boolean): number {
    const [progress, max] = progressOf(p, byEpoch);
    return annealingCos(base, this.target(base), progress / max);
  }
}

/**
 * MMSelfSup `StepFixCosineAnnealingLrUpdaterHook`: cosine annealing that starts after the
 * warm-up (progress and max progress both less the warm-up length).
 */
export class StepFixCosineAnnealingPolicy extends CosineAnnealingPolicy {
  /** Warm-up length in iterations (set by the hook once known), and whether warm-up is on. */
  warmupIters: number | null = null;

  override value(p: Progress, base: number, byEpoch: boolean): number {
    let [progress, max] = progressOf(p, byEpoch);
    if (this.warmupIters !== null) {
      const shift = byEpoch ? Math.floor(this.warmupIters / p.epochLength) : this.warmupIters;
      progress -= shift;
      max -= shift;
    }
    return annealingCos(base, this.target(base), progress / max);
  }
}

/** mmcv `CyclicLrUpdaterHook` (by iteration only). */
export class CyclicPolicy implements Policy {
  readonly targetRatio: [number, number];
  private maxIterPerPhase = 0;
  private phases: [number, number, number, number][] = [];
  private readonly anneal: (s: number, e: number, f: number) => number;

  constructor(
    targetRatio: number | number[] = [10, 1e-4],
    readonly cyclicTimes = 1,
    readonly stepRatioUp = 0.4,
    annealStrategy: 'cos' | 'linear' = 'cos',
    readonly gamma = 1,
  ) {
    if (typeof targetRatio === 'number') this.targetRatio = [targetRatio, targetRatio / 1e5];
    else if (targetRatio.length === 1) this.targetRatio = [targetRatio[0], targetRatio[0] / 1e5];
    else if (targetRatio.length === 2) this.targetRatio = [targetRatio[0], targetRatio[1]];
    else throw new RangeError(`Cyclic: target_ratio must have 1 or 2 elements, got ${targetRatio.length}`);
    if (stepRatioUp < 0 || stepRatioUp >= 1) throw new RangeError('Cyclic: step_ratio_up must be in [0, 1)');
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new RangeError(`Cyclic: anneal_strategy must be "cos" or "linear", got "${String(annealStrategy)}"`);
    }
    this.anneal = annealStrategy === 'cos' ? annealingCos : annealingLinear;
  }

  prepare(p: Progress): void {
    this.maxIterPerPhase = Math.floor(p.maxIters / this.cyclicTimes);
    const up = Math.floor(this.stepRatioUp * this.maxIterPerPhase);
    this.phases = [
      [0, up, 1, this.targetRatio[0]],
      [up, this.maxIterPerPhase, this.targetRatio[0], this.targetRatio[1]],
    ];
  }

  value(p: Progress, base: number): number {
    if (this.phases.length === 0) this.prepare(p);
    const cur = p.iter % this.maxIterPerPhase;
    const cycle = Math.floor(p.iter / this.maxIterPerPhase);
    const scale = this.gamma ** cycle;
    for (const [start, end, startRatio0, endRatio0] of this.phases) {
      if (start <= cur && cur < end) {
        let startRatio = startRatio0;
        let endRatio = endRatio0;
        if (start === 0) endRatio = 1 - scale + endRatio * scale;
        else startRatio = 1 - scale + startRatio * scale;
        return this.anneal(base * startRatio, base * endRatio, (cur - start) / (end - start));
      }
    }
    return base;
  }
}

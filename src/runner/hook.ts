import type { BaseRunner } from './base-runner.js';
import { PRIORITIES } from './priority.js';

/** The stages hooks run at, in mmcv's order (`Hook.stages`). */
export const STAGES = [
  'before_run',
  'before_train_epoch',
  'before_train_iter',
  'after_train_iter',
  'after_train_epoch',
  'before_val_epoch',
  'before_val_iter',
  'after_val_iter',
  'after_val_epoch',
  'after_run',
] as const;
export type Stage = (typeof STAGES)[number];

/** Stage name -> method name on Hook. */
export const STAGE_METHODS: Record<Stage, keyof HookMethods> = {
  before_run: 'beforeRun',
  before_train_epoch: 'beforeTrainEpoch',
  before_train_iter: 'beforeTrainIter',
  after_train_iter: 'afterTrainIter',
  after_train_epoch: 'afterTrainEpoch',
  before_val_epoch: 'beforeValEpoch',
  before_val_iter: 'beforeValIter',
  after_val_iter: 'afterValIter',
  after_val_epoch: 'afterValEpoch',
  after_run: 'afterRun',
};

type HookFn = (runner: BaseRunner) => void | Promise<void>;
export interface HookMethods {
  beforeRun: HookFn;
  beforeTrainEpoch: HookFn;
  beforeTrainIter: HookFn;
  afterTrainIter: HookFn;
  afterTrainEpoch: HookFn;
  beforeValEpoch: HookFn;
  beforeValIter: HookFn;
  afterValIter: HookFn;
  afterValEpoch: HookFn;
  afterRun: HookFn;
}

/**
 * A training hook, as mmcv's `Hook`: override the stage methods you need. `hookType` is the name
 * printed in the hook order and used in configs (`LrUpdaterHook` subclasses print their policy name).
 */
export abstract class Hook implements HookMethods {
  priority: number = PRIORITIES.NORMAL;
  abstract readonly hookType: string;

  beforeRun(_runner: BaseRunner): void | Promise<void> {}
  beforeTrainEpoch(_runner: BaseRunner): void | Promise<void> {}
  beforeTrainIter(_runner: BaseRunner): void | Promise<void> {}
  afterTrainIter(_runner: BaseRunner): void | Promise<void> {}
  afterTrainEpoch(_runner: BaseRunner): void | Promise<void> {}
  beforeValEpoch(_runner: BaseRunner): void | Promise<void> {}
  beforeValIter(_runner: BaseRunner): void | Promise<void> {}
  afterValIter(_runner: BaseRunner): void | Promise<void> {}
  afterValEpoch(_runner: BaseRunner): void | Promise<void> {}
  afterRun(_runner: BaseRunner): void | Promise<void> {}

  /** The stages this hook overrides (mmcv `get_triggered_stages`). */
  triggeredStages(): Stage[] {
    return STAGES.filter((s) => {
      const m = STAGE_METHODS[s];
      return (this as unknown as HookMethods)[m] !== (Hook.prototype as unknown as HookMethods)[m];
    });
  }

  everyNEpochs(runner: BaseRunner, n: number): boolean {
    return n > 0 ? (runner.epoch + 1) % n === 0 : false;
  }

  everyNInnerIters(runner: BaseRunner, n: number): boolean {
    return n > 0 ? (runner.innerIter + 1) % n === 0 : false;
  }

  everyNIters(runner: BaseRunner, n: number): boolean {
    return n > 0 ? (runner.iter + 1) % n === 0 : false;
  }

  endOfEpoch(runner: BaseRunner): boolean {
    return runner.innerIter + 1 === runner.epochLength;
  }

  isLastEpoch(runner: BaseRunner): boolean {
    return runner.epoch + 1 === runner.maxEpochs;
  }

  isLastIter(runner: BaseRunner): boolean {
    return runner.iter + 1 === runner.maxIters;
  }
}

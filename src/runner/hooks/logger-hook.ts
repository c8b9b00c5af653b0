import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import { PRIORITIES } from '../priority.js';

export interface LoggerHookArgs {
  interval?: number;
  ignore_last?: boolean;
  reset_flag?: boolean;
  by_epoch?: boolean;
}

/** mmcv `LoggerHook`: averages the log buffer every `interval` iterations and calls `log`. */
export abstract class LoggerHook extends Hook {
  override priority: number = PRIORITIES.VERY_LOW;
  interval: number;
  ignoreLast: boolean;
  resetFlag: boolean;
  byEpoch: boolean;

  constructor(args: LoggerHookArgs = {}) {
    super();
    this.interval = args.interval ?? 10;
    this.ignoreLast = args.ignore_last ?? true;
    this.resetFlag = args.reset_flag ?? false;
    this.byEpoch = args.by_epoch ?? true;
  }

  protected abstract log(runner: BaseRunner): void | Promise<void>;

  override beforeRun(runner: BaseRunner): void | Promise<void> {
    // the last logger hook clears the buffer's output after logging
    for (let i = runner.hooks.length - 1; i >= 0; i--) {
      if (runner.hooks[i] instanceof LoggerHook) {
        (runner.hooks[i] as LoggerHook).resetFlag = true;
        break;
      }
    }
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    runner.logBuffer.clear();
  }

  override async afterTrainIter(runner: BaseRunner): Promise<void> {
    await this.logTrainIter(runner);
  }

  /** The interval logging of `afterTrainIter` alone (EvalHook writes the training log out before it evaluates). */
  async logTrainIter(runner: BaseRunner): Promise<void> {
    const due =
      (this.byEpoch && this.everyNInnerIters(runner, this.interval)) ||
      (!this.byEpoch && this.everyNIters(runner, this.interval)) ||
      (this.endOfEpoch(runner) && !this.ignoreLast);
    if (due) {
      // every rank runs its loggers at the same iterations, so this collective is called by all
      await runner.flushLog();
      runner.logBuffer.average(this.interval);
    }
    // empty: an evaluation just cleared the buffer and this rank has no metrics of its own (rank 0 evaluates)
    if (runner.logBuffer.ready && Object.keys(runner.logBuffer.output).length > 0) await this.log(runner);
    if (runner.logBuffer.ready && this.resetFlag) runner.logBuffer.clearOutput();
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    if (runner.logBuffer.ready) {
      await this.log(runner);
      if (this.resetFlag) runner.logBuffer.clearOutput();
    }
  }

  override beforeValEpoch(runner: BaseRunner): void {
    runner.logBuffer.clear();
  }

  /** A val workflow epoch: the mean of its batches, logged once (mmcv `after_val_epoch`). */
  override async afterValEpoch(runner: BaseRunner): Promise<void> {
    runner.logBuffer.average();
    await this.log(runner);
    if (this.resetFlag) runner.logBuffer.clearOutput();
  }

  /** 1-based iteration for display: inner (per epoch) when by epoch. */
  getIter(runner: BaseRunner, inner = false): number {
    return this.byEpoch && inner ? runner.innerIter + 1 : runner.iter + 1;
  }

  getEpoch(runner: BaseRunner): number {
    return runner.mode === 'train' ? runner.epoch + 1 : runner.epoch;
  }
}

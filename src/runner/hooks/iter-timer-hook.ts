import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import { PRIORITIES } from '../priority.js';

/** mmcv `IterTimerHook`: logs `data_time` (waiting for the batch) and `time` (whole iteration). */
export class IterTimerHook extends Hook {
  readonly hookType = 'IterTimerHook';
  override priority: number = PRIORITIES.LOW;
  private t = 0;

  override beforeTrainEpoch(): void {
    this.t = performance.now();
  }

  override beforeTrainIter(runner: BaseRunner): void {
    runner.logBuffer.update({ data_time: (performance.now() - this.t) / 1000 });
  }

  override afterTrainIter(runner: BaseRunner): void {
    runner.logBuffer.update({ time: (performance.now() - this.t) / 1000 });
    this.t = performance.now();
  }
}

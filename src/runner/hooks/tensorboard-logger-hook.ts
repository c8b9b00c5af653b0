import { join } from 'node:path';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { EventFileWriter } from '../logging/tfevents.js';
import type { LoggerHookArgs } from './logger-hook.js';
import { LoggerHook } from './logger-hook.js';

/**
 * mmcv `TensorboardLoggerHook`: scalars `train/<key>` (all log-buffer outputs but time/data_time; `val/<key>` for an evaluation's),
 * `learning_rate`, `momentum`, at step `iter + 1`, into `<log_dir | work_dir/tf_logs>` (rank 0).
 */
export class TensorboardLoggerHook extends LoggerHook {
  readonly hookType = 'TensorboardLoggerHook';
  readonly logDir: string | undefined;
  private writer: EventFileWriter | undefined;

  constructor(args: LoggerHookArgs & { log_dir?: string } = {}) {
    checkArgs('TensorboardLoggerHook', args as Record<string, unknown>, ['interval', 'ignore_last', 'reset_flag', 'by_epoch', 'log_dir']);
    super(args);
    this.logDir = args.log_dir;
  }

  override beforeRun(runner: BaseRunner): void {
    super.beforeRun(runner);
    if (runner.rank !== 0) return;
    this.writer = new EventFileWriter(this.logDir ?? join(runner.workDir, 'tf_logs'));
  }

  protected log(runner: BaseRunner): void {
    if (!this.writer) return;
    const step = this.getIter(runner);
    const { output } = runner.logBuffer;
    // mmcv get_mode: an output without `time` during training is an evaluation's (EvalHook): tags val/<metric>
    const mode = runner.mode === 'train' && !('time' in output) && 'eval_iter_num' in output ? 'val' : runner.mode;
    for (const [k, v] of Object.entries(output)) {
      if (k === 'time' || k === 'data_time' || k === 'eval_iter_num') continue;
      this.writer.addScalar(`${mode}/${k}`, v, step);
    }
    const lrs = runner.currentLr();
    this.writer.addScalar('learning_rate', lrs[0], step);
    this.writer.addScalar('momentum', runner.currentMomentum()[0], step);
    this.writer.flush();
  }

  override afterRun(): void {
    this.writer?.close();
  }
}

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { pyExp, pyTimedelta, round5 } from '../logging/format.js';
import type { LoggerHookArgs } from './logger-hook.js';
import { LoggerHook } from './logger-hook.js';

const SKIP = new Set(['mode', 'Epoch', 'iter', 'lr', 'time', 'data_time', 'memory', 'epoch']);

/**
 * mmcv `TextLoggerHook`: `Epoch [1][50/1251]\tlr: 3.000e-01, eta: 1:02:03, time: 0.512, data_time: 0.010, loss: 5.4100`
 * lines, and one JSON object per log into `<work_dir>/<timestamp>.log.json` (rank 0; the first line is the run meta).
 */
export class TextLoggerHook extends LoggerHook {
  readonly hookType = 'TextLoggerHook';
  readonly intervalExpName: number;
  private startIter = 0;
  private timeSecTot = 0;
  private epochLossSum = 0;
  private epochIters = 0;
  jsonLogPath = '';

  constructor(args: LoggerHookArgs & Record<string, unknown> = {}) {
    checkArgs('TextLoggerHook', args, ['interval', 'ignore_last', 'reset_flag', 'by_epoch', 'interval_exp_name', 'out_dir', 'out_suffix', 'keep_local', 'file_client_args']);
    super(args);
    this.intervalExpName = (args.interval_exp_name as number) ?? 1000;
  }

  override beforeRun(runner: BaseRunner): void {
    super.beforeRun(runner);
    this.startIter = runner.iter;
    this.jsonLogPath = join(runner.workDir, `${runner.timestamp}.log.json`);
    this.dump(runner, runner.meta);
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    super.beforeTrainEpoch(runner);
    this.epochLossSum = 0;
    this.epochIters = 0;
  }

  override async afterTrainIter(runner: BaseRunner): Promise<void> {
    if (runner.outputs) {
      this.epochLossSum += runner.outputs.loss;
      this.epochIters++;
    }
    await super.afterTrainIter(runner);
  }

  /** Also logs the epoch's mean loss over all its iterations (an ssl addition: interval logs drop the tail). */
  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    await super.afterTrainEpoch(runner);
    if (this.byEpoch && this.epochIters > 0) {
      const mean = this.epochLossSum / this.epochIters;
      runner.logger.info(`Epoch [${runner.epoch + 1}] mean loss: ${mean.toFixed(4)} over ${this.epochIters} iterations`);
      this.dump(runner, { mode: 'train_epoch', epoch: runner.epoch + 1, iters: this.epochIters, loss_mean: mean });
    }
  }

  protected log(runner: BaseRunner): void {
    const lr = runner.currentLr()[0];
    // mmcv: an output without `time` during training is an evaluation's (EvalHook), logged as mode val at its batch count
    const { eval_iter_num: evalIters, ...output } = runner.logBuffer.output;
    const mode = runner.mode === 'train' && !('time' in output) && evalIters !== undefined ? 'val' : runner.mode;
    const logDict: Record<string, unknown> = {
      mode,
      epoch: this.getEpoch(runner),
      iter: evalIters ?? this.getIter(runner, true),
      lr,
      ...output,
    };
    this.logInfo(runner, logDict);
    this.dump(runner, logDict);
  }

  private logInfo(runner: BaseRunner, d: Record<string, unknown>): void {
    if (runner.meta.exp_name && (this.everyNIters(runner, this.intervalExpName) || (this.byEpoch && this.endOfEpoch(runner)))) {
      runner.logger.info(`Exp name: ${String(runner.meta.exp_name)}`);
    }
    let s: string;
    if (d.mode === 'train') {
      s = this.byEpoch ? `Epoch [${d.epoch}][${d.iter}/${runner.epochLength}]\t` : `Iter [${d.iter}/${runner.maxIters}]\t`;
      s += `lr: ${pyExp(d.lr as number)}, `;
      if (typeof d.time === 'number') {
        this.timeSecTot += d.time * this.interval;
        const avg = this.timeSecTot / (runner.iter - this.startIter + 1);
        const eta = avg * (runner.maxIters - runner.iter - 1);
        s += `eta: ${pyTimedelta(eta)}, time: ${d.time.toFixed(3)}, data_time: ${(d.data_time as number).toFixed(3)}, `;
      }
    } else {
      s = this.byEpoch ? `Epoch(${d.mode}) [${d.epoch}][${d.iter}]\t` : `Iter(${d.mode}) [${d.iter}]\t`;
    }
    const items: string[] = [];
    for (const [k, v] of Object.entries(d)) {
      if (SKIP.has(k)) continue;
      items.push(`${k}: ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v)}`);
    }
    runner.logger.info(s + items.join(', '));
  }

  private dump(runner: BaseRunner, d: Record<string, unknown>): void {
    if (runner.rank !== 0) return;
    const rounded = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'number' ? round5(v) : v]));
    appendFileSync(this.jsonLogPath, `${JSON.stringify(rounded)}\n`);
  }
}

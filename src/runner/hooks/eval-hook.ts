import { existsSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import type { Evaluator } from '../evaluation.js';
import { Hook } from '../hook.js';
import { LoggerHook } from './logger-hook.js';
import { PRIORITIES } from '../priority.js';

/** mmcv's rule inference: keys naming these are better when greater, `loss` ones when less. */
const GREATER_KEYS = ['acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc'];
const LESS_KEYS = ['loss'];

export interface EvalHookArgs {
  interval?: number;
  start?: number | null;
  by_epoch?: boolean;
  save_best?: string | null;
  rule?: 'greater' | 'less' | null;
  topk?: number[];
  gpu_collect?: boolean;
  tmpdir?: string | null;
}

export const EVAL_HOOK_ARGS = ['interval', 'start', 'by_epoch', 'save_best', 'rule', 'topk', 'gpu_collect', 'tmpdir'] as const;

/**
 * mmcv `EvalHook` as MMSelfSup registers it for `evaluation = dict(...)` (priority LOW): every
 * `interval` epochs (iterations with `by_epoch: false`), from `start`, runs the evaluation on rank 0,
 * logs its metrics (`Epoch(val) [e][n]  head4_top1: ..., head4_top5: ...` through the logger hooks),
 * and with `save_best` keeps `best_<metric>_epoch_<e>.ckpt` of the best score so far.
 */
export class EvalHook extends Hook {
  readonly hookType = 'EvalHook';
  override priority: number = PRIORITIES.LOW;
  readonly interval: number;
  readonly start: number | undefined;
  readonly byEpoch: boolean;
  saveBest: string | undefined;
  rule: 'greater' | 'less' | undefined;
  bestScore: number | undefined;
  bestCkpt: string | undefined;
  /** The latest evaluation's metrics and the epoch (or iteration) count it ran after. */
  last: { results: Record<string, number>; progress: number } | undefined;

  constructor(
    args: EvalHookArgs,
    private readonly evaluator: Evaluator,
  ) {
    super();
    checkArgs('EvalHook', args as Record<string, unknown>, EVAL_HOOK_ARGS);
    this.interval = args.interval ?? 1;
    if (!Number.isInteger(this.interval) || this.interval < 1) throw new ConfigError(`evaluation.interval must be a positive integer, got ${String(args.interval)}`);
    this.start = args.start ?? undefined;
    if (this.start !== undefined && (!Number.isInteger(this.start) || this.start < 0)) throw new ConfigError(`evaluation.start must be a non-negative integer, got ${String(args.start)}`);
    this.byEpoch = args.by_epoch ?? true;
    this.saveBest = args.save_best ?? undefined;
    if (args.rule != null && args.rule !== 'greater' && args.rule !== 'less') throw new ConfigError(`evaluation.rule must be greater or less, got ${String(args.rule)}`);
    this.rule = args.rule ?? undefined;
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    if (this.byEpoch && this.shouldEvaluate(runner.epoch + 1)) await this.evaluate(runner);
  }

  override async afterTrainIter(runner: BaseRunner): Promise<void> {
    if (this.byEpoch || !this.shouldEvaluate(runner.iter + 1)) return;
    // mmcv: this hook runs before the loggers, so the iteration's training log is written (and the buffer
    // cleared) first; otherwise the evaluation's metrics and the training losses land in one log line
    for (const h of runner.hooks) if (h instanceof LoggerHook) await h.logTrainIter(runner);
    runner.logBuffer.clear();
    await this.evaluate(runner);
  }

  /** mmcv `_should_evaluate` (`progress` = epochs or iterations done): before `start` never; from it every `interval`. */
  shouldEvaluate(progress: number): boolean {
    if (this.start === undefined) return progress % this.interval === 0;
    if (progress < this.start) return false;
    return (progress - this.start) % this.interval === 0;
  }

  private async evaluate(runner: BaseRunner): Promise<void> {
    if (runner.rank !== 0) {
      // the other ranks wait here for rank 0's evaluation (and its save_best checkpoint)
      await runner.dist.barrier();
      return;
    }
    try {
      await this.evaluateOnRank0(runner);
    } finally {
      if (runner.worldSize > 1) await runner.dist.barrier();
    }
  }

  private async evaluateOnRank0(runner: BaseRunner): Promise<void> {
    const { results, batches } = await this.evaluator();
    this.last = { results, progress: this.byEpoch ? runner.epoch + 1 : runner.iter + 1 };
    for (const [k, v] of Object.entries(results)) runner.logger.info(`${k}: ${v.toFixed(3)}`);
    for (const [k, v] of Object.entries(results)) runner.logBuffer.output[k] = v;
    runner.logBuffer.output.eval_iter_num = batches;
    runner.logBuffer.ready = true;
    if (this.saveBest) await this.saveBestCheckpoint(runner, results);
  }

  private async saveBestCheckpoint(runner: BaseRunner, results: Record<string, number>): Promise<void> {
    const key = this.saveBest === 'auto' ? Object.keys(results)[0] : this.saveBest!;
    if (!(key in results)) throw new ConfigError(`evaluation.save_best "${key}" is not a metric of this evaluation (${Object.keys(results).join(', ')})`);
    if (!this.rule) {
      if (GREATER_KEYS.some((g) => key.includes(g))) this.rule = 'greater';
      else if (LESS_KEYS.some((l) => key.includes(l))) this.rule = 'less';
      else throw new ConfigError(`evaluation: cannot tell whether a greater or smaller ${key} is better; set rule: greater or rule: less`);
    }
    const score = results[key];
    const better = this.bestScore === undefined || (this.rule === 'greater' ? score > this.bestScore : score < this.bestScore);
    const unit = this.byEpoch ? 'epoch' : 'iter';
    const at = this.byEpoch ? runner.epoch + 1 : runner.iter + 1;
    if (better) {
      this.bestScore = score;
      if (this.bestCkpt && existsSync(this.bestCkpt)) {
        rmSync(this.bestCkpt, { force: true });
        runner.logger.info(`The previous best checkpoint ${this.bestCkpt} was removed`);
      }
      this.bestCkpt = await runner.saveCheckpoint(runner.workDir, { name: `best_${key}_${unit}_${at}.ckpt`, createSymlink: false });
      const msgs = ((runner.meta.hook_msgs as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
      runner.meta.hook_msgs = { ...msgs, best_score: score, best_ckpt: this.bestCkpt };
      runner.logger.info(`Now best checkpoint is saved as ${basename(this.bestCkpt)}.`);
    }
    runner.logger.info(`Best ${key} is ${this.bestScore!.toFixed(4)} at ${at} ${unit}.`);
  }
}

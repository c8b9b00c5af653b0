import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import { PRIORITIES } from '../priority.js';

export interface CheckpointHookArgs {
  interval?: number;
  by_epoch?: boolean;
  save_optimizer?: boolean;
  out_dir?: string | null;
  max_keep_ckpts?: number;
  save_last?: boolean;
  sync_buffer?: boolean;
  filename_tmpl?: string;
  create_symlink?: boolean;
}

/**
 * mmcv `CheckpointHook` (from `checkpoint_config`): saves `epoch_N.ckpt` every `interval` epochs
 * (or `iter_N.ckpt` every `interval` iterations when `by_epoch` is false) and at the end, on rank 0;
 * keeps the newest `max_keep_ckpts`. `out_dir` gets the work dir's base name appended, as mmcv.
 */
export class CheckpointHook extends Hook {
  readonly hookType = 'CheckpointHook';
  override priority: number = PRIORITIES.NORMAL;
  readonly interval: number;
  readonly byEpoch: boolean;
  readonly saveOptimizer: boolean;
  readonly maxKeepCkpts: number;
  readonly saveLast: boolean;
  readonly filenameTmpl: string | undefined;
  readonly createSymlink: boolean;
  outDir: string | undefined;
  /** Called after each save with the file's path (e.g. to upload it to S3). */
  onSaved: ((path: string, runner: BaseRunner) => Promise<void> | void) | undefined;
  /** Whether an old checkpoint may be deleted locally (`max_keep_ckpts`; S3: once its upload is verified). */
  mayDelete: ((path: string) => boolean) | undefined;

  constructor(args: CheckpointHookArgs = {}) {
    super();
    checkArgs('CheckpointHook', args as Record<string, unknown>, [
      'interval', 'by_epoch', 'save_optimizer', 'out_dir', 'max_keep_ckpts', 'save_last', 'sync_buffer', 'filename_tmpl', 'create_symlink', 'file_client_args',
    ]);
    this.interval = args.interval ?? -1;
    this.byEpoch = args.by_epoch ?? true;
    this.saveOptimizer = args.save_optimizer ?? true;
    this.maxKeepCkpts = args.max_keep_ckpts ?? -1;
    this.saveLast = args.save_last ?? true;
    this.filenameTmpl = args.filename_tmpl?.replace(/\.pth$/, '.ckpt');
    this.createSymlink = args.create_symlink ?? true;
    // an s3:// out_dir is the upload prefix (src/storage); files are written to the work dir first
    this.outDir = args.out_dir && !args.out_dir.startsWith('s3://') ? args.out_dir : undefined;
  }

  override beforeRun(runner: BaseRunner): void {
    this.outDir = this.outDir ? join(this.outDir, basename(runner.workDir)) : runner.workDir;
    runner.logger.info(`Checkpoints will be saved to ${this.outDir} by local backend.`);
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    if (!this.byEpoch) return;
    if (this.everyNEpochs(runner, this.interval) || (this.saveLast && this.isLastEpoch(runner))) {
      runner.logger.info(`Saving checkpoint at ${runner.epoch + 1} epochs`);
      await this.save(runner);
    }
  }

  override async afterTrainIter(runner: BaseRunner): Promise<void> {
    if (this.byEpoch) return;
    if (this.everyNIters(runner, this.interval) || (this.saveLast && this.isLastIter(runner))) {
      runner.logger.info(`Saving checkpoint at ${runner.iter + 1} iterations`);
      await this.save(runner);
    }
  }

  private async save(runner: BaseRunner): Promise<void> {
    if (runner.rank !== 0) return;
    const outDir = this.outDir as string;
    const tmpl = this.filenameTmpl ?? (this.byEpoch ? 'epoch_{}.ckpt' : 'iter_{}.ckpt');
    const n = this.byEpoch ? runner.epoch + 1 : runner.iter + 1;
    const path = await runner.saveCheckpoint(outDir, { name: tmpl.replace('{}', String(n)), saveOptimizer: this.saveOptimizer, createSymlink: this.createSymlink });
    const hookMsgs = (runner.meta.hook_msgs ??= {}) as Record<string, unknown>;
    hookMsgs.last_ckpt = path;
    if (this.maxKeepCkpts > 0) {
      const current = this.byEpoch ? runner.epoch + 1 : runner.iter + 1;
      for (let step = current - this.maxKeepCkpts * this.interval; step > 0; step -= this.interval) {
        const p = join(outDir, tmpl.replace('{}', String(step)));
        if (!existsSync(p)) break;
        if (!this.mayDelete || this.mayDelete(p)) rmSync(p);
      }
    }
    await this.onSaved?.(path, runner);
  }
}

import { hostname, userInfo } from 'node:os';
import { SslError } from '../errors.js';
import { tf } from '../engine/tf.js';
import type { CheckpointMeta } from './checkpoint.js';
import { layoutsOf, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { DistContext } from './dist-context.js';
import type { Hook, Stage } from './hook.js';
import { STAGE_METHODS, STAGES } from './hook.js';
import { LogBuffer } from './log-buffer.js';
import type { Logger } from './logging/logger.js';
import type { Optimizer } from './optim/optimizer.js';
import { getPriority, priorityName } from './priority.js';
import type { Batch, StepOutputs, TrainableModel, TrainLoader } from './types.js';

/** `workflow` entry: `['train', 1]`. */
export type WorkflowEntry = [string, number];

/** Why the run stopped early. */
export type StopRequest = { kind: 'checkpoint'; signal: string } | { kind: 'abort'; signal: string };

export interface RunnerOptions {
  model: TrainableModel;
  optimizer: Optimizer;
  workDir: string;
  logger: Logger;
  dist: DistContext;
  /** Run meta (exp_name, seed, config, env info) saved into the JSON log and checkpoints. */
  meta: Record<string, unknown>;
  timestamp: string;
  maxEpochs?: number;
  maxIters?: number;
}

/** Training diverged: the message names the iteration. */
export class NanLossError extends SslError {
  constructor(message: string) {
    super(message, { code: 'NAN_LOSS', exitCode: 3 });
  }
}

/** The run was stopped by a signal at an iteration boundary. */
export class StoppedError extends Error {
  constructor(readonly request: StopRequest) {
    super(`stopped by ${request.signal}`);
  }
}

/**
 * mmcv's `BaseRunner`: counters, hooks (sorted by priority, stable), log buffer, checkpoints.
 * Subclasses (`EpochBasedRunner`, `IterBasedRunner`) implement `run`.
 */
export abstract class BaseRunner {
  abstract readonly runnerType: string;
  abstract readonly byEpoch: boolean;
  readonly model: TrainableModel;
  readonly optimizer: Optimizer;
  readonly workDir: string;
  readonly logger: Logger;
  readonly dist: DistContext;
  readonly meta: Record<string, unknown>;
  readonly timestamp: string;
  readonly hooks: Hook[] = [];
  readonly logBuffer = new LogBuffer();
  mode: 'train' | 'val' = 'train';
  epoch = 0;
  iter = 0;
  innerIter = 0;
  maxEpochs: number;
  maxIters: number;
  epochLength = 0;
  outputs: StepOutputs | undefined;
  /** Images in the current batch (for throughput). */
  batchSize = 0;
  /** Set by signal handlers; checked at iteration boundaries. */
  stopRequest: StopRequest | null = null;
  /** Called with the path of a checkpoint written on a signal (S3 upload before exiting). */
  readonly signalCheckpointListeners: ((path: string) => Promise<void>)[] = [];
  /** Called after every training iteration (the live progress line). */
  readonly iterListeners: ((runner: BaseRunner) => void)[] = [];
  /** Inner iterations to skip on the first epoch after resuming from a mid-epoch checkpoint. */
  protected resumeInnerIter = 0;

  constructor(opts: RunnerOptions) {
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.workDir = opts.workDir;
    this.logger = opts.logger;
    this.dist = opts.dist;
    this.meta = opts.meta;
    this.timestamp = opts.timestamp;
    this.maxEpochs = opts.maxEpochs ?? 0;
    this.maxIters = opts.maxIters ?? 0;
  }

  get rank(): number {
    return this.dist.rank;
  }

  get worldSize(): number {
    return this.dist.worldSize;
  }

  /** Inserts a hook after every hook of higher or equal priority (mmcv `register_hook`). */
  registerHook(hook: Hook, priority?: number | string): void {
    if (priority !== undefined) hook.priority = getPriority(priority);
    let i = this.hooks.length - 1;
    while (i >= 0 && hook.priority < this.hooks[i].priority) i--;
    this.hooks.splice(i + 1, 0, hook);
  }

  async callHook(stage: Stage): Promise<void> {
    const method = STAGE_METHODS[stage];
    for (const hook of this.hooks) await hook[method](this);
  }

  /** The hook order per stage, formatted as mmcv's `get_hook_info`. */
  hookInfo(): string {
    const byStage = new Map<Stage, string[]>(STAGES.map((s) => [s, []]));
    for (const hook of this.hooks) {
      const info = `(${priorityName(hook.priority).padEnd(12)}) ${hook.hookType.padEnd(35)}`;
      for (const s of hook.triggeredStages()) byStage.get(s)!.push(info);
    }
    const parts: string[] = [];
    for (const s of STAGES) {
      const infos = byStage.get(s)!;
      if (infos.length > 0) parts.push(`${s}:\n${infos.join('\n')}\n -------------------- `);
    }
    return parts.join('\n');
  }

  /** Learning rate of every param group. */
  currentLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Momentum (or Adam's beta1) of every param group. */
  currentMomentum(): number[] {
    return this.optimizer.paramGroups.map((g) => g.momentum ?? g.betas?.[0] ?? 0);
  }

  /** One training iteration: the model's step (forward + gradients), outputs to the log buffer. */
  protected async runTrainIter(batch: Batch): Promise<void> {
    const outputs = await this.model.trainStep(batch, { dist: this.dist });
    if (!Number.isFinite(outputs.loss)) {
      for (const g of outputs.grads.values()) g.dispose();
      const last = (this.meta.hook_msgs as { last_ckpt?: string } | undefined)?.last_ckpt;
      throw new NanLossError(
        `loss is ${outputs.loss} at iteration ${this.iter + 1} (epoch ${this.epoch + 1}, iter ${this.innerIter + 1}/${this.epochLength}); ` +
          `training stopped, weights of this step were not applied; ${last ? `the last good checkpoint is ${last}` : 'no checkpoint was written yet'}. ` +
          'Lower the learning rate or add optimizer_config.grad_clip',
      );
    }
    this.logBuffer.update(outputs.logVars, outputs.numSamples);
    this.outputs = outputs;
  }

  /** After each iteration: progress listeners, then one turn of the event loop so signal handlers can run. */
  protected async endIter(): Promise<void> {
    for (const l of this.iterListeners) l(this);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Disposes what the optimizer hook left of the step's gradients. */
  protected releaseOutputs(): void {
    if (this.outputs) for (const g of this.outputs.grads.values()) if (!g.isDisposed) g.dispose();
    this.outputs = undefined;
  }

  /**
   * Saves a checkpoint atomically as `<outDir>/<name>` (mmcv `save_checkpoint`; `latest.ckpt` points at it).
   * meta: epoch = epochs started (+1 after an epoch ends), iter = iterations done; `innerIter` marks a
   * mid-epoch (signal) checkpoint with that many batches of the current epoch done.
   */
  async saveCheckpoint(
    outDir: string,
    opts: { name: string; saveOptimizer?: boolean; createSymlink?: boolean; innerIter?: number },
  ): Promise<string> {
    const meta = { ...this.meta } as CheckpointMeta;
    if (opts.innerIter !== undefined) {
      meta.epoch = this.epoch;
      meta.iter = this.iter;
      meta.inner_iter = opts.innerIter;
    } else {
      meta.epoch = this.epoch + 1;
      meta.iter = this.byEpoch ? this.iter : this.iter + 1;
    }
    return writeCheckpoint(outDir, opts.name, {
      model: this.model,
      optimizer: opts.saveOptimizer === false ? undefined : this.optimizer,
      meta,
      latest: opts.createSymlink !== false,
    });
  }

  /** Loads weights (and optionally optimizer state and counters) from a checkpoint file. */
  async loadCheckpoint(path: string, opts: { resume: boolean; strict?: boolean }): Promise<CheckpointMeta> {
    const ckpt = await readCheckpoint(path, layoutsOf(this.model));
    try {
      this.model.loadStateDict(ckpt.stateDict, { strict: opts.strict ?? true });
      if (opts.resume) {
        if (ckpt.optimizer) this.optimizer.loadStateDict(ckpt.optimizer);
        else this.logger.warning(`${path} has no optimizer state (save_optimizer was false); the optimizer starts fresh`);
        this.epoch = ckpt.meta.epoch ?? 0;
        this.iter = ckpt.meta.iter ?? 0;
        this.resumeInnerIter = ckpt.meta.inner_iter ?? 0;
        if (!this.byEpoch) this.innerIter = this.iter;
        this.logger.info(`resumed epoch ${this.epoch}, iter ${this.iter}`);
      } else {
        this.logger.info(`load checkpoint from local path: ${path}`);
      }
    } finally {
      ckpt.dispose();
    }
    return ckpt.meta;
  }

  /** Runs `workflow` until max epochs/iters; resolves when done. */
  abstract run(loaders: TrainLoader[], workflow: WorkflowEntry[]): Promise<void>;

  protected async startInfo(workflow: WorkflowEntry[], maxLabel: string): Promise<void> {
    this.logger.info(`Start running, host: ${safeUser()}@${hostname()}, work_dir: ${this.workDir}`);
    this.logger.info(`Hooks will be executed in the following order:\n${this.hookInfo()}`);
    this.logger.info(`workflow: [${workflow.map(([m, n]) => `('${m}', ${n})`).join(', ')}], max: ${maxLabel}`);
  }

  /** Throws StoppedError if a signal asked to stop (at an iteration boundary). */
  protected checkStop(): void {
    if (this.stopRequest) throw new StoppedError(this.stopRequest);
  }

  /** Tensor count (memory hygiene checks). */
  numTensors(): number {
    return tf.memory().numTensors;
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'user';
  }
}

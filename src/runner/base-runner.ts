import { hostname, userInfo } from 'node:os';
import { SslError } from '../errors.js';
import { tf } from '../engine/tf.js';
import type { CheckpointMeta } from './checkpoint.js';
import { layoutsOf, readAnyCheckpointMeta, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { loadWeights } from './load-weights.js';
import type { DistContext } from '../dist/trainer-context.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';
import { readTorchResume } from './torch-resume.js';
import type { Hook, Stage } from './hook.js';
import { STAGE_METHODS, STAGES } from './hook.js';
import { LogBuffer } from './log-buffer.js';
import type { Logger } from './logging/logger.js';
import type { Optimizer } from './optim/optimizer.js';
import { getPriority, priorityName } from './priority.js';
import type { Batch, StepOutputs, TrainableModel } from '../models/contracts.js';
import type { TrainLoader } from './types.js';

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
  /** The workflow's loaders while `run` runs (MMSelfSup hands DeepClusterHook `data_loaders`; [0] trains). */
  dataLoaders: TrainLoader[] = [];
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
  /** This iteration's stop vote, once exchanged with the gradients: [what this rank voted, what all agreed]. */
  private votedStop: [number, number] | undefined;
  /**
   * Distributed runs: this iteration's log values (mmcv averages them over ranks every iteration),
   * waiting for the next all-reduce that can carry them: the gradients', a logger's, or the stop vote's.
   */
  private pendingLog: { keys: string[]; values: Float32Array; numSamples: number } | undefined;
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

  /** One training iteration: hooks around the model's step (forward + gradients), outputs to the log buffer. */
  protected async runTrainIter(batch: Batch): Promise<void> {
    this.batchSize = batch.views[0]?.shape[0] ?? 0;
    await this.callHook('before_train_iter');
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
    if (this.worldSize > 1) {
      const keys = Object.keys(outputs.logVars).sort();
      this.pendingLog = { keys, values: Float32Array.from(keys, (k) => outputs.logVars[k]), numSamples: outputs.numSamples };
    } else {
      this.logBuffer.update(outputs.logVars, outputs.numSamples);
    }
    this.outputs = outputs;
    try {
      await this.callHook('after_train_iter');
    } finally {
      this.releaseOutputs();
    }
  }

  /**
   * After each iteration (counters already advanced): progress listeners, one turn of the event loop
   * so signal handlers can run, then the ranks agree on stopping; on a stop, rank 0 saves a
   * checkpoint (if asked; `innerIter` batches of the epoch done) and every rank waits for it before
   * throwing `StoppedError` at the same iteration.
   */
  protected async endIter(innerIter: number): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stop = await this.agreeOnStop();
    for (const l of this.iterListeners) l(this);
    if (!stop) return;
    if (stop.kind === 'checkpoint') {
      if (this.rank === 0) {
        const path = await this.saveCheckpoint(this.workDir, { name: `iter_${this.iter}.ckpt`, innerIter });
        const where = this.byEpoch ? ` (epoch ${this.epoch + 1}, ${innerIter}/${this.epochLength})` : '';
        this.logger.info(`${stop.signal}: saved ${path} at iteration ${this.iter}${where}`);
        for (const l of this.signalCheckpointListeners) await l(path);
      }
      // no rank exits (and closes the job) before rank 0's checkpoint is complete
      if (this.worldSize > 1) await this.dist.barrier();
    }
    throw new StoppedError(stop);
  }

  /** Mean over ranks, in place (float32 collectives when there, so no tensor round trip). */
  private async allReduceMean(values: Float32Array): Promise<void> {
    if (this.dist.collectives) {
      this.dist.collectives.allReduce(values, 'mean');
      return;
    }
    const t = tf.tensor1d(values);
    const all = await this.dist.allReduce(t, 'mean');
    values.set(all.dataSync() as Float32Array);
    t.dispose();
    all.dispose();
  }

  /**
   * This rank's stop request, or another rank's: the ranks exchange their requests once per
   * iteration (inside the gradient all-reduce when there is one, else in an all-reduce of their own),
   * so all stop at the same iteration; a checkpoint request wins over an abort. Sets `stopRequest`.
   * A request that arrives after this iteration's exchange is exchanged in the next one.
   */
  protected async agreeOnStop(): Promise<StopRequest | null> {
    if (this.worldSize === 1) return this.stopRequest;
    let mine: number;
    let agreed: number;
    if (this.votedStop) {
      [mine, agreed] = this.votedStop;
      this.votedStop = undefined;
    } else {
      const riders = this.gradientRiders();
      await this.allReduceMean(riders);
      this.acceptGradientRiders(riders);
      [mine, agreed] = this.votedStop!;
      this.votedStop = undefined;
    }
    if (agreed === 0) return null;
    if (agreed === mine) return this.stopRequest;
    this.stopRequest = decodeStop(agreed);
    this.logger.warning(`another rank received ${this.stopRequest.signal}: stopping at the end of iteration ${this.iter}`);
    return this.stopRequest;
  }

  /**
   * What rides along in this iteration's gradient all-reduce (a mean), so that it costs no round
   * trip of its own: this rank's stop vote (one slot per stop code, 1 in its own) and the log values
   * not yet averaged over ranks.
   */
  gradientRiders(): Float32Array {
    const log = this.pendingLog?.values ?? new Float32Array(0);
    const riders = new Float32Array(STOP_CODES + log.length);
    if (this.stopRequest) riders[encodeStop(this.stopRequest)] = 1;
    riders.set(log, STOP_CODES);
    return riders;
  }

  /** The riders averaged over ranks: the highest stop code any rank voted is this iteration's agreement; log values go to the log buffer. */
  acceptGradientRiders(riders: Float32Array): void {
    let agreed = 0;
    for (let c = STOP_CODES - 1; c > 0 && agreed === 0; c--) if (riders[c] > 0) agreed = c;
    this.votedStop = [this.stopRequest ? encodeStop(this.stopRequest) : 0, agreed];
    if (this.pendingLog && riders.length === STOP_CODES + this.pendingLog.keys.length) this.applyLog(riders.subarray(STOP_CODES));
  }

  /** Averages this iteration's log values over ranks now, if no gradient all-reduce carried them yet (a logger is about to read them). */
  async flushLog(): Promise<void> {
    if (!this.pendingLog) return;
    const values = this.pendingLog.values.slice();
    await this.allReduceMean(values);
    this.applyLog(values);
  }

  private applyLog(averaged: Float32Array): void {
    const { keys, numSamples } = this.pendingLog!;
    this.pendingLog = undefined;
    this.logBuffer.update(Object.fromEntries(keys.map((k, i) => [k, averaged[i]])), numSamples);
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

  /**
   * Loads weights (and optionally optimizer state and counters) from a checkpoint file. Without
   * `resume`: any weights file ssl writes, mapped by MMSelfSup's rules (`loadWeights`; `what` names the setting).
   */
  async loadCheckpoint(path: string, opts: { resume: boolean; strict?: boolean; what?: string }): Promise<CheckpointMeta> {
    if (!opts.resume) {
      const r = await loadWeights(this.model, path, { what: opts.what ?? 'load_from', warn: (m) => this.logger.warning(m) });
      this.logger.info(`load checkpoint from local path: ${path} (${r.loaded} tensors${r.addedPrefix ? `, a backbone: into ${r.addedPrefix}` : ''})`);
      return readAnyCheckpointMeta(path);
    }
    // a PyTorch .pth (MMSelfSup's checkpoints) or a checkpoint ssl wrote
    const ckpt = looksLikeZip(path) ? await readTorchResume(path, this.model, this.optimizer, opts.what) : await readCheckpoint(path, layoutsOf(this.model));
    try {
      this.model.loadStateDict(ckpt.stateDict, { strict: opts.strict ?? true });
      if (ckpt.optimizer) this.optimizer.loadStateDict(ckpt.optimizer);
      else this.logger.warning(`${path} has no optimizer state (save_optimizer was false); the optimizer starts fresh`);
      this.epoch = ckpt.meta.epoch ?? 0;
      this.iter = ckpt.meta.iter ?? 0;
      this.resumeInnerIter = ckpt.meta.inner_iter ?? 0;
      if (!this.byEpoch) this.innerIter = this.iter;
      this.logger.info(`resumed epoch ${this.epoch}, iter ${this.iter}`);
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

  /** Tensor count (memory hygiene checks). */
  numTensors(): number {
    return tf.memory().numTensors;
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGUSR1'];
/** Stop codes are 0 (none) .. 10 (see encodeStop). */
const STOP_CODES = 11;

/** A stop request as a number whose max over ranks is the one to follow: kind first (checkpoint > abort), then signal. */
function encodeStop(r: StopRequest): number {
  return (r.kind === 'checkpoint' ? 8 : 4) + Math.max(0, STOP_SIGNALS.indexOf(r.signal));
}

function decodeStop(code: number): StopRequest {
  return { kind: code >= 8 ? 'checkpoint' : 'abort', signal: STOP_SIGNALS[code % 4] ?? 'SIGTERM' };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'user';
  }
}

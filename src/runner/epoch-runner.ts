import { BaseRunner, type WorkflowEntry } from './base-runner.js';
import { ConfigError } from '../errors.js';
import type { TrainLoader } from './types.js';

/** mmcv `EpochBasedRunner`: `max_epochs` passes over the data; hooks see epoch/iter/inner_iter. */
export class EpochBasedRunner extends BaseRunner {
  readonly runnerType = 'EpochBasedRunner';
  readonly byEpoch = true;

  async run(loaders: TrainLoader[], workflow: WorkflowEntry[]): Promise<void> {
    this.dataLoaders = loaders;
    checkWorkflow(workflow, loaders);
    const trainIdx = workflow.findIndex(([m]) => m === 'train');
    this.epochLength = loaders[trainIdx].length;
    this.maxIters = this.maxEpochs * this.epochLength;
    await this.startInfo(workflow, `${this.maxEpochs} epochs`);
    await this.callHook('before_run');
    while (this.epoch < this.maxEpochs) {
      for (let i = 0; i < workflow.length; i++) {
        const [mode, epochs] = workflow[i];
        for (let e = 0; e < epochs; e++) {
          if (mode === 'train' && this.epoch >= this.maxEpochs) break;
          if (mode === 'train') await this.trainEpoch(loaders[i]);
          else await this.valEpoch(loaders[i]);
        }
      }
    }
    await this.callHook('after_run');
  }

  /** One epoch (mmcv `EpochBasedRunner.train`). */
  async trainEpoch(loader: TrainLoader): Promise<void> {
    this.model.train();
    this.mode = 'train';
    this.epochLength = loader.length;
    const skip = this.resumeInnerIter;
    this.resumeInnerIter = 0;
    await this.callHook('before_train_epoch');
    let i = 0;
    for await (const batch of loader.epoch(this.epoch)) {
      if (i < skip) {
        i++;
        continue;
      }
      this.innerIter = i;
      await this.runTrainIter(batch);
      this.iter += 1;
      i++;
      await this.endIter(i);
    }
    await this.callHook('after_train_epoch');
    this.epoch += 1;
  }

  /** One validation epoch (mmcv `EpochBasedRunner.val`): the model's losses on `data.val`, no gradients, logged as mode val. */
  async valEpoch(loader: TrainLoader): Promise<void> {
    this.model.eval();
    this.mode = 'val';
    const valStep = this.model.valStep?.bind(this.model);
    if (!valStep) throw new ConfigError('this model has no val_step: drop the val entry of workflow');
    await this.callHook('before_val_epoch');
    let i = 0;
    for await (const batch of loader.epoch(this.epoch)) {
      this.innerIter = i;
      await this.callHook('before_val_iter');
      const out = await valStep(batch, { dist: this.dist });
      this.logBuffer.update(out.logVars, out.numSamples);
      await this.callHook('after_val_iter');
      i++;
    }
    await this.callHook('after_val_epoch');
  }
}

/** The config's `workflow` (default `[['train', 1]]`). */
export function workflowOf(cfg: Record<string, unknown>): WorkflowEntry[] {
  return ((cfg.workflow as WorkflowEntry[] | undefined) ?? [['train', 1]]).map(([m, n]) => [m, n] as WorkflowEntry);
}

/** Checks the workflow (`val` entries with EpochBasedRunner only, as mmcv's IterBasedRunner trains only here). */
export function checkWorkflow(workflow: WorkflowEntry[], loaders: TrainLoader[], byEpoch = true): void {
  if (!Array.isArray(workflow) || workflow.length === 0) throw new ConfigError('workflow must be a non-empty list like [[train, 1]]');
  if (!workflow.some(([m]) => m === 'train')) throw new ConfigError('workflow needs a train entry, e.g. [[train, 1], [val, 1]]');
  for (const [mode, n] of workflow) {
    if (mode === 'val' && !byEpoch) throw new ConfigError('workflow mode "val" is supported with EpochBasedRunner; with IterBasedRunner use evaluation = dict(interval=N)');
    if (mode !== 'train' && mode !== 'val') throw new ConfigError(`workflow mode "${mode}" is not supported (train or val)`);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`workflow: "${mode}" needs a positive integer count, got ${String(n)}`);
  }
  if (loaders.length < workflow.length) throw new ConfigError('workflow has more entries than data loaders');
}

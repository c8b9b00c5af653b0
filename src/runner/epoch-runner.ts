import { BaseRunner, type WorkflowEntry } from './base-runner.js';
import { ConfigError } from '../errors.js';
import type { TrainLoader } from './types.js';

/** mmcv `EpochBasedRunner`: `max_epochs` passes over the data; hooks see epoch/iter/inner_iter. */
export class EpochBasedRunner extends BaseRunner {
  readonly runnerType = 'EpochBasedRunner';
  readonly byEpoch = true;

  async run(loaders: TrainLoader[], workflow: WorkflowEntry[]): Promise<void> {
    checkWorkflow(workflow, loaders);
    const trainIdx = workflow.findIndex(([m]) => m === 'train');
    this.epochLength = loaders[trainIdx].length;
    this.maxIters = this.maxEpochs * this.epochLength;
    await this.startInfo(workflow, `${this.maxEpochs} epochs`);
    await this.callHook('before_run');
    while (this.epoch < this.maxEpochs) {
      for (let i = 0; i < workflow.length; i++) {
        const [, epochs] = workflow[i];
        for (let e = 0; e < epochs; e++) {
          if (this.epoch >= this.maxEpochs) break;
          await this.trainEpoch(loaders[i]);
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
}

export function checkWorkflow(workflow: WorkflowEntry[], loaders: TrainLoader[]): void {
  if (!Array.isArray(workflow) || workflow.length === 0) throw new ConfigError('workflow must be a non-empty list like [[train, 1]]');
  for (const [mode, n] of workflow) {
    if (mode === 'val') throw new ConfigError('workflow mode "val" (validation losses) is not supported; evaluation = dict(interval=N) evaluates every N epochs (top-1/top-5 of Classification on data.val, kNN for self-supervised models)');
    if (mode !== 'train') throw new ConfigError(`workflow mode "${mode}" is not supported (MMSelfSup pre-training uses [[train, 1]])`);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`workflow: "${mode}" needs a positive integer count, got ${String(n)}`);
  }
  if (loaders.length < workflow.length) throw new ConfigError('workflow has more entries than data loaders');
}

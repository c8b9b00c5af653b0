import { BaseRunner, type WorkflowEntry } from './base-runner.js';
import { checkWorkflow } from './epoch-runner.js';
import type { Batch } from '../models/contracts.js';
import type { TrainLoader } from './types.js';

/** Cycles through a loader's epochs forever (mmcv `IterLoader`). */
class IterLoader {
  private it: AsyncIterator<Batch> | Iterator<Batch> | undefined;

  constructor(
    readonly loader: TrainLoader,
    public epoch: number,
    private skip: number,
  ) {}

  async next(): Promise<Batch> {
    for (;;) {
      if (!this.it) {
        const src = this.loader.epoch(this.epoch);
        this.it = Symbol.asyncIterator in src ? (src as AsyncIterable<Batch>)[Symbol.asyncIterator]() : (src as Iterable<Batch>)[Symbol.iterator]();
      }
      const r = await this.it.next();
      if (r.done) {
        this.it = undefined;
        this.epoch += 1;
        continue;
      }
      if (this.skip > 0) {
        this.skip--;
        continue;
      }
      return r.value;
    }
  }
}

/** mmcv `IterBasedRunner`: `max_iters` iterations over a cycling loader; hooks run by iteration. */
export class IterBasedRunner extends BaseRunner {
  readonly runnerType = 'IterBasedRunner';
  readonly byEpoch = false;

  async run(loaders: TrainLoader[], workflow: WorkflowEntry[]): Promise<void> {
    this.dataLoaders = loaders;
    checkWorkflow(workflow, loaders, false);
    this.epochLength = loaders[0].length;
    this.maxEpochs = Math.ceil(this.maxIters / this.epochLength);
    // position in the data: whole epochs done, then batches into the current one
    const startEpoch = Math.floor(this.iter / this.epochLength);
    const iterLoaders = loaders.map((l) => new IterLoader(l, startEpoch, this.iter - startEpoch * l.length));
    await this.startInfo(workflow, `${this.maxIters} iters`);
    await this.callHook('before_run');
    this.model.train();
    this.mode = 'train';
    await this.callHook('before_train_epoch');
    while (this.iter < this.maxIters) {
      for (let i = 0; i < workflow.length; i++) {
        this.innerIter = 0;
        const [, iters] = workflow[i];
        for (let k = 0; k < iters; k++) {
          if (this.iter >= this.maxIters) break;
          await this.trainIter(iterLoaders[i]);
        }
      }
    }
    await this.callHook('after_train_epoch');
    await this.callHook('after_run');
  }

  private async trainIter(loader: IterLoader): Promise<void> {
    const batch = await loader.next();
    this.epoch = loader.epoch;
    await this.runTrainIter(batch);
    this.innerIter += 1;
    this.iter += 1;
    await this.endIter(0);
  }
}

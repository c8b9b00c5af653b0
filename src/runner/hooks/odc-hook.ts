import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { encodeNpyInt64 } from '../../engine/npy.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { writeFileAtomic } from '../checkpoint.js';
import { Hook } from '../hook.js';
import { clusterSizes } from './deepcluster-hook.js';

/** What ODCHook needs of the model. */
interface ODCModel {
  setReweight(labels?: ArrayLike<number>, reweightPow?: number): void;
  memoryBank: {
    numClasses: number;
    labelBank: Int32Array;
    updateCentroidsMemory(): void;
    dealWithSmallClusters(log?: (m: string) => void): void;
  };
}

/**
 * MMSelfSup `ODCHook`: after every iteration, the centroids are recomputed every
 * `centroids_update_interval` iterations, small clusters re-assigned every
 * `deal_with_small_clusters_interval`, the loss re-weighted by the memory's cluster sizes (every
 * iteration, with the model's default power 0.5, as MMSelfSup does whatever `reweight`/`reweight_pow`
 * say), and the cluster sizes logged every `evaluate_interval`; every 10 epochs rank 0 saves the labels
 * to `work_dir/cluster_epoch_<epoch + 1>.npy`.
 */
export class ODCHook extends Hook {
  readonly hookType = 'ODCHook';

  constructor(
    readonly centroidsUpdateInterval: number,
    readonly dealWithSmallClustersInterval: number,
    readonly evaluateInterval: number,
    readonly reweight: boolean,
    readonly reweightPow: number,
  ) {
    super();
  }

  override beforeRun(runner: BaseRunner): void {
    this.model(runner);
  }

  override afterTrainIter(runner: BaseRunner): void {
    const model = this.model(runner);
    const memory = model.memoryBank;
    const log = (m: string) => runner.logger.info(m);
    if (this.everyNIters(runner, this.centroidsUpdateInterval)) memory.updateCentroidsMemory();
    if (this.everyNIters(runner, this.dealWithSmallClustersInterval)) memory.dealWithSmallClusters(log);
    model.setReweight();
    if (this.everyNIters(runner, this.evaluateInterval) && runner.rank === 0) {
      const s = clusterSizes(memory.labelBank, memory.numClasses);
      log(`empty_num: ${s.empty}\tmin_cluster: ${s.min}\tmax_cluster:${s.max}`);
    }
  }

  override afterTrainEpoch(runner: BaseRunner): void {
    if (this.everyNEpochs(runner, 10) && runner.rank === 0) {
      writeFileAtomic(join(runner.workDir, `cluster_epoch_${runner.epoch + 1}.npy`), encodeNpyInt64(this.model(runner).memoryBank.labelBank));
    }
  }

  private model(runner: BaseRunner): ODCModel {
    const m = runner.model as unknown as Partial<ODCModel>;
    if (!m.memoryBank || typeof m.memoryBank.dealWithSmallClusters !== 'function' || !m.setReweight) {
      throw new ConfigError('ODCHook needs an ODC model (its ODCMemory); remove it from custom_hooks');
    }
    return m as ODCModel;
  }
}

export const odcHookEntry = defineComponent({
  type: 'ODCHook',
  args: {
    centroids_update_interval: REQUIRED as unknown,
    deal_with_small_clusters_interval: REQUIRED as unknown,
    evaluate_interval: REQUIRED as unknown,
    reweight: REQUIRED as unknown,
    reweight_pow: REQUIRED as unknown,
    dist_mode: true,
  },
  build: (a) => new ODCHook(Number(a.centroids_update_interval), Number(a.deal_with_small_clusters_interval), Number(a.evaluate_interval), Boolean(a.reweight), Number(a.reweight_pow)),
});

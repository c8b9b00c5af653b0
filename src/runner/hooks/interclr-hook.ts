import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { tf } from '../../engine/tf.js';
import { buildClustering } from '../../models/clustering/index.js';
import type { InterCLRMemory } from '../../models/memories/interclr-memory.js';
import { checkArgs } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { Hook } from '../hook.js';
import { Extractor } from './extractor.js';
import { readNpy, writeNpy } from './npy.js';

interface InterCLRModel {
  intraLossWeight: number;
  interLossWeight: number;
  memoryBank: InterCLRMemory;
}

function interclrModel(runner: BaseRunner): InterCLRModel {
  const m = runner.model as unknown as Partial<InterCLRModel>;
  if (m.intraLossWeight === undefined || m.interLossWeight === undefined || !m.memoryBank) {
    throw new ConfigError('InterCLRHook needs an InterCLR model (intra_loss_weight, inter_loss_weight and an InterCLRMemory); remove it from custom_hooks');
  }
  return m as InterCLRModel;
}

/**
 * MMSelfSup `InterCLRHook`: before the run (`initial`), the features of `extractor.dataset` are
 * clustered (`clustering`, e.g. `Kmeans`) and fill the memory bank (`init_memory`); during
 * `warmup_epochs` the loss weights are intra 1 / inter 0. With `online_labels` the memory is kept
 * clustered: centroids recomputed every `centroids_update_interval` iterations, small clusters
 * redistributed every `deal_with_small_clusters_interval`, cluster sizes logged every
 * `evaluate_interval`; every `interval` epochs rank 0 saves `feature_epoch_N.npy` and
 * `cluster_epoch_N.npy` to the work dir, from which a resumed run restores the memory. Without online
 * labels the data set is re-clustered every `interval` epochs instead.
 */
export class InterCLRHook extends Hook {
  readonly hookType = 'InterCLRHook';
  readonly extractor: Extractor;
  readonly clustering: Record<string, unknown>;
  readonly centroidsUpdateInterval: number;
  readonly dealWithSmallClustersInterval: number;
  readonly evaluateInterval: number;
  readonly warmupEpochs: number;
  initMemory: boolean;
  readonly initial: boolean;
  readonly onlineLabels: boolean;
  readonly interval: number;
  private weights: [number, number] = [0.75, 0.25];

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('InterCLRHook', args, ['extractor', 'clustering', 'centroids_update_interval', 'deal_with_small_clusters_interval', 'evaluate_interval', 'warmup_epochs', 'init_memory', 'initial', 'online_labels', 'interval', 'dist_mode', 'data_loaders']);
    for (const key of ['extractor', 'clustering', 'centroids_update_interval', 'deal_with_small_clusters_interval', 'evaluate_interval']) {
      if (args[key] === undefined || args[key] === null) throw new ConfigError(`InterCLRHook needs "${key}"`);
    }
    if (args.dist_mode === false) throw new ConfigError('InterCLRHook: dist_mode=False is not implemented (as in MMSelfSup); remove it');
    this.extractor = new Extractor(args.extractor as Record<string, unknown>, 'InterCLRHook');
    this.clustering = args.clustering as Record<string, unknown>;
    // built now so that a bad clustering config fails before training
    buildClustering(this.clustering);
    this.centroidsUpdateInterval = args.centroids_update_interval as number;
    this.dealWithSmallClustersInterval = args.deal_with_small_clusters_interval as number;
    this.evaluateInterval = args.evaluate_interval as number;
    this.warmupEpochs = (args.warmup_epochs as number) ?? 0;
    this.initMemory = (args.init_memory as boolean) ?? true;
    this.initial = (args.initial as boolean) ?? true;
    this.onlineLabels = (args.online_labels as boolean) ?? true;
    this.interval = (args.interval as number) ?? 1;
  }

  override async beforeRun(runner: BaseRunner): Promise<void> {
    const model = interclrModel(runner);
    this.weights = [model.intraLossWeight, model.interLossWeight];
    const k = this.clustering.k;
    if (typeof k === 'number' && k !== model.memoryBank.numClasses) {
      throw new ConfigError(`InterCLRHook: clustering.k (${k}) must equal model.memory_bank.num_classes (${model.memoryBank.numClasses})`);
    }
    if (!this.initial) return;
    if (runner.epoch > 0 && this.onlineLabels) {
      const feats = join(runner.workDir, `feature_epoch_${runner.epoch}.npy`);
      const labels = join(runner.workDir, `cluster_epoch_${runner.epoch}.npy`);
      for (const f of [feats, labels]) if (!existsSync(f)) throw new ConfigError(`InterCLRHook: resuming at epoch ${runner.epoch} needs ${f} (saved every "interval" epochs); resume from an epoch that has it`);
      runner.logger.info(`Resuming memory banks from epoch ${runner.epoch}`);
      model.memoryBank.initMemory(readNpy(feats).data as Float32Array, readNpy(labels).data);
      return;
    }
    await this.deepcluster(runner);
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    const model = interclrModel(runner);
    [model.intraLossWeight, model.interLossWeight] = runner.epoch >= this.warmupEpochs ? this.weights : [1, 0];
  }

  override afterTrainIter(runner: BaseRunner): void {
    if (!this.onlineLabels) return;
    const memory = interclrModel(runner).memoryBank;
    if (this.everyNIters(runner, this.centroidsUpdateInterval)) memory.updateCentroidsMemory();
    if (this.everyNIters(runner, this.dealWithSmallClustersInterval)) memory.dealWithSmallClusters((m) => runner.logger.info(m));
    if (this.everyNIters(runner, this.evaluateInterval)) this.evaluate(runner, memory.labelBank, memory.numClasses);
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    if (this.onlineLabels) {
      if (this.everyNEpochs(runner, this.interval) && runner.dist.rank === 0) {
        const memory = interclrModel(runner).memoryBank;
        writeNpy(join(runner.workDir, `feature_epoch_${runner.epoch + 1}.npy`), memory.featureBank, [memory.length, memory.featDim]);
        writeNpy(join(runner.workDir, `cluster_epoch_${runner.epoch + 1}.npy`), memory.labelBank, [memory.length]);
      }
    } else if (this.everyNEpochs(runner, this.interval)) {
      await this.deepcluster(runner);
    }
  }

  /** Features of the data set -> clustering on rank 0 -> labels on every rank -> memory. */
  private async deepcluster(runner: BaseRunner): Promise<void> {
    const memory = interclrModel(runner).memoryBank;
    const { data: feats, rows: n, cols: dim } = await this.extractor.extract(runner.model, runner.dist, (m) => runner.logger.info(m));
    if (n !== memory.length) throw new ConfigError(`InterCLRHook: the extractor's data set has ${n} samples but model.memory_bank.length is ${memory.length}; make them equal`);
    let labels: Int32Array = new Int32Array(n);
    if (runner.dist.rank === 0) {
      const tool = buildClustering(this.clustering);
      tool.cluster({ data: feats, rows: n, cols: dim }, { log: (m) => runner.logger.info(m) });
      labels = tool.labels as Int32Array;
      const file = `cluster_epoch_${this.initMemory ? runner.epoch : runner.epoch + 1}.npy`;
      writeNpy(join(runner.workDir, file), labels, [n]);
      this.evaluate(runner, labels, memory.numClasses);
    }
    if (runner.dist.worldSize > 1) {
      const t = tf.tensor1d(Float32Array.from(labels));
      const all = await runner.dist.broadcast(t, 0);
      labels = Int32Array.from(all.dataSync());
      t.dispose();
      all.dispose();
    }
    if (!(this.onlineLabels || this.initMemory)) memory.assignLabel(labels);
    if (this.initMemory) {
      memory.initMemory(feats, labels);
      this.initMemory = false;
    }
  }

  private evaluate(runner: BaseRunner, labels: ArrayLike<number>, numClasses: number): void {
    const hist = new Int32Array(numClasses);
    for (let i = 0; i < labels.length; i++) hist[labels[i]]++;
    const empty = hist.filter((c) => c === 0).length;
    if (runner.dist.rank === 0) runner.logger.info(`empty_num: ${empty}\tmin_cluster: ${Math.min(...hist)}\tmax_cluster: ${Math.max(...hist)}`);
  }
}

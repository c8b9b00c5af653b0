import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { encodeNpyInt64 } from '../../engine/npy.js';
import { tf } from '../../engine/tf.js';
import { buildClustering, featureMatrix } from '../../models/clustering/index.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { BaseRunner } from '../base-runner.js';
import { writeFileAtomic } from '../checkpoint.js';
import { Hook } from '../hook.js';
import { Extractor, type ExtractedFeatures } from './extractor.js';

/** What DeepClusterHook needs of the model (DeepCluster, ODC). */
interface ClusteredModel {
  head: { numClasses: number; initWeights(): void; namedParameters(): [string, unknown][]; namedBuffers(): [string, unknown][] };
  setReweight(labels: ArrayLike<number>, reweightPow: number): void;
  memoryBank?: { initMemory(features: ExtractedFeatures, labels: Int32Array): void };
}

/** What it needs of the training data set and its sampler. */
interface LabelledDataset {
  length: number;
  assignLabels(labels: ArrayLike<number>): void;
}

interface UniformSampler {
  setUniformIndices(labels: ArrayLike<number>, numClasses: number, epoch: number): void;
}

/** `[empty clusters, smallest, largest]` of `labels` over `k` clusters (MMSelfSup's `evaluate`). */
export function clusterSizes(labels: ArrayLike<number>, k: number): { empty: number; min: number; max: number } {
  const hist = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) hist[labels[i]]++;
  return { empty: hist.filter((h) => h === 0).length, min: Math.min(...hist), max: Math.max(...hist) };
}

/**
 * MMSelfSup `DeepClusterHook`: before the run (`initial`) and after every `interval` epochs, the
 * extractor's features of the whole data set are clustered on rank 0 (`clustering=dict(type='Kmeans',
 * k, pca_dim)`: PCA-whitening, L2, k-means), the labels saved to `work_dir/cluster_epoch_<epoch>.npy`
 * and broadcast; then the training data set takes them as `pseudo_label`, the sampler draws classes
 * uniformly for the next epoch (`unif_sampling`), the loss is re-weighted by cluster size (`reweight`),
 * the classifier is re-initialised, and ODC's memory is filled (`init_memory`).
 */
export class DeepClusterHook extends Hook {
  readonly hookType = 'DeepClusterHook';
  readonly extractor: Extractor;
  readonly clustering: Record<string, unknown>;
  readonly k: number;

  constructor(
    extractor: Record<string, unknown>,
    clustering: Record<string, unknown>,
    readonly unifSampling: boolean,
    readonly reweight: boolean,
    readonly reweightPow: number,
    readonly initMemory = false,
    readonly initial = true,
    readonly interval = 1,
  ) {
    super();
    this.extractor = new Extractor(extractor);
    this.clustering = clustering;
    buildClustering(clustering); // a bad clustering config fails when the hook is built
    this.k = clustering.k as number;
  }

  override async beforeRun(runner: BaseRunner): Promise<void> {
    const model = this.model(runner);
    if (model.head.numClasses !== this.k) {
      throw new ConfigError(`DeepClusterHook: clustering.k (${this.k}) differs from model.head.num_classes (${model.head.numClasses}); make them equal`);
    }
    if (this.initial) await this.deepcluster(runner);
  }

  override async afterTrainEpoch(runner: BaseRunner): Promise<void> {
    if (this.everyNEpochs(runner, this.interval)) await this.deepcluster(runner);
  }

  async deepcluster(runner: BaseRunner): Promise<void> {
    const model = this.model(runner);
    const loader = runner.dataLoaders[0] as (typeof runner.dataLoaders)[0] & { sampler?: UniformSampler };
    const dataset = loader?.dataset as Partial<LabelledDataset> | undefined;
    if (!dataset?.assignLabels) throw new ConfigError('DeepClusterHook: the training data set must be a DeepClusterDataset (set data.train.type=DeepClusterDataset)');
    const log = (m: string) => runner.logger.info(m);
    // step 1: features (model in eval mode)
    const features = await this.extractor.extract(runner.model, runner.dist, log);
    if (features.rows !== dataset.length) {
      throw new ConfigError(`DeepClusterHook: extractor.dataset has ${features.rows} samples but data.train has ${dataset.length}; both must list the same images`);
    }
    // step 2: labels on rank 0, broadcast
    let labels = new Int32Array(features.rows);
    if (runner.rank === 0) {
      const tool = buildClustering(this.clustering);
      tool.cluster(featureMatrix(features.data, features.rows, features.cols), { log });
      labels = Int32Array.from(tool.labels!);
      writeFileAtomic(join(runner.workDir, `cluster_epoch_${runner.epoch}.npy`), encodeNpyInt64(labels));
      const s = clusterSizes(labels, this.k);
      log(`empty_num: ${s.empty}\tmin_cluster: ${s.min}\tmax_cluster:${s.max}`);
    }
    if (runner.worldSize > 1) {
      const t = tf.tensor1d(labels, 'int32');
      const b = await runner.dist.broadcast(t, 0);
      labels = Int32Array.from(await b.data());
      t.dispose();
      b.dispose();
    }
    // step 3: pseudo labels
    dataset.assignLabels(labels);
    // step 4: uniform sampling over clusters next epoch, loss re-weighting
    if (this.unifSampling) {
      if (!loader.sampler) throw new ConfigError('DeepClusterHook: unif_sampling needs the training loader of data.train');
      loader.sampler.setUniformIndices(labels, this.k, runner.epoch);
    }
    if (this.reweight) model.setReweight(labels, this.reweightPow);
    // step 5: a fresh classifier, the same on every rank
    model.head.initWeights();
    if (runner.worldSize > 1) runner.dist.broadcastModule?.(model.head as never);
    // step 6: ODC's memory
    if (this.initMemory) {
      if (!model.memoryBank) throw new ConfigError('DeepClusterHook: init_memory=True needs a model with a memory_bank (ODC)');
      model.memoryBank.initMemory(features, labels);
    }
  }

  private model(runner: BaseRunner): ClusteredModel {
    const m = runner.model as unknown as Partial<ClusteredModel>;
    if (!m.setReweight || !m.head || typeof m.head.initWeights !== 'function') {
      throw new ConfigError('DeepClusterHook needs a DeepCluster or ODC model (a ClsHead over the clusters); remove it from custom_hooks');
    }
    return m as ClusteredModel;
  }
}

export const deepClusterHookEntry = defineComponent({
  type: 'DeepClusterHook',
  args: {
    extractor: REQUIRED,
    clustering: REQUIRED,
    unif_sampling: REQUIRED as unknown,
    reweight: REQUIRED as unknown,
    reweight_pow: REQUIRED as unknown,
    init_memory: false,
    initial: true,
    interval: 1,
    seed: null as number | null,
    dist_mode: true,
    data_loaders: null as unknown,
  },
  build: (a) =>
    new DeepClusterHook(a.extractor as unknown as Record<string, unknown>, a.clustering as unknown as Record<string, unknown>, Boolean(a.unif_sampling), Boolean(a.reweight), Number(a.reweight_pow), Boolean(a.init_memory), Boolean(a.initial), Number(a.interval)),
});

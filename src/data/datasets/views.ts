import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import type { Compose } from '../pipelines/compose.js';
import type { DataSource, Random, Sample, SampleExtras } from '../types.js';
import { SourceDataset, asView, readImage } from './base.js';

/** MMSelfSup SingleViewDataset(data_source, pipeline, prefetch=False): one view plus the label. */
export class SingleViewDataset extends SourceDataset {
  readonly type: string = 'SingleViewDataset';
  constructor(source: DataSource, readonly pipeline: Compose, prefetch = false) {
    super(source, prefetch);
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const { img, idx: used } = await readImage(this.source, idx);
    const extras: SampleExtras = {};
    const view = asView(this.pipeline.apply(img, rng, extras));
    return { idx, views: [view], label: this.source.getLabel(used), extras };
  }
}

/** DeepClusterDataset(data_source, pipeline, prefetch): one view and `pseudo_label` (set by `assignLabels`, -1 before). */
export class DeepClusterDataset extends SingleViewDataset {
  override readonly type = 'DeepClusterDataset';
  clusteringLabels: Int32Array;
  constructor(source: DataSource, pipeline: Compose, prefetch = false) {
    super(source, pipeline, prefetch);
    this.clusteringLabels = new Int32Array(source.length).fill(-1);
  }
  /** MMSelfSup `assign_labels`: the cluster of every sample (DeepClusterHook calls it each epoch). */
  assignLabels(labels: ArrayLike<number>): void {
    if (labels.length !== this.source.length) throw new ConfigError(`DeepClusterDataset.assignLabels: got ${labels.length} labels for ${this.source.length} samples`);
    this.clusteringLabels = Int32Array.from(labels);
  }
  /** State the loader sends to worker threads at each epoch. */
  getState(): Record<string, unknown> {
    return { clustering_labels: this.clusteringLabels };
  }
  setState(s: Record<string, unknown>): void {
    if (s.clustering_labels) this.clusteringLabels = s.clustering_labels as Int32Array;
  }
  override async getItem(idx: number, rng: Random): Promise<Sample> {
    const s = await super.getItem(idx, rng);
    s.extras.pseudo_label = this.clusteringLabels[idx];
    return s;
  }
}

/**
 * MMSelfSup MultiViewDataset(data_source, num_views, pipelines, prefetch=False): view k of
 * `sum(num_views)` comes from pipeline i for the i-th group (SwAV: num_views [2, 6] with 224 and 96 crops).
 */
export class MultiViewDataset extends SourceDataset {
  readonly type = 'MultiViewDataset';
  readonly trans: Compose[];
  constructor(source: DataSource, numViews: number[], pipelines: Compose[], prefetch = false) {
    super(source, prefetch);
    if (numViews.length !== pipelines.length) throw new ConfigError(`MultiViewDataset: num_views has ${numViews.length} entries but pipelines has ${pipelines.length}`);
    this.trans = numViews.flatMap((n, i) => Array.from({ length: n }, () => pipelines[i]));
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const { img, idx: used } = await readImage(this.source, idx);
    const extras: SampleExtras = {};
    const views = this.trans.map((t) => asView(t.apply(img, rng, extras)));
    return { idx, views, label: this.source.getLabel(used), extras };
  }
}

export const SINGLE_VIEW_ARGS = ['data_source', 'pipeline', 'prefetch'];
export const MULTI_VIEW_ARGS = ['data_source', 'num_views', 'pipelines', 'prefetch'];
export { checkArgs };

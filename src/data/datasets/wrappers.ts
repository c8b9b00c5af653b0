import { ConfigError } from '../../errors.js';
import type { Dataset, Random, Sample } from '../types.js';

/** mmcv ConcatDataset(datasets): indices run through the datasets in order. */
export class ConcatDataset implements Dataset {
  readonly type = 'ConcatDataset';
  cfg?: Record<string, unknown>;
  private readonly offsets: number[];
  constructor(readonly datasets: Dataset[]) {
    if (datasets.length === 0) throw new ConfigError('ConcatDataset needs at least one dataset');
    this.offsets = [];
    let total = 0;
    for (const d of datasets) {
      this.offsets.push(total);
      total += d.length;
    }
  }
  get length(): number {
    return this.datasets.reduce((s, d) => s + d.length, 0);
  }
  private locate(idx: number): [Dataset, number] {
    let k = this.datasets.length - 1;
    while (k > 0 && idx < this.offsets[k]) k--;
    return [this.datasets[k], idx - this.offsets[k]];
  }
  getLabel(idx: number): number {
    const [d, i] = this.locate(idx);
    return d.getLabel(i);
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const [d, i] = this.locate(idx);
    const s = await d.getItem(i, rng);
    return { ...s, idx };
  }
}

/** mmcv RepeatDataset(dataset, times): the dataset `times` times over (short epochs for small sets). */
export class RepeatDataset implements Dataset {
  readonly type = 'RepeatDataset';
  cfg?: Record<string, unknown>;
  constructor(readonly dataset: Dataset, readonly times: number) {
    if (!(Number.isInteger(times) && times >= 1)) throw new ConfigError(`RepeatDataset: times must be a positive integer, got ${times}`);
  }
  get length(): number {
    return this.dataset.length * this.times;
  }
  getLabel(idx: number): number {
    return this.dataset.getLabel(idx % this.dataset.length);
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const s = await this.dataset.getItem(idx % this.dataset.length, rng);
    return { ...s, idx };
  }
}

/** The items at `indices` of `dataset`, in that order (torch.utils.data.Subset). */
export class SubsetDataset implements Dataset {
  readonly type = 'SubsetDataset';
  cfg?: Record<string, unknown>;
  /** Present when the wrapped data set is a DeepClusterDataset: labels of the subset's items (see constructor). */
  assignLabels?: (labels: ArrayLike<number>) => void;
  getState?: () => Record<string, unknown>;
  setState?: (s: Record<string, unknown>) => void;
  constructor(readonly dataset: Dataset, readonly indices: readonly number[]) {
    for (const i of indices) if (!(Number.isInteger(i) && i >= 0 && i < dataset.length)) throw new ConfigError(`SubsetDataset: index ${i} is outside the dataset (${dataset.length} items)`);
    // DeepClusterHook labels the items of the data set it trains on: pass them to the wrapped
    // DeepClusterDataset at the items' own indices (-1, "not clustered", elsewhere)
    const inner = dataset as Dataset & { assignLabels?: (l: ArrayLike<number>) => void; getState?: () => Record<string, unknown>; setState?: (s: Record<string, unknown>) => void };
    if (inner.assignLabels) {
      this.assignLabels = (labels) => {
        if (labels.length !== indices.length) throw new ConfigError(`SubsetDataset.assignLabels: got ${labels.length} labels for ${indices.length} samples`);
        const full = new Int32Array(dataset.length).fill(-1);
        indices.forEach((j, i) => (full[j] = labels[i]));
        inner.assignLabels!(full);
      };
    }
    if (inner.getState && inner.setState) {
      this.getState = () => inner.getState!();
      this.setState = (s) => inner.setState!(s);
    }
  }
  get source() {
    return this.dataset.source;
  }
  get length(): number {
    return this.indices.length;
  }
  getLabel(idx: number): number {
    return this.dataset.getLabel(this.indices[idx]);
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const s = await this.dataset.getItem(this.indices[idx], rng);
    return { ...s, idx };
  }
}

/** `count` indices spread evenly over `0..length-1` (all of them when `count` is at least `length`). */
export function evenlySpaced(length: number, count: number): number[] {
  if (count >= length) return Array.from({ length }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor((i * length) / count));
}

import { ConfigError } from '../errors.js';
import { Rng, seedOf } from './rng.js';

/** Options of `DistributedSampler` (PyTorch's arguments). */
export interface SamplerOptions {
  rank?: number;
  worldSize?: number;
  shuffle?: boolean;
  seed?: number;
  /** Drop the tail so every rank gets the same count, instead of padding (PyTorch `drop_last` of the sampler). */
  dropLast?: boolean;
  /** MMSelfSup's `sampling_replace`: each epoch draws N indices with replacement instead of a permutation. */
  replace?: boolean;
}

/**
 * PyTorch DistributedSampler semantics: per epoch, a permutation seeded by (seed + epoch) shared by all
 * ranks, padded by repeating its head to a multiple of `worldSize` (or truncated with `dropLast`),
 * then rank r takes positions r, r + W, r + 2W, ... No index lands on two ranks unless padding
 * repeats it. One rank of one is the plain (random) sampler.
 */
export class DistributedSampler {
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly replace: boolean;
  readonly numSamples: number;
  readonly totalSize: number;

  constructor(readonly size: number, o: SamplerOptions = {}) {
    this.rank = o.rank ?? 0;
    this.worldSize = o.worldSize ?? 1;
    this.shuffle = o.shuffle ?? true;
    this.seed = o.seed ?? 0;
    this.dropLast = o.dropLast ?? false;
    this.replace = o.replace ?? false;
    if (!(this.worldSize >= 1 && this.rank >= 0 && this.rank < this.worldSize)) throw new ConfigError(`invalid rank ${this.rank} for world size ${this.worldSize}`);
    this.numSamples = this.dropLast && size % this.worldSize !== 0 ? Math.ceil((size - this.worldSize) / this.worldSize) : Math.ceil(size / this.worldSize);
    this.totalSize = this.numSamples * this.worldSize;
  }

  /** Dataset indices of this rank in epoch `epoch` (a pending `setUniformIndices` list replaces the shuffle once). */
  indices(epoch: number): number[] {
    if (this.uniform) {
      const idx = this.uniform;
      this.uniform = null;
      return this.split(idx);
    }
    if (!this.shuffle) return this.split(Array.from({ length: this.size }, (_, i) => i));
    const rng = new Rng(seedOf(this.seed, epoch, 0x5a3b1e));
    return this.split(this.replace ? Array.from({ length: this.size }, () => rng.int(this.size)) : rng.permutation(this.size));
  }

  private uniform: number[] | null = null;

  /**
   * MMSelfSup `DistributedSampler.set_uniform_indices` (DeepClusterHook's `unif_sampling`): the next
   * epoch draws `floor(N / num_classes) + 1` samples from every non-empty class (with replacement
   * where the class is not larger than that), shuffles them and keeps the first N, so small clusters
   * are seen as often as large ones. Seeded by (seed, epoch) and the same on every rank.
   */
  setUniformIndices(labels: ArrayLike<number>, numClasses: number, epoch: number): void {
    if (labels.length !== this.size) throw new ConfigError(`uniform sampling: got ${labels.length} labels for ${this.size} samples`);
    const n = labels.length;
    const perLabel = Math.floor(n / numClasses) + 1;
    const rng = new Rng(seedOf(this.seed, epoch, 0x7f4a21));
    const members: number[][] = Array.from({ length: numClasses }, () => []);
    for (let i = 0; i < n; i++) members[labels[i]].push(i);
    const idx: number[] = [];
    for (const m of members) {
      if (m.length === 0) continue;
      if (m.length <= perLabel) for (let k = 0; k < perLabel; k++) idx.push(m[rng.int(m.length)]);
      else idx.push(...rng.permutation(m.length).slice(0, perLabel).map((j) => m[j]));
    }
    this.uniform = rng.permutation(idx.length).slice(0, n).map((j) => idx[j]);
  }

  /** Pads (or truncates with dropLast) to `totalSize`, then takes this rank's positions r, r + W, ... */
  private split(all: number[]): number[] {
    let idx = all;
    if (!this.dropLast) {
      const pad = this.totalSize - idx.length;
      for (let k = 0; k < pad; k++) idx.push(idx[k % idx.length]);
    } else idx = idx.slice(0, this.totalSize);
    const out: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.worldSize) out.push(idx[i]);
    return out;
  }
}

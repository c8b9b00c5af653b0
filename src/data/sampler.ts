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
  readonly numSamples: number;
  readonly totalSize: number;

  constructor(readonly size: number, o: SamplerOptions = {}) {
    this.rank = o.rank ?? 0;
    this.worldSize = o.worldSize ?? 1;
    this.shuffle = o.shuffle ?? true;
    this.seed = o.seed ?? 0;
    this.dropLast = o.dropLast ?? false;
    if (!(this.worldSize >= 1 && this.rank >= 0 && this.rank < this.worldSize)) throw new ConfigError(`invalid rank ${this.rank} for world size ${this.worldSize}`);
    this.numSamples = this.dropLast && size % this.worldSize !== 0 ? Math.ceil((size - this.worldSize) / this.worldSize) : Math.ceil(size / this.worldSize);
    this.totalSize = this.numSamples * this.worldSize;
  }

  /** Dataset indices of this rank in epoch `epoch`. */
  indices(epoch: number): number[] {
    let idx = this.shuffle ? new Rng(seedOf(this.seed, epoch, 0x5a3b1e)).permutation(this.size) : Array.from({ length: this.size }, (_, i) => i);
    if (!this.dropLast) {
      const pad = this.totalSize - idx.length;
      for (let k = 0; k < pad; k++) idx.push(idx[k % this.size]);
    } else idx = idx.slice(0, this.totalSize);
    const out: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.worldSize) out.push(idx[i]);
    return out;
  }
}

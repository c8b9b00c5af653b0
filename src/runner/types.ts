import type { Batch } from '../models/contracts.js';

/** A data loader the runner can iterate epoch by epoch. */
export interface TrainLoader {
  /** Batches per epoch (`len(data_loader)`). */
  readonly length: number;
  /** Images per batch on this process. */
  readonly batchSize?: number;
  /** Batches of epoch `epoch` (0-based); the order depends on (seed, epoch) only. */
  epoch(epoch: number): AsyncIterable<Batch> | Iterable<Batch>;
  /** Ends loader worker threads. */
  close?(): Promise<void>;
  /** The data set it loads (its size checks memory banks). */
  readonly dataset?: { readonly length: number };
}

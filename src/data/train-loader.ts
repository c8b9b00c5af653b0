import { ConfigError } from '../errors.js';
import { buildDataset } from './datasets/index.js';
import { buildDataLoader } from './loader.js';
import type { DataLoader } from './types.js';

/** What the runner knows when it asks for its training loader. */
export interface TrainLoaderOptions {
  seed: number;
  rank: number;
  worldSize: number;
  deterministic?: boolean;
  /** Config file name for messages. */
  source?: string;
  log?: (msg: string) => void;
}

/**
 * The training loader of a resolved config (`cfg.data`: samples_per_gpu, workers_per_gpu, drop_last,
 * persistent_workers, prefetch_factor, sampling_replace, train), shuffled, split over ranks.
 */
export async function buildTrainLoader(cfg: Record<string, unknown>, o: TrainLoaderOptions): Promise<DataLoader> {
  const data = cfg.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== 'object' || !data.train) throw new ConfigError(`the config has no data.train${o.source ? ` (${o.source})` : ''}`);
  const dataset = await buildDataset(data.train as Record<string, unknown>);
  // MMSelfSup's ODC config sets data.replace, which its train.py never reads (it reads sampling_replace)
  if (data.replace !== undefined) o.log?.(`data.replace has no effect (as in MMSelfSup, which reads data.sampling_replace); set data.sampling_replace=${data.replace ? 'True' : 'False'} to sample ${data.replace ? 'with' : 'without'} replacement`);
  return buildDataLoader(dataset, {
    samplesPerGpu: (data.samples_per_gpu as number) ?? 32,
    workersPerGpu: (data.workers_per_gpu as number) ?? 0,
    dropLast: (data.drop_last as boolean) ?? false,
    persistentWorkers: (data.persistent_workers as boolean) ?? true,
    prefetchFactor: (data.prefetch_factor as number) ?? 2,
    shuffle: true,
    replace: Boolean(data.sampling_replace ?? false),
    seed: o.seed,
    rank: o.rank,
    worldSize: o.worldSize,
    log: o.log,
  });
}

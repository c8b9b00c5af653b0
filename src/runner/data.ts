import { buildTrainLoader as buildDataTrainLoader } from '../data/index.js';
import type { TrainLoader } from './types.js';

export interface LoaderOptions {
  seed: number;
  rank: number;
  worldSize: number;
  deterministic: boolean;
  source?: string;
  log?: (msg: string) => void;
}

/** This process's training loader of `cfg.data` (the data module: shuffled by (seed, epoch), split over ranks). */
export async function buildTrainLoader(cfg: Record<string, unknown>, o: LoaderOptions): Promise<TrainLoader> {
  return (await buildDataTrainLoader(cfg, o)) as unknown as TrainLoader;
}

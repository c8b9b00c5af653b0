import { initBackend } from '../engine/backend.js';
import { manualSeed } from '../engine/random.js';
import { buildModel } from '../models/index.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { readAnyCheckpointMeta } from '../runner/checkpoint.js';
import { loadWeights } from '../runner/load-weights.js';

export interface EvalModelOptions {
  checkpoint?: string;
  backend?: string;
  seed?: number;
  /** Native engine compute threads (`--threads`). */
  threads?: number;
  log?: (m: string) => void;
}

/**
 * The config's model in eval mode for feature extraction: weights from `checkpoint` (any weights
 * file ssl writes, an extracted backbone too, or a PyTorch .pth), else the random initialisation drawn with `seed`
 * (the baseline).
 */
export async function loadEvalModel(cfg: Record<string, unknown>, o: EvalModelOptions): Promise<BaseAlgorithm> {
  const log = o.log ?? (() => {});
  await initBackend(o.backend ?? (cfg.backend as string | undefined), { log, threads: o.threads });
  manualSeed(o.seed ?? (typeof cfg.seed === 'number' ? cfg.seed : 0));
  const model = buildModel(cfg.model);
  if (o.checkpoint) {
    // the neck/head a backbone file lacks are not used by feature extraction; the backbone must be whole
    const r = await loadWeights(model, o.checkpoint, { what: '--checkpoint', warn: (m) => log(`Warning: ${m}`), into: 'model', requireBackbone: true });
    const meta = await readAnyCheckpointMeta(o.checkpoint);
    log(`loaded ${r.loaded} tensors of ${o.checkpoint}${meta.epoch !== undefined ? ` (epoch ${meta.epoch}, iter ${meta.iter})` : ''}`);
  } else log('no --checkpoint: using the randomly initialised network');
  model.eval();
  return model;
}

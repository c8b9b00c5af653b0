import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { initBackend } from '../engine/backend.js';
import { fetchIfRemote } from '../storage/run-sync.js';
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
  /** S3 endpoint for an s3:// checkpoint (`--s3-endpoint`; else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). */
  s3Endpoint?: string;
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
    const remote = o.checkpoint.startsWith('s3://');
    const dir = remote ? mkdtempSync(join(tmpdir(), 'ssl-eval-ckpt-')) : undefined;
    try {
      const path = dir ? await fetchIfRemote(o.checkpoint, dir, { endpoint: o.s3Endpoint }) : o.checkpoint;
      // the neck/head a backbone file lacks are not used by feature extraction; the backbone must be whole
      const r = await loadWeights(model, path, { what: '--checkpoint', warn: (m) => log(`Warning: ${m}`), into: 'model', requireBackbone: true });
      const meta = await readAnyCheckpointMeta(path);
      const shown = remote && path !== o.checkpoint ? `${o.checkpoint}${o.checkpoint.endsWith('/') ? basename(path) : ''}` : o.checkpoint;
      log(`loaded ${r.loaded} tensors of ${shown}${meta.epoch !== undefined ? ` (epoch ${meta.epoch}, iter ${meta.iter})` : ''}`);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  } else log('no --checkpoint: using the randomly initialised network');
  model.eval();
  return model;
}

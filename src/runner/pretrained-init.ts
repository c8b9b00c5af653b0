import { ConfigError } from '../errors.js';
import { loadWeights, type WeightsTarget } from './load-weights.js';
import type { TrainableModel } from '../models/contracts.js';

type Cfg = Record<string, unknown>;

/** One `init_cfg` of type Pretrained (mmcv `PretrainedInit`). */
export interface PretrainedSpec {
  into: WeightsTarget;
  checkpoint: string;
  prefix?: string;
  /** `model.init_cfg` or `model.backbone.init_cfg`. */
  where: string;
}

function specsOf(initCfg: unknown, into: WeightsTarget, where: string): PretrainedSpec[] {
  const list = Array.isArray(initCfg) ? initCfg : initCfg ? [initCfg] : [];
  const out: PretrainedSpec[] = [];
  for (const c of list as Cfg[]) {
    if (!c || typeof c !== 'object' || c.type !== 'Pretrained') continue;
    const { type: _t, checkpoint, prefix, map_location: _m, ...rest } = c;
    if (Object.keys(rest).length > 0) throw new ConfigError(`${where}: Pretrained does not accept "${Object.keys(rest)[0]}" (checkpoint, prefix, map_location)`);
    if (typeof checkpoint !== 'string' || checkpoint === '') throw new ConfigError(`${where}: Pretrained needs a checkpoint (a path or s3:// URI)`);
    if (prefix !== undefined && prefix !== null && typeof prefix !== 'string') throw new ConfigError(`${where}: Pretrained prefix must be a string`);
    out.push({ into, checkpoint, prefix: (prefix as string | null | undefined) ?? undefined, where });
  }
  return out;
}

/**
 * The Pretrained initialisations of `cfg.model` (mmcv's `init_weights`, run once after the model is
 * built and before `load_from`/`resume_from`): `model.init_cfg` loads into the algorithm,
 * `model.backbone.init_cfg` into its backbone. Pretrained on a neck or head is rejected.
 */
export function pretrainedSpecs(modelCfg: unknown): PretrainedSpec[] {
  if (!modelCfg || typeof modelCfg !== 'object') return [];
  const m = modelCfg as Cfg;
  const specs = [...specsOf(m.init_cfg, 'model', 'model.init_cfg'), ...specsOf((m.backbone as Cfg | undefined)?.init_cfg, 'backbone', 'model.backbone.init_cfg')];
  for (const part of ['neck', 'head']) {
    if (specsOf((m[part] as Cfg | undefined)?.init_cfg, 'model', `model.${part}.init_cfg`).length > 0) {
      throw new ConfigError(`model.${part}.init_cfg: Pretrained is supported on the model and its backbone only (use model.init_cfg with prefix "${part}.")`);
    }
  }
  return specs;
}

/**
 * Applies `pretrainedSpecs(modelCfg)` to `model`; then, as MMSelfSup's `init_weights` does, momentum
 * encoders start as copies of the online ones (`afterInitWeights`). `fetch` turns s3:// URIs into local files.
 */
export async function applyPretrainedInit(
  model: TrainableModel & { afterInitWeights?: () => void },
  modelCfg: unknown,
  o: { info: (m: string) => void; warn: (m: string) => void; fetch?: (uri: string) => Promise<string> },
): Promise<number> {
  const specs = pretrainedSpecs(modelCfg);
  // mmcv builds these in the model's constructor (CAE's DALL-E tokenizer); before load_from/resume so they load too
  await model.loadAuxiliaryFiles?.();
  for (const s of specs) {
    const path = o.fetch ? await o.fetch(s.checkpoint) : s.checkpoint;
    const r = await loadWeights(model, path, { into: s.into, prefix: s.prefix, what: s.where, warn: o.warn });
    o.info(`${s.where}: loaded ${r.loaded} tensors from ${s.checkpoint}${s.prefix ? ` (prefix ${s.prefix})` : ''} into the ${s.into}`);
  }
  if (specs.length > 0) model.afterInitWeights?.();
  return specs.length;
}

import { loadConfig } from '../config/index.js';
import { initBackend } from '../engine/backend.js';
import { buildModel } from '../models/index.js';
import { loadWeights, type LoadWeightsResult } from './load-weights.js';
import { importCustomModules } from './registries.js';
import { dirname, resolve } from 'node:path';
import type { TrainableModel } from '../models/contracts.js';

/**
 * `ssl model import --config`: builds the config's model and loads the file into it by the rules of
 * `--load-from`, but every backbone tensor must come from the file (shapes are always checked).
 */
export async function checkWeightsFitConfig(file: string, config: string, cfgOptions: string[], warn: (m: string) => void): Promise<LoadWeightsResult> {
  const cfg = loadConfig(config, { cfgOptions }) as Record<string, unknown>;
  await initBackend('cpu', { log: () => {} });
  for (const w of (await importCustomModules(cfg.custom_imports, dirname(resolve(config)))).warnings) warn(w);
  const model = buildModel(cfg.model as Record<string, unknown>, config) as unknown as TrainableModel;
  return loadWeights(model, file, { what: 'ssl model import', warn, requireBackbone: true });
}

import { ConfigError, RegistryError } from '../errors.js';
import { ALGORITHM_ENTRIES } from './algorithms/index.js';
import type { BaseAlgorithm } from './algorithms/base.js';
import { HEAD_ENTRIES } from './heads/index.js';
import { NECK_ENTRIES } from './necks/index.js';
import { MEMORY_ENTRIES } from './memories/index.js';
import { ALGORITHMS, BACKBONES, HEADS, MEMORIES, NECKS } from './registries.js';

NECKS.addAll(NECK_ENTRIES);
HEADS.addAll(HEAD_ENTRIES);
MEMORIES.addAll(MEMORY_ENTRIES);
ALGORITHMS.addAll(ALGORITHM_ENTRIES);

/**
 * Builds the algorithm of `cfg.model`. Unknown types and arguments fail naming the key, the
 * component and (when given) the config file.
 */
export function buildModel(modelCfg: unknown, source?: string): BaseAlgorithm {
  if (!modelCfg || typeof modelCfg !== 'object') throw new ConfigError(`the config has no "model"${source ? ` (${source})` : ''}`);
  try {
    return ALGORITHMS.build(modelCfg as Record<string, unknown>);
  } catch (e) {
    if (e instanceof RegistryError && source) {
      throw new RegistryError(`${e.message} (in model of ${source})`, { code: e.code, suggestions: e.suggestions });
    }
    throw e;
  }
}

export { ALGORITHMS, BACKBONES, HEADS, MEMORIES, NECKS };

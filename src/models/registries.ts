import { ConfigError } from '../errors.js';
import { Registry } from '../registry/index.js';
import type { Module } from '../engine/module.js';
import type { BaseAlgorithm, ListModule } from './algorithms/base.js';
import { BACKBONES } from './backbones/index.js';

/**
 * The model registries by MMSelfSup category. Component files define their entries and build their
 * sub-components through these; `src/models/index.ts` lists the entries.
 */
export const NECKS = new Registry<ListModule>('neck');
export const HEADS = new Registry<Module>('head');
export const ALGORITHMS = new Registry<BaseAlgorithm>('algorithm');
/** MMSelfSup's MEMORIES (memory banks of NPID, ODC, ...): plain objects, not modules. */
export const MEMORIES = new Registry<object>('memory');
export { BACKBONES };

type Cfg = Record<string, unknown>;

/** The component config under `key` of `owner`'s arguments (a dict with a "type"). */
export function subConfig(owner: string, key: string, value: unknown): Cfg {
  if (!value || typeof value !== 'object') throw new ConfigError(`${owner} needs "${key}" (a component config with a "type")`);
  return value as Cfg;
}

export const buildBackbone = (owner: string, cfg: unknown) => BACKBONES.build(subConfig(owner, 'backbone', cfg)) as unknown as ListModule;
export const buildNeck = (owner: string, cfg: unknown, key = 'neck') => NECKS.build(subConfig(owner, key, cfg));
export const buildHead = <T extends Module = Module>(owner: string, cfg: unknown, key = 'head') => HEADS.build(subConfig(owner, key, cfg)) as T;
export const buildMemory = <T extends object = object>(owner: string, cfg: unknown) => MEMORIES.build(subConfig(owner, 'memory_bank', cfg)) as T;

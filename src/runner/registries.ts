import { DATASETS } from '../data/datasets/index.js';
import { PIPELINES } from '../data/pipelines/index.js';
import { DATASOURCES } from '../data/sources/index.js';
import { Module } from '../engine/module.js';
import { tf } from '../engine/tf.js';
import { ALGORITHMS, BACKBONES, HEADS, NECKS } from '../models/index.js';
import { checkArgs, loadCustomImports, type CustomImportResult, type Registries } from '../registry/index.js';
import { Hook } from './hook.js';
import { HOOKS } from './hooks/index.js';
import { OPTIMIZERS } from './optim/build.js';

/**
 * The registries a `custom_imports` module's `register(registries, api)` receives, by category
 * (MMSelfSup's registry names, plural), and the public API it builds components from.
 */
export function componentRegistries(): Registries {
  return {
    algorithms: ALGORITHMS,
    backbones: BACKBONES,
    necks: NECKS,
    heads: HEADS,
    hooks: HOOKS,
    optimizers: OPTIMIZERS,
    pipelines: PIPELINES,
    datasets: DATASETS,
    data_sources: DATASOURCES,
  } as unknown as Registries;
}

/** The second argument of `register`: base classes and helpers (`Hook`, `Module`, `tf`, `checkArgs`). */
export const COMPONENT_API = { Hook, Module, tf, checkArgs } as const;

/** Loads the config's `custom_imports` (modules named relative to `configDir`) into `componentRegistries()`. */
export async function importCustomModules(spec: unknown, configDir: string): Promise<CustomImportResult> {
  return loadCustomImports(spec as Parameters<typeof loadCustomImports>[0], componentRegistries(), configDir, COMPONENT_API);
}

/**
 * Config resolution with MMSelfSup's (mmcv `Config`) semantics. Pure data: imports
 * nothing of ssl but its errors. Formats plug in through `registerConfigParser`.
 */
import { applyCfgOptions, parseCfgOptions } from './cfg-options.js';
import type { LoadedFile } from './load.js';
import { loadFile, sourceOf } from './load.js';
import type { ConfigDict, ConfigValue } from './types.js';

export { applyCfgOptions, parseCfgOptions, parseOptionValue, parseScalar } from './cfg-options.js';
export { dumpConfig } from './dump.js';
export type { ConfigFormat } from './dump.js';
export { displayPath, sourceOf } from './load.js';
export { mergeConfig } from './merge.js';
export { defaultWorkDir, describeConfigName, parseConfigName } from './naming.js';
export type { ConfigNameInfo } from './naming.js';
export { parserFor, registerConfigParser, supportedExtensions } from './parsers.js';
export type { ConfigParser } from './parsers.js';
export { BASE_KEY, DELETE_KEY, isDict } from './types.js';
export type { ConfigDict, ConfigValue } from './types.js';

export interface LoadConfigOptions {
  /** Raw `--cfg-options` items (`key=value`) or an already-parsed dotted-key map. */
  cfgOptions?: readonly string[] | Record<string, ConfigValue>;
}

export interface ResolvedConfig extends LoadedFile {
  /** The file that sets a dotted key (the last in merge order), or `--cfg-options`. */
  sourceOf(keyPath: string): string | undefined;
}

/** Loads a config file, resolves its `_base_` chain and references, and applies `--cfg-options`. */
export function loadConfig(path: string, options: LoadConfigOptions = {}): ConfigDict {
  return resolveConfig(path, options).cfg;
}

/** As loadConfig, keeping where each key came from (for errors that name the file). */
export function resolveConfig(path: string, options: LoadConfigOptions = {}): ResolvedConfig {
  const loaded = loadFile(path);
  const opts = options.cfgOptions;
  const parsed = opts === undefined ? {} : Array.isArray(opts) ? parseCfgOptions(opts as readonly string[]) : (opts as Record<string, ConfigValue>);
  const cfg = Object.keys(parsed).length > 0 ? applyCfgOptions(loaded.cfg, parsed) : loaded.cfg;
  return {
    ...loaded,
    cfg,
    sourceOf(keyPath: string) {
      if (Object.keys(parsed).some((k) => k === keyPath || keyPath.startsWith(`${k}.`))) return '--cfg-options';
      return sourceOf(loaded, keyPath);
    },
  };
}

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { extractBaseRefs, substituteBaseRefs, substitutePredefinedVars } from './base-refs.js';
import { mergeConfig } from './merge.js';
import { parserFor } from './parsers.js';
import type { ConfigDict, ConfigValue } from './types.js';
import { BASE_KEY, isDict } from './types.js';

/** A resolved file: its merged dict, and for each top-level key the file that last set it. */
export interface LoadedFile {
  cfg: ConfigDict;
  /** Files in merge order (bases first, this file last). */
  files: string[];
  /** Raw (pre-merge) dict of each file, for provenance. */
  raw: Map<string, ConfigDict>;
}

/**
 * Loads one config file and its `_base_` chain (mmcv `Config._file2dict`):
 * bases are resolved first, their top-level keys must not collide, references
 * `{{_base_.x}}` are read from the merged bases, then this file merges over them.
 */
export function loadFile(filename: string, referencedBy?: string, stack: string[] = []): LoadedFile {
  const path = resolve(filename);
  if (stack.includes(path)) {
    const cycle = [...stack.slice(stack.indexOf(path)), path].map((p) => displayPath(p)).join(' -> ');
    throw new ConfigError(`_base_ cycle: ${cycle}`, { code: 'BASE_CYCLE' });
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    const by = referencedBy ? `, named in _base_ of ${displayPath(referencedBy)}` : '';
    throw new ConfigError(`config file not found: ${displayPath(path)}${by}`, { code: 'CONFIG_NOT_FOUND' });
  }
  const parser = parserFor(path);
  const text = substitutePredefinedVars(readFileSync(path, 'utf8'), path);
  const refs = extractBaseRefs(text, parser.quoteBaseRefs);
  const own = parser.parse(refs.text, displayPath(path));

  const raw = new Map<string, ConfigDict>();
  const files: string[] = [];
  let bases: ConfigDict = {};
  const baseNames = own[BASE_KEY];
  delete own[BASE_KEY];
  if (baseNames !== undefined) {
    const list = Array.isArray(baseNames) ? baseNames : [baseNames];
    const owner = new Map<string, string>();
    for (const name of list) {
      if (typeof name !== 'string') throw new ConfigError(`${displayPath(path)}: _base_ must be a path or a list of paths, got ${JSON.stringify(name)}`);
      const basePath = resolve(dirname(path), name);
      const base = loadFile(basePath, path, [...stack, path]);
      for (const key of Object.keys(base.cfg)) {
        const first = owner.get(key);
        if (first !== undefined) {
          throw new ConfigError(
            `key "${key}" is defined by two bases of ${displayPath(path)}: ${displayPath(first)} and ${displayPath(basePath)}; keep it in one of them`,
            { code: 'DUPLICATE_BASE_KEY' },
          );
        }
        owner.set(key, basePath);
      }
      bases = { ...bases, ...base.cfg };
      files.push(...base.files.filter((f) => !files.includes(f)));
      for (const [f, d] of base.raw) raw.set(f, d);
    }
  } else if (refs.paths.length > 0) {
    throw new ConfigError(`${displayPath(path)} uses {{_base_.${refs.paths[0]}}} but has no _base_`, { code: 'UNKNOWN_BASE_REF' });
  }
  const substituted = substituteBaseRefs(own, refs, bases, displayPath(path)) as ConfigDict;
  raw.set(path, substituted);
  files.push(path);
  return { cfg: mergeConfig(substituted, bases), files, raw };
}

/** The last file (in merge order) whose own text sets the dotted key `keyPath`. */
export function sourceOf(loaded: Pick<LoadedFile, 'files' | 'raw'>, keyPath: string): string | undefined {
  for (let i = loaded.files.length - 1; i >= 0; i--) {
    let node: ConfigValue | undefined = loaded.raw.get(loaded.files[i]!);
    for (const part of keyPath.split('.')) {
      node = isDict(node) ? node[part] : Array.isArray(node) && /^\d+$/.test(part) ? node[Number(part)] : undefined;
      if (node === undefined) break;
    }
    if (node !== undefined) return loaded.files[i];
  }
  return undefined;
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}

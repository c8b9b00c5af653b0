import { stringify } from 'yaml';
import type { ConfigDict } from './types.js';

export type ConfigFormat = 'yaml' | 'json';

/** The resolved config as text: YAML (block style) or canonical JSON (sorted keys). */
export function dumpConfig(cfg: ConfigDict, format: ConfigFormat): string {
  if (format === 'json') return `${JSON.stringify(sortKeys(cfg), jsonNumbers, 2)}\n`;
  return stringify(cfg, { lineWidth: 0, aliasDuplicateObjects: false });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** JSON has no inf/nan: write them as Python's float spellings, as strings. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  return value;
}

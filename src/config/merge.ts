import { ConfigError } from '../errors.js';
import type { ConfigDict, ConfigValue } from './types.js';
import { DELETE_KEY, deepClone, isDict } from './types.js';

/**
 * Merges `child` into a copy of `base` as mmcv's `Config._merge_a_into_b` does:
 * dicts merge recursively; any other value (lists included) replaces; a child dict
 * with `_delete_: true` replaces the base dict. With `allowListKeys` (used by
 * `--cfg-options`), a digit key indexes into a base list and merges into that item.
 *
 * Where ssl differs from mmcv: `_delete_` is always consumed. mmcv leaves the key in
 * the result when the base has no such dict (or inside replaced lists); ssl strips it
 * everywhere, since it is a directive and no component accepts it.
 */
export function mergeConfig(child: ConfigDict, base: ConfigDict, allowListKeys = false, path = ''): ConfigDict {
  const out: ConfigDict = { ...base };
  for (const [key, value] of Object.entries(child)) {
    out[key] = mergeValue(value, out[key], allowListKeys, path ? `${path}.${key}` : key);
  }
  return out;
}

function mergeValue(value: ConfigValue, baseValue: ConfigValue | undefined, allowListKeys: boolean, path: string): ConfigValue {
  if (!isDict(value)) return stripDelete(value);
  const { [DELETE_KEY]: del, ...rest } = value;
  if (baseValue === undefined || del === true) return stripDelete(rest);
  if (allowListKeys && Array.isArray(baseValue)) return mergeIntoList(rest, baseValue, path);
  if (!isDict(baseValue)) {
    throw new ConfigError(
      `${path} is a dict in the child config but a ${describe(baseValue)} in its base; set "${DELETE_KEY}: true" in the child's ${path} to replace it`,
      { code: 'MERGE_TYPE' },
    );
  }
  return mergeConfig(rest, baseValue, allowListKeys, path);
}

function mergeIntoList(child: ConfigDict, base: ConfigValue[], path: string): ConfigValue[] {
  const out = [...base];
  for (const [key, value] of Object.entries(child)) {
    if (!/^\d+$/.test(key)) {
      throw new ConfigError(`${path} is a list; "${key}" is not an index into it`, { code: 'LIST_INDEX' });
    }
    const index = Number(key);
    if (index >= out.length) {
      throw new ConfigError(`index ${index} is past the end of ${path}, which has ${out.length} item(s)`, { code: 'LIST_INDEX' });
    }
    out[index] = mergeValue(value, out[index], true, `${path}.${key}`);
  }
  return out;
}

/** Removes `_delete_` directives from a value that is taken as a whole. */
export function stripDelete(value: ConfigValue): ConfigValue {
  if (Array.isArray(value)) return value.map(stripDelete);
  if (isDict(value)) {
    const out: ConfigDict = {};
    for (const [k, v] of Object.entries(value)) if (k !== DELETE_KEY) out[k] = stripDelete(v);
    return out;
  }
  return deepClone(value);
}

function describe(value: ConfigValue): string {
  if (value === null) return 'None';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

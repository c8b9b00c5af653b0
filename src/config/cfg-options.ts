import { ConfigError } from '../errors.js';
import { mergeConfig } from './merge.js';
import type { ConfigDict, ConfigValue } from './types.js';

/**
 * Parses `--cfg-options` items (`key=value`, `key=v1,v2`, `key=[a,(b,c)]`) into a
 * dotted-key map, with mmcv's `DictAction` value rules: int, float, bool, None or string;
 * `[..]` and `(..)` give lists (tuples become lists), nested; quotes optional; spaces dropped.
 */
export function parseCfgOptions(items: readonly string[]): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError(`--cfg-options item "${item}" is not key=value; write it like optimizer.lr=0.1`, { code: 'CFG_OPTION' });
    }
    const key = item.slice(0, eq);
    if (key.split('.').some((part) => part === '')) {
      throw new ConfigError(`--cfg-options key "${key}" has an empty part; write dotted keys like data.train.pipeline.1.p`, { code: 'CFG_OPTION' });
    }
    out[key] = parseOptionValue(item.slice(eq + 1), item);
  }
  return out;
}

export function parseOptionValue(raw: string, item = raw): ConfigValue {
  let val = raw.replace(/^['"]+|['"]+$/g, '').replace(/\s/g, '');
  if ((val.startsWith('(') && val.endsWith(')')) || (val.startsWith('[') && val.endsWith(']'))) {
    val = val.slice(1, -1);
  } else if (!val.includes(',')) {
    return parseScalar(val);
  }
  checkBalanced(val, item);
  const values: ConfigValue[] = [];
  while (val.length > 0) {
    const comma = nextTopLevelComma(val);
    // an element with commas only inside brackets that do not enclose it (`a:[0,1]`, a dict) would be
    // split again into itself (mmcv's DictAction recurses until Python's RecursionError)
    if (comma === val.length && val === raw.replace(/^['"]+|['"]+$/g, '').replace(/\s/g, '')) {
      throw new ConfigError(
        `--cfg-options item "${item}": "${val}" is neither a value nor a [..]/(..) list (dicts are not accepted); set nested keys one by one, e.g. custom_hooks.0.batch_size=8`,
        { code: 'CFG_OPTION' },
      );
    }
    values.push(parseOptionValue(val.slice(0, comma), item));
    val = val.slice(comma + 1);
  }
  return values;
}

const INT = /^[+-]?\d+(_\d+)*$/;
const FLOAT = /^[+-]?((\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+)?|inf(inity)?|nan)$/i;

/** mmcv's `_parse_int_float_bool`: Python's int(), then float(), then true/false, then None. */
export function parseScalar(val: string): ConfigValue {
  if (INT.test(val)) return Number(val.replace(/_/g, ''));
  if (FLOAT.test(val)) {
    const lower = val.toLowerCase().replace(/_/g, '');
    if (lower.endsWith('nan')) return Number.NaN;
    if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
    return Number(lower);
  }
  if (val.toLowerCase() === 'true') return true;
  if (val.toLowerCase() === 'false') return false;
  if (val === 'None') return null;
  return val;
}

function nextTopLevelComma(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) return i;
  }
  return s.length;
}

function checkBalanced(s: string, item: string): void {
  const count = (ch: string) => s.split(ch).length - 1;
  if (count('(') !== count(')') || count('[') !== count(']')) {
    throw new ConfigError(`--cfg-options item "${item}" has unbalanced brackets`, { code: 'CFG_OPTION' });
  }
}

/** Applies dotted-key options (mmcv `merge_from_dict`): numeric parts index into lists. */
export function applyCfgOptions(cfg: ConfigDict, options: Record<string, ConfigValue>): ConfigDict {
  const nested: ConfigDict = {};
  for (const [fullKey, value] of Object.entries(options)) {
    const parts = fullKey.split('.');
    let node = nested;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next;
      else node = node[part] = {};
    }
    node[parts[parts.length - 1]!] = value;
  }
  return mergeConfig(nested, cfg, true);
}

import type { ConfigDict, ConfigValue } from '../types.js';

/**
 * A Python value of the config subset. Python keeps int and float apart, JS numbers do not:
 * ints are `bigint` (arbitrary precision, as Python's), floats are `number`. Lists are JS
 * arrays and dicts are Maps, shared by reference as Python objects are (so `pipeline.append(x)`
 * also changes the dict that holds `pipeline`). Tuples are immutable `PyTuple`s.
 */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyTuple | PyDict;

/** Python dict with string keys, in insertion order. */
export type PyDict = Map<string, PyValue>;

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** Python's name of a value's type, for messages like `unsupported operand types for +: 'str' and 'int'`. */
export function typeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  return 'dict';
}

export function isNumeric(v: PyValue): v is bigint | number | boolean {
  return typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean';
}

/** Python's truth value: empty containers, zero, '' and None are false. */
export function truthy(v: PyValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  return v.size > 0;
}

/** Python `==`: numbers compare by value across int/float/bool; a list never equals a tuple. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (isNumeric(a) && isNumeric(b)) {
    const x = typeof a === 'boolean' ? Number(a) : a;
    const y = typeof b === 'boolean' ? Number(b) : b;
    // Loose equality compares bigint and number exactly, without rounding the bigint.
    // eslint-disable-next-line eqeqeq
    return x == y;
  }
  if (a === null || b === null || typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && sequenceEquals(a, b);
  if (a instanceof PyTuple || b instanceof PyTuple) return a instanceof PyTuple && b instanceof PyTuple && sequenceEquals(a.items, b.items);
  if (!(a instanceof Map) || !(b instanceof Map)) return false;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.has(k) || !pyEquals(v, b.get(k)!)) return false;
  return true;
}

function sequenceEquals(a: readonly PyValue[], b: readonly PyValue[]): boolean {
  return a.length === b.length && a.every((v, i) => pyEquals(v, b[i]!));
}

/** Options for turning Python values into config values. */
export interface ToConfigOptions {
  /**
   * Called for every float; its result stands in for the number. Lets `ssl config convert`
   * keep `1.0` looking like a float in YAML; by default floats are plain numbers.
   */
  float?: (value: number) => unknown;
}

/** A Python value as a plain config value: ints and floats as numbers, tuples as arrays, dicts as objects (fresh copies). */
export function toConfigValue(v: PyValue, options: ToConfigOptions = {}): ConfigValue {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return (options.float ? options.float(v) : v) as ConfigValue;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => toConfigValue(x, options));
  if (v instanceof PyTuple) return v.items.map((x) => toConfigValue(x, options));
  const out: ConfigDict = {};
  for (const [k, x] of v) setKey(out, k, toConfigValue(x, options));
  return out;
}

/** Sets a key on a plain object, including `__proto__`, as an own data property. */
export function setKey(obj: ConfigDict, key: string, value: ConfigValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

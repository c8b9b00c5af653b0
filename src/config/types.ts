/** A resolved config value: what YAML, JSON and MMSelfSup's Python configs can express. */
export type ConfigValue = null | boolean | number | string | ConfigValue[] | ConfigDict;

/** A config mapping (mmcv's ConfigDict, as a plain object). */
export interface ConfigDict {
  [key: string]: ConfigValue;
}

/** The key that names base files. */
export const BASE_KEY = '_base_';
/** A dict with `_delete_: true` replaces the base's dict instead of merging into it. */
export const DELETE_KEY = '_delete_';

export function isDict(value: unknown): value is ConfigDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepClone<T>(value: T): T {
  return structuredClone(value);
}

import { basename, dirname, extname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ConfigDict, ConfigValue } from './types.js';
import { isDict } from './types.js';

const BASE_REF = /\{\{\s*_base_\.([\w.]+)\s*\}\}/g;
const PLACEHOLDER = /__SSL_BASE_REF_(\d+)__/g;
const WHOLE_PLACEHOLDER = /^__SSL_BASE_REF_(\d+)__$/;

/** The `{{ _base_.a.b }}` references of one file, replaced in its text by placeholder tokens (as mmcv does). */
export interface BaseRefs {
  /** Dotted key paths into the merged bases, by placeholder index. */
  paths: string[];
  text: string;
}

export function extractBaseRefs(text: string, quote: boolean): BaseRefs {
  const paths: string[] = [];
  const out = text.replace(BASE_REF, (_m, path: string) => {
    let index = paths.indexOf(path);
    if (index < 0) index = paths.push(path) - 1;
    const token = `__SSL_BASE_REF_${index}__`;
    return quote ? `"${token}"` : token;
  });
  return { paths, text: out };
}

/** mmcv's predefined variables, substituted in the text before parsing. */
export function substitutePredefinedVars(text: string, filename: string): string {
  const ext = extname(filename);
  const vars: Record<string, string> = {
    fileDirname: dirname(filename),
    fileBasename: basename(filename),
    fileBasenameNoExtension: basename(filename, ext),
    fileExtname: ext,
  };
  return text.replace(/\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}/g, (_m, name: string) => vars[name]!);
}

/**
 * Replaces placeholders by values read from the merged bases. A placeholder that is
 * the whole value keeps the referenced value's type (list, dict, number); one inside
 * a longer string is substituted as text (mmcv supports only the former).
 */
export function substituteBaseRefs(value: ConfigValue, refs: BaseRefs, bases: ConfigDict, filename: string): ConfigValue {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) return structuredClone(lookup(refs.paths[Number(whole[1])]!, bases, filename));
    if (!value.includes('__SSL_BASE_REF_')) return value;
    return value.replace(PLACEHOLDER, (_m, i: string) => asText(lookup(refs.paths[Number(i)]!, bases, filename)));
  }
  if (Array.isArray(value)) return value.map((v) => substituteBaseRefs(v, refs, bases, filename));
  if (isDict(value)) {
    const out: ConfigDict = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteBaseRefs(v, refs, bases, filename);
    return out;
  }
  return value;
}

function lookup(path: string, bases: ConfigDict, filename: string): ConfigValue {
  let node: ConfigValue = bases;
  const walked: string[] = [];
  for (const part of path.split('.')) {
    walked.push(part);
    if (isDict(node) && part in node) node = node[part]!;
    else if (Array.isArray(node) && /^\d+$/.test(part) && Number(part) < node.length) node = node[Number(part)]!;
    else {
      throw new ConfigError(`${filename}: {{_base_.${path}}} refers to "${walked.join('.')}", which its base files do not define`, {
        code: 'UNKNOWN_BASE_REF',
      });
    }
  }
  return node;
}

function asText(value: ConfigValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

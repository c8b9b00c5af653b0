import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import { Document, isScalar, Scalar, visit } from 'yaml';
import { ConfigError } from '../../errors.js';
import { extractBaseRefs, substitutePredefinedVars } from '../base-refs.js';
import { dumpConfig } from '../dump.js';
import { loadConfig } from '../index.js';
import { displayPath } from '../load.js';
import type { ConfigDict, ConfigValue } from '../types.js';
import { BASE_KEY, isDict } from '../types.js';
import { parsePythonConfig } from './index.js';

/** First line of every file `ssl config convert` writes; a file without it is never overwritten unless forced. */
export const CONVERTED_HEADER = '# Converted by `ssl config convert` from';

export interface ConvertOptions {
  /** Output file; default: the source path with `.yaml` in place of `.py`. */
  out?: string;
  /** One self-contained file (the resolved config) instead of one YAML file per `_base_` file. */
  flatten?: boolean;
  /** Overwrite output files that `ssl config convert` did not write. */
  force?: boolean;
}

export interface ConvertResult {
  /** Absolute paths written: the requested file first, then converted bases. */
  written: string[];
}

/**
 * Writes native YAML that resolves to the same config as a Python config file.
 * Without `flatten`, `_base_` references and `{{_base_.x}}` stay as written: each `.py` base is
 * converted too, placed where the `_base_` path points relative to the output file (beside the
 * `.py` base when converting in place), and the reference is rewritten to the `.yaml` name; a
 * base that is already YAML/JSON is referenced where it is. Floats keep a decimal point (`1.0`).
 * @throws ConfigError on Python outside the subset, or an output file ssl did not write (unless `force`).
 */
export function convertPythonConfig(source: string, options: ConvertOptions = {}): ConvertResult {
  const src = resolve(source);
  if (!existsSync(src)) throw new ConfigError(`config file not found: ${displayPath(src)}`, { code: 'CONFIG_NOT_FOUND' });
  const out = resolve(options.out ?? replaceExt(src, '.yaml'));
  if (out === src) throw new ConfigError(`the output ${displayPath(out)} would overwrite the input; pass -o with another name`);
  if (options.flatten) {
    writeOutput(out, `${header(src, out)} (flattened: its _base_ files merged in)\n${dumpConfig(loadConfig(src), 'yaml')}`, options);
    return { written: [out] };
  }
  const written: string[] = [];
  if (extname(src).toLowerCase() !== '.py') {
    throw new ConfigError(`${displayPath(src)} is not a Python config; convert reads .py files (use --flatten to write any config as one YAML file)`);
  }
  convertFile(src, out, options, written, new Set());
  return { written };
}

function convertFile(src: string, out: string, options: ConvertOptions, written: string[], seen: Set<string>): void {
  if (seen.has(out)) return;
  seen.add(out);
  const text = substitutePredefinedVars(readFileSync(src, 'utf8'), src);
  const refs = extractBaseRefs(text, true);
  const raw = parsePythonConfig(refs.text, displayPath(src), { float: floatNode });
  const restored = restoreBaseRefs(raw, refs.paths) as ConfigDict;

  const bases: string[] = [];
  const baseNames = restored[BASE_KEY];
  if (baseNames !== undefined) {
    const list = Array.isArray(baseNames) ? baseNames : [baseNames];
    const rewritten = list.map((name) => {
      if (typeof name !== 'string') throw new ConfigError(`${displayPath(src)}: _base_ must be a path or a list of paths, got ${JSON.stringify(name)}`);
      const baseSrc = resolve(dirname(src), name);
      if (extname(name).toLowerCase() !== '.py') return relativeRef(out, baseSrc);
      const baseOut = resolve(dirname(out), replaceExt(name, '.yaml'));
      bases.push(baseSrc, baseOut);
      return relativeRef(out, baseOut);
    });
    restored[BASE_KEY] = Array.isArray(baseNames) ? rewritten : rewritten[0]!;
  }
  const doc = new Document(restored, { aliasDuplicateObjects: false });
  // Short lists of numbers and strings on one line (`mean: [0.485, 0.456, 0.406]`), as the .py wrote them.
  visit(doc, {
    Seq(_key, node) {
      const short = node.items.every((item) => isScalar(item)) && node.items.map((item) => String((item as Scalar).value)).join(', ').length <= 60;
      if (short) node.flow = true;
    },
  });
  writeOutput(out, `${header(src, out)}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`, options);
  written.push(out);
  for (let i = 0; i < bases.length; i += 2) convertFile(bases[i]!, bases[i + 1]!, options, written, seen);
}

/** Integral floats as YAML scalars written with a decimal point, so `1.` stays a float in the YAML. */
function floatNode(value: number): unknown {
  if (!Number.isInteger(value)) return value;
  const node = new Scalar(value);
  node.minFractionDigits = 1;
  return node;
}

/** Placeholder tokens back to `{{_base_.x}}` text. */
function restoreBaseRefs(value: ConfigValue, paths: string[]): ConfigValue {
  if (typeof value === 'string') return value.replace(/__SSL_BASE_REF_(\d+)__/g, (_m, i: string) => `{{_base_.${paths[Number(i)]}}}`);
  if (Array.isArray(value)) return value.map((v) => restoreBaseRefs(v, paths));
  if (isDict(value)) {
    for (const key of Object.keys(value)) value[key] = restoreBaseRefs(value[key]!, paths);
  }
  return value;
}

function writeOutput(out: string, text: string, options: ConvertOptions): void {
  if (existsSync(out) && !options.force && !readFileSync(out, 'utf8').startsWith(CONVERTED_HEADER)) {
    throw new ConfigError(`${displayPath(out)} exists and was not written by ssl config convert; pass --force to overwrite it or -o to write elsewhere`, {
      code: 'CONVERT_EXISTS',
    });
  }
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, out);
}

function header(src: string, out: string): string {
  return `${CONVERTED_HEADER} ${relativeRef(out, src)}`;
}

/** `target` relative to the directory of `from`, with forward slashes (as `_base_` paths are written). */
function relativeRef(from: string, target: string): string {
  return relative(dirname(from), target).split(sep).join('/');
}

function replaceExt(path: string, ext: string): string {
  return path.slice(0, path.length - extname(path).length) + ext;
}

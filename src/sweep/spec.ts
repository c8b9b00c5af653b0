import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { loadConfig, type ConfigDict, type ConfigValue } from '../config/index.js';
import { isDict } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { METRICS, metricBetter } from './metrics.js';
import { findStage, STAGE_NAMES } from './stages.js';
import type { RelativeGate, StageSpec, SweepSpec, Tolerance } from './types.js';

export const SWEEP_KEYS = [
  'name', 'configs', 'matrix', 'include', 'exclude', 'stages', 'launcher', 'launcher_options',
  'max_parallel', 'timeout', 'metrics', 'baseline', 'tolerance', 'seeds', 'gate',
] as const;
/** `ssl train` flags a sweep sets itself (per trial), so launcher_options may not. */
const TRIAL_OWNED_FLAGS = new Set(['work-dir', 'cfg-options', 'dry-run', 'wait', 'follow', 'launcher', 'debug', 'resume-from', 'auto-resume', 'load-from']);
const DEFAULT_TIMEOUT_S = 3600;

function fail(message: string, suggestions: string[] = []): never {
  throw new ConfigError(message, { code: 'SWEEP_SPEC', suggestions });
}


/**
 * Loads a sweep file like a config (`_base_`, `--cfg-options`), and checks every field.
 * Paths (configs, baseline) are relative to the sweep file. `trainFlags`: `ssl train`'s flag names,
 * which `launcher_options` may use.
 */
export function loadSweep(file: string, options: { cfgOptions?: string[]; trainFlags: string[]; baselineOverride?: string }): SweepSpec {
  const path = resolve(file);
  if (!existsSync(path)) fail(`sweep file ${file} does not exist`);
  const raw = loadConfig(path, { cfgOptions: options.cfgOptions ?? [] });
  const dir = dirname(path);
  for (const k of Object.keys(raw)) {
    if (!(SWEEP_KEYS as readonly string[]).includes(k)) fail(`${file}: unknown key "${k}"${didYouMean(k, SWEEP_KEYS)}`);
  }
  const name = typeof raw.name === 'string' && raw.name.trim() !== '' ? raw.name : fail(`${file}: "name" is required (a short name for the sweep)`);
  const configs = resolveConfigs(raw.configs, dir, file);
  const matrix = flattenMatrix(raw.matrix, file);
  const include = listOfDicts(raw.include, 'include', file);
  const exclude = listOfDicts(raw.exclude, 'exclude', file);
  if (Object.keys(matrix).length === 0 && include.length === 0 && raw.matrix !== undefined) {
    fail(`${file}: "matrix" is empty; give at least one key with a list of values (e.g. optimizer.lr: [0.1, 0.3]) or remove it`);
  }
  const timeout = positive(raw.timeout ?? DEFAULT_TIMEOUT_S, 'timeout', file);
  const stages = parseStages(raw.stages, timeout, file, dir);
  const launcher = parseLauncher(raw.launcher, file);
  const launcherOptions = parseLauncherOptions(raw.launcher_options, options.trainFlags, file);
  const maxParallel = positive(raw.max_parallel ?? 1, 'max_parallel', file);
  if (!Number.isInteger(maxParallel)) fail(`${file}: max_parallel must be a whole number, got ${maxParallel}`);
  const metrics = parseMetrics(raw.metrics, stages, file);
  const baselineRaw = options.baselineOverride ?? raw.baseline;
  if (baselineRaw !== undefined && baselineRaw !== null && typeof baselineRaw !== 'string') fail(`${file}: "baseline" must be a file path`);
  const baseline = typeof baselineRaw === 'string' ? (options.baselineOverride !== undefined ? resolve(baselineRaw) : resolveFrom(dir, baselineRaw)) : undefined;
  const tolerance = parseTolerance(raw.tolerance, metrics, file);
  const seeds = parseSeeds(raw.seeds, file);
  const gate = parseGate(raw.gate, dir, file);
  return { name, file: path, configs, matrix, include, exclude, stages, launcher, launcherOptions, maxParallel, metrics, baseline, tolerance, seeds, gate };
}

function resolveFrom(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

function resolveConfigs(value: unknown, dir: string, file: string): string[] {
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!items || items.length === 0) fail(`${file}: "configs" must list at least one config file (paths or globs, relative to the sweep file)`);
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') fail(`${file}: "configs" entries must be paths, got ${JSON.stringify(item)}`);
    if (/[*?[{]/.test(item)) {
      const hits = globSync(item, { cwd: dir, absolute: true }).sort();
      if (hits.length === 0) fail(`${file}: config glob "${item}" matches no file (relative to ${dir})`);
      out.push(...hits);
    } else {
      const p = resolveFrom(dir, item);
      if (!existsSync(p)) fail(`${file}: config ${item} does not exist (paths are relative to the sweep file's folder ${dir})`);
      out.push(p);
    }
  }
  return [...new Set(out)];
}

/** `matrix: {optimizer: {lr: [..]}}` and `matrix: {optimizer.lr: [..]}` both give `optimizer.lr`. */
function flattenMatrix(value: unknown, file: string): Record<string, ConfigValue[]> {
  if (value === undefined || value === null) return {};
  if (!isDict(value as ConfigValue)) fail(`${file}: "matrix" must map config keys to lists of values (optimizer.lr: [0.1, 0.3])`);
  const out: Record<string, ConfigValue[]> = {};
  const walk = (node: ConfigDict, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (Array.isArray(v)) {
        if (v.length === 0) fail(`${file}: matrix key "${key}" has an empty list of values; give at least one value or remove the key`);
        out[key] = v;
      } else if (isDict(v)) walk(v, key);
      else fail(`${file}: matrix key "${key}" must have a list of values, got ${JSON.stringify(v)} (write [${JSON.stringify(v)}])`);
    }
  };
  walk(value as ConfigDict, '');
  return out;
}

function listOfDicts(value: unknown, what: string, file: string): Record<string, ConfigValue>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => isDict(v as ConfigValue))) fail(`${file}: "${what}" must be a list of key: value maps (as in CI matrices)`);
  return (value as ConfigDict[]).map((d) => {
    const flat: Record<string, ConfigValue> = {};
    const walk = (node: ConfigDict, prefix: string) => {
      for (const [k, v] of Object.entries(node)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (isDict(v) && key !== 'config') walk(v, key);
        else flat[key] = v;
      }
    };
    walk(d, '');
    return flat;
  });
}

function positive(v: unknown, what: string, file: string): number {
  if (typeof v !== 'number' || !(v > 0)) fail(`${file}: "${what}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function parseStages(value: unknown, defaultTimeout: number, file: string, dir: string): StageSpec[] {
  if (!Array.isArray(value) || value.length === 0) fail(`${file}: "stages" must list the commands of each trial, e.g. [train, eval knn]`);
  const stages = value.map((s): StageSpec => {
    const d = typeof s === 'string' ? { name: s } : isDict(s as ConfigValue) ? (s as ConfigDict) : fail(`${file}: a stage is a command name or {name, args, timeout}, got ${JSON.stringify(s)}`);
    for (const k of Object.keys(d)) if (!['name', 'args', 'timeout', 'config'].includes(k)) fail(`${file}: stage key "${k}" is not one of name, args, timeout, config`);
    const name = typeof d.name === 'string' ? d.name.trim().replace(/\s+/g, ' ').replace(/:/g, ' ') : fail(`${file}: every stage needs a name (a command such as train or eval knn)`);
    if (!findStage(name)) fail(`${file}: stage "${name}" is not an ssl command a sweep can run${didYouMean(name, STAGE_NAMES())}`);
    const args = d.args === undefined ? [] : typeof d.args === 'string' ? d.args.split(/\s+/).filter(Boolean) : Array.isArray(d.args) ? d.args.map(String) : fail(`${file}: stage "${name}" args must be a list of flags`);
    const timeout = positive(d.timeout ?? defaultTimeout, `stages.${name}.timeout`, file);
    const kind = findStage(name)!;
    if (kind.needsConfig && typeof d.config !== 'string') fail(`${file}: stage "${name}" needs config: (its benchmark config, relative to the sweep file)`);
    if (!kind.needsConfig && d.config !== undefined) fail(`${file}: stage "${name}" takes no config (it uses the train stage's)`);
    const config = typeof d.config === 'string' ? resolveFrom(dir, d.config) : undefined;
    if (config && !existsSync(config)) fail(`${file}: stage "${name}" config ${String(d.config)} does not exist (relative to ${dir})`);
    return { name, args, timeout, ...(config ? { config } : {}) };
  });
  if (stages[0]!.name !== 'train') fail(`${file}: the first stage must be train (later stages evaluate its checkpoint)`);
  if (stages.filter((s) => s.name === 'train').length > 1) fail(`${file}: a trial has one train stage`);
  return stages;
}

function parseLauncher(value: unknown, file: string): SweepSpec['launcher'] {
  const v = value ?? 'local';
  const names = ['none', 'local', 'slurm', 'k8s'];
  if (typeof v !== 'string' || !names.includes(v)) fail(`${file}: launcher "${String(v)}" is not one of ${names.join(', ')}${typeof v === 'string' ? didYouMean(v, names) : ''}`);
  return v as SweepSpec['launcher'];
}

function parseLauncherOptions(value: unknown, trainFlags: string[], file: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isDict(value as ConfigValue)) fail(`${file}: "launcher_options" must map ssl train flags to values (gpus: 2, partition: debug)`);
  const allowed = trainFlags.filter((f) => !TRIAL_OWNED_FLAGS.has(f));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as ConfigDict)) {
    const flag = k.replace(/_/g, '-');
    if (TRIAL_OWNED_FLAGS.has(flag)) fail(`${file}: launcher_options.${k} is set by the sweep for each trial; remove it`);
    if (!allowed.includes(flag)) fail(`${file}: launcher_options.${k} is not an ssl train flag${didYouMean(flag, allowed)}`);
    out[flag] = v;
  }
  return out;
}

function parseMetrics(value: unknown, stages: StageSpec[], file: string): string[] {
  const names = Object.keys(METRICS);
  const list = value === undefined ? defaultMetrics(stages) : Array.isArray(value) ? value : fail(`${file}: "metrics" must be a list (${names.join(', ')})`);
  for (const m of list) {
    if (typeof m !== 'string' || !METRICS[m]) fail(`${file}: unknown metric "${String(m)}"${didYouMean(String(m), names)} (one of ${names.join(', ')})`);
    const from = METRICS[m]!.stage;
    const any = [from, ...(METRICS[m]!.alsoFrom ?? [])];
    if (!stages.some((s) => any.includes(s.name))) fail(`${file}: metric "${m}" comes from the ${from} stage, which the sweep does not run; add it to stages`);
  }
  return list as string[];
}

function defaultMetrics(stages: StageSpec[]): string[] {
  return Object.entries(METRICS).filter(([, m]) => m.default && stages.some((s) => s.name === m.stage)).map(([k]) => k);
}

function parseTolerance(value: unknown, metrics: string[], file: string): Record<string, Tolerance> {
  if (value === undefined || value === null) return {};
  if (!isDict(value as ConfigValue)) fail(`${file}: "tolerance" must map metrics to {abs|rel|k, better}`);
  const out: Record<string, Tolerance> = {};
  // `knn.top1` written as a dotted key, or nested (as --cfg-options tolerance.knn.top1.abs=2 writes it)
  const flat: [string, ConfigValue][] = [];
  const walk = (node: ConfigDict, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (isDict(v) && !metrics.includes(key) && !Object.keys(v).some((x) => ['abs', 'rel', 'k', 'better'].includes(x))) walk(v, key);
      else flat.push([key, v]);
    }
  };
  walk(value as ConfigDict, '');
  for (const [m, t] of flat) {
    if (!metrics.includes(m)) fail(`${file}: tolerance for "${m}", which is not among the sweep's metrics${didYouMean(m, metrics)}`);
    let tol: Tolerance = { better: metricBetter(m) };
    if (typeof t === 'number') tol.abs = t;
    else if (typeof t === 'string' && /^\d+(\.\d+)?%$/.test(t)) tol.rel = Number(t.slice(0, -1)) / 100;
    else if (isDict(t)) {
      for (const k of Object.keys(t)) if (!['abs', 'rel', 'k', 'better'].includes(k)) fail(`${file}: tolerance.${m}.${k} is not one of abs, rel, k, better`);
      if (t.better !== undefined && t.better !== 'higher' && t.better !== 'lower') fail(`${file}: tolerance.${m}.better must be higher or lower`);
      tol = { better: (t.better as Tolerance['better']) ?? tol.better };
      for (const k of ['abs', 'rel', 'k'] as const) {
        if (t[k] !== undefined) tol[k] = typeof t[k] === 'number' && t[k] >= 0 ? t[k] : fail(`${file}: tolerance.${m}.${k} must be a number >= 0`);
      }
    } else fail(`${file}: tolerance.${m} must be a number (absolute), "N%" (relative) or {abs|rel|k, better}`);
    if (tol.abs === undefined && tol.rel === undefined && tol.k === undefined) fail(`${file}: tolerance.${m} needs abs, rel or k`);
    out[m] = tol;
  }
  return out;
}

function parseSeeds(value: unknown, file: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 2) return Array.from({ length: value }, (_, i) => i);
  if (Array.isArray(value) && value.length >= 2 && value.every((s) => Number.isInteger(s))) return value as number[];
  return fail(`${file}: "seeds" must be a count >= 2 or a list of at least two integer seeds (the runs a quality band is measured from)`);
}

function parseGate(value: unknown, dir: string, file: string): RelativeGate | undefined {
  if (value === undefined || value === null) return undefined;
  const d = typeof value === 'string' ? { mode: value } : isDict(value as ConfigValue) ? (value as ConfigDict) : fail(`${file}: "gate" must be relative or {mode: relative, repeats, reference, metrics}`);
  for (const k of Object.keys(d)) if (!['mode', 'repeats', 'reference', 'metrics'].includes(k)) fail(`${file}: gate.${k} is not one of mode, repeats, reference, metrics`);
  if (d.mode !== 'relative') fail(`${file}: gate mode "${String(d.mode)}" is not known; use relative`);
  const repeats = d.repeats ?? 3;
  if (typeof repeats !== 'number' || !Number.isInteger(repeats) || repeats < 3) fail(`${file}: gate.repeats must be a whole number >= 3 (medians of fewer runs are noise)`);
  const ref = (d.reference ?? {}) as ConfigDict;
  if (!isDict(ref)) fail(`${file}: gate.reference must be {bin, cfg_options}`);
  const bin = ref.bin;
  if (bin !== undefined && typeof bin !== 'string') fail(`${file}: gate.reference.bin must be the path of the reference ssl's bin/run.js`);
  const cfgOptions = ref.cfg_options === undefined ? [] : Array.isArray(ref.cfg_options) ? ref.cfg_options.map(String) : fail(`${file}: gate.reference.cfg_options must be a list of key=value`);
  if (bin === undefined && cfgOptions.length === 0) fail(`${file}: gate.reference needs bin (the baseline revision's bin/run.js) or cfg_options (the baseline config)`);
  const metrics = d.metrics === undefined ? ['images_per_s'] : Array.isArray(d.metrics) ? d.metrics.map(String) : fail(`${file}: gate.metrics must be a list`);
  for (const m of metrics) if (!METRICS[m]) fail(`${file}: gate metric "${m}" is unknown${didYouMean(m, Object.keys(METRICS))}`);
  return { repeats, referenceBin: bin === undefined ? undefined : resolveFrom(dir, bin), referenceCfgOptions: cfgOptions, metrics };
}

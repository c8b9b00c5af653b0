import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { loadConfig, type ConfigDict, type ConfigValue } from '../config/index.js';
import { isDict } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { CONSUMED_KEYS } from '../runner/config-keys.js';
import { nearest } from './did-you-mean.js';
import { formatValue } from './stages.js';
import type { SweepSpec, Trial } from './types.js';

const DIGEST_CHARS = 10;
/** Keys `ssl train` sets per run; they do not make two trials different. */
const RUN_LOCAL_KEYS = new Set(['work_dir', 'filename']);

type Combo = Record<string, ConfigValue>;

/** The matrix as a cross product, in key order (the last key varies fastest). */
export function crossProduct(matrix: Record<string, ConfigValue[]>): Combo[] {
  let combos: Combo[] = [{}];
  for (const [key, values] of Object.entries(matrix)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return combos;
}

const same = (a: ConfigValue, b: ConfigValue): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Whether a `config:` entry of include/exclude names this config (file name with or without extension, or a path suffix). */
function configMatches(pattern: ConfigValue, config: string): boolean {
  if (typeof pattern !== 'string') return false;
  const name = basename(config, extname(config));
  return pattern === name || pattern === basename(config) || config.endsWith(pattern.replace(/^\.\//, ''));
}

/**
 * Trials of the sweep: every config × the matrix's cross product, minus `exclude` entries (all their keys
 * match), plus `include` entries as in CI matrices (an entry whose matrix keys match existing combinations
 * adds its other keys to them; one that matches none is a trial of its own). A `config:` key restricts an
 * entry to that config. Each trial's keys are checked against the resolved config (did-you-mean).
 */
export function expandTrials(spec: SweepSpec, options: { replicas?: boolean } = {}): Trial[] {
  const matrixKeys = Object.keys(spec.matrix);
  const trials: Trial[] = [];
  const seen = new Set<string>();
  for (const config of spec.configs) {
    let combos = crossProduct(spec.matrix);
    combos = combos.filter((c) => !spec.exclude.some((ex) => Object.entries(ex).every(([k, v]) => (k === 'config' ? configMatches(v, config) : k in c && same(c[k]!, v)))));
    for (const inc of spec.include) {
      if (inc.config !== undefined && !configMatches(inc.config, config)) continue;
      const { config: _c, ...values } = inc;
      const shared = Object.keys(values).filter((k) => matrixKeys.includes(k));
      const extra = Object.fromEntries(Object.entries(values).filter(([k]) => !matrixKeys.includes(k)));
      const hits = shared.length > 0 ? combos.filter((c) => shared.every((k) => same(c[k]!, values[k]!))) : [];
      if (hits.length > 0) for (const h of hits) Object.assign(h, extra);
      else combos.push({ ...values });
    }
    const base = loadConfig(config);
    for (const combo of combos) {
      for (const key of Object.keys(combo)) checkKey(key, base, config);
      const resolved = loadConfig(config, { cfgOptions: combo });
      const baseId = digest({ cfg: resolved, stages: spec.stages.map((s) => (s.config ? [s.name, s.args, loadConfig(s.config)] : [s.name, s.args])) });
      const label = [basename(config, extname(config)), ...Object.entries(combo).map(([k, v]) => `${k}=${formatValue(v)}`)].join(' ');
      const seeds = spec.seeds ? (options.replicas ? spec.seeds : spec.seeds.slice(0, 1)) : [undefined];
      for (const [i, seed] of seeds.entries()) {
        const id = i === 0 ? baseId : `${baseId}-s${seed}`;
        if (seen.has(id)) continue; // an include that repeats a combination
        seen.add(id);
        trials.push({ id, config, overrides: combo, label: seed === undefined ? label : `${label} seed=${seed}`, seed, replicaOf: spec.seeds ? baseId : undefined });
      }
    }
  }
  if (trials.length === 0) throw new ConfigError(`${spec.file}: the matrix and exclude leave no trial to run`, { code: 'SWEEP_SPEC' });
  return trials;
}

/** A matrix key must name a key of the resolved config (or a top-level key ssl train reads): a typo would silently add a key no component reads. */
function checkKey(key: string, cfg: ConfigDict, config: string): void {
  const parts = key.split('.');
  if (parts.length === 1 && CONSUMED_KEYS[key] !== undefined) return;
  let node: ConfigValue = cfg;
  for (const part of parts) {
    const container: ConfigValue = node;
    const next: ConfigValue | undefined = isDict(container) ? container[part] : Array.isArray(container) && /^\d+$/.test(part) ? container[Number(part)] : undefined;
    if (next === undefined) {
      const near = nearest(key, flatKeys(cfg).filter((k) => k.split('.').length === parts.length));
      const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
      throw new ConfigError(`matrix key "${key}" is not in the resolved config of ${basename(config)}${hint}`, { code: 'SWEEP_MATRIX_KEY', suggestions: near });
    }
    node = next;
  }
}


function flatKeys(node: ConfigValue, prefix = ''): string[] {
  if (!isDict(node)) return [];
  return Object.entries(node).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return [key, ...flatKeys(v, key)];
  });
}

/** Short stable digest of a JSON value (object keys sorted; per-run keys left out). */
export function digest(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex').slice(0, DIGEST_CHARS);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v as object).filter((k) => !RUN_LOCAL_KEYS.has(k)).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v === undefined ? null : v);
}

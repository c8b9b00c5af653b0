import { ConfigError } from '../errors.js';
import { buildDataset } from '../data/index.js';
import { evenlySpaced, SubsetDataset } from '../data/datasets/wrappers.js';
import type { Dataset } from '../data/index.js';
import { checkArgs } from '../registry/index.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { extractFeatureSets } from './extract-features.js';
import { knnClassify, knnDatasets, knnFeatureHead, type FeatureBank } from './knn.js';

type Cfg = Record<string, unknown>;

/** `evaluation = dict(type='knn', ...)`: the hook's own keys (interval, start, by_epoch, save_best, rule) and the kNN's. */
export const KNN_MONITOR_ARGS = ['type', 'interval', 'start', 'by_epoch', 'save_best', 'rule', 'k', 'temperature', 'data'] as const;
const DATA_ARGS = ['train', 'val', 'samples_per_gpu', 'num_train', 'num_val'] as const;

/** Default bank and query sizes: a Fashion-MNIST-sized split costs a few percent of an epoch at these (benchmarks/knn-monitor.ts). */
export const DEFAULT_NUM_TRAIN = 10_000;
export const DEFAULT_NUM_VAL = 2_000;

export interface KnnMonitorSettings {
  k: number;
  temperature: number;
  batchSize: number;
  train: Cfg;
  val: Cfg;
  /** Bank / query images taken evenly spaced from their splits; `null` = the whole split. */
  numTrain: number | null;
  numVal: number | null;
}

function count(v: unknown, name: string, fallback: number, where: string): number | null {
  if (v === undefined) return fallback;
  if (v === null || v === -1) return null;
  if (!Number.isInteger(v) || (v as number) < 1) throw new ConfigError(`evaluation.data.${name} must be a positive integer (or null for the whole split), got ${JSON.stringify(v)}${where}`);
  return v as number;
}

/**
 * Reads `evaluation = dict(type='knn', k, temperature, data=dict(train, val, samples_per_gpu, num_train, num_val))`;
 * what is not given comes from the config's `knn` section (as `ssl eval knn` reads it), then kNN's defaults
 * (k 20, T 0.07, the un-augmented train source as bank and its test split as queries).
 */
export function knnMonitorSettings(cfg: Cfg, where = ''): KnnMonitorSettings {
  const ev = (cfg.evaluation ?? {}) as Cfg;
  try {
    checkArgs('evaluation (type knn)', ev, KNN_MONITOR_ARGS);
    checkArgs('evaluation.data', (ev.data ?? {}) as Cfg, DATA_ARGS);
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}${where}`, { code: 'UNKNOWN_ARGUMENT' });
  }
  const data = (ev.data ?? {}) as Cfg;
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`evaluation.data must be a dict (train, val, samples_per_gpu, num_train, num_val)${where}`);
  if (Boolean(data.train) !== Boolean(data.val)) throw new ConfigError(`evaluation.data needs both train (the bank) and val (the queries), or neither${where}`);
  const knn = (cfg.knn ?? {}) as Cfg;
  const ds = data.train ? { train: data.train as Cfg, val: data.val as Cfg } : knnDatasets(cfg);
  const k = (ev.k ?? knn.k ?? 20) as number;
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`evaluation.k must be a positive integer, got ${JSON.stringify(ev.k)}${where}`);
  const temperature = (ev.temperature ?? knn.temperature ?? 0.07) as number;
  if (typeof temperature !== 'number' || !(temperature > 0)) throw new ConfigError(`evaluation.temperature must be a positive number, got ${JSON.stringify(ev.temperature)}${where}`);
  const batchSize = (data.samples_per_gpu ?? knn.samples_per_gpu ?? 256) as number;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`evaluation.data.samples_per_gpu must be a positive integer, got ${JSON.stringify(data.samples_per_gpu)}${where}`);
  return {
    k,
    temperature,
    batchSize,
    train: ds.train,
    val: ds.val,
    numTrain: count(data.num_train, 'num_train', DEFAULT_NUM_TRAIN, where),
    numVal: count(data.num_val, 'num_val', DEFAULT_NUM_VAL, where),
  };
}

async function subset(cfg: Cfg, num: number | null): Promise<Dataset> {
  const d = await buildDataset(cfg);
  return num === null || num >= d.length ? d : new SubsetDataset(d, evenlySpaced(d.length, num));
}

/** The bank and query images the monitor scores: its splits, cut to their evenly spaced subsets. */
export async function knnMonitorDatasets(s: KnnMonitorSettings): Promise<{ train: Dataset; val: Dataset }> {
  return { train: await subset(s.train, s.numTrain), val: await subset(s.val, s.numVal) };
}

/** The L2-normalised, globally pooled last-stage features of `dataset` (eval mode, in order): `ssl eval knn`'s features. */
export async function monitorFeatures(model: BaseAlgorithm, dataset: Dataset, batchSize: number): Promise<FeatureBank> {
  const { sets, labels, n } = await extractFeatureSets(model, dataset, knnFeatureHead, { batchSize });
  return { feats: sets[0].feats, labels, n, dim: sets[0].dim };
}

/**
 * The online kNN monitor's evaluation (what solo-learn and lightly run during pre-training; MMSelfSup 0.x has
 * none): features of the bank and query subsets with the current weights, weighted kNN (`knnClassify`, the
 * code `ssl eval knn` runs), `knn.top1` / `knn.top5` in percent. The datasets are built once, at set-up, on
 * rank 0 (the only rank that evaluates; the settings are checked on every rank).
 */
export async function knnMonitorEvaluator(model: BaseAlgorithm, cfg: Cfg, o: { source?: string; log?: (m: string) => void; rank?: number } = {}): Promise<{ evaluate: () => Promise<{ results: Record<string, number>; batches: number }>; settings: KnnMonitorSettings }> {
  const where = o.source ? ` (in ${o.source})` : '';
  const settings = knnMonitorSettings(cfg, where);
  if ((o.rank ?? 0) !== 0) return { evaluate: async () => { throw new Error('the kNN monitor evaluates on rank 0 only'); }, settings };
  const { train, val } = await knnMonitorDatasets(settings);
  o.log?.(`kNN monitor: bank ${train.length} images, queries ${val.length}, k ${settings.k}, T ${settings.temperature}`);
  const evaluate = async () => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const wasTraining = model.training;
    model.eval();
    try {
      const bank = await monitorFeatures(model, train, settings.batchSize);
      const queries = await monitorFeatures(model, val, settings.batchSize);
      const r = knnClassify(bank, queries, settings.k, settings.temperature);
      const cpu = process.cpuUsage(cpu0);
      // CPU time as well as wall time: on a shared machine the wall time says more about the load than the monitor
      o.log?.(`kNN monitor: ${bank.n} + ${queries.n} images in ${((performance.now() - t0) / 1000).toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)`);
      return { results: { 'knn.top1': r.top1, 'knn.top5': r.top5 }, batches: Math.ceil(queries.n / settings.batchSize) };
    } finally {
      model.train(wasTraining);
    }
  };
  return { evaluate, settings };
}

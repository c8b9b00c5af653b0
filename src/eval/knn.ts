import { ConfigError } from '../errors.js';
import type { DistContext } from '../dist/trainer-context.js';
import { buildDataset } from '../data/index.js';
import { tf, type Tensor } from '../engine/tf.js';
import { globalAvgPool, l2Normalize } from '../models/ops.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { loadEvalModel } from './eval-model.js';
import { extractFeatureSets } from './extract-features.js';

type Cfg = Record<string, unknown>;

/** Labelled, L2-normalised features: `feats` row-major `[n, dim]`. */
export interface FeatureBank {
  feats: Float32Array;
  labels: Int32Array;
  n: number;
  dim: number;
}

export interface KnnResult {
  k: number;
  temperature: number;
  top1: number;
  top5: number;
  numTrain: number;
  numVal: number;
  seconds: number;
}

/**
 * Weighted kNN (Wu et al. 2018; MMSelfSup/DINO `knn_classifier`): for each query the k most
 * cosine-similar bank features vote for their label with weight exp(sim / T); top-1/top-5 in percent.
 */
export function knnClassify(bank: FeatureBank, queries: FeatureBank, k: number, temperature: number, numClasses?: number, chunk = 256): { top1: number; top5: number } {
  const classes = numClasses ?? Math.max(...bank.labels, ...queries.labels) + 1;
  const kk = Math.min(k, bank.n);
  let top1 = 0;
  let top5 = 0;
  const bankT = tf.tidy(() => tf.transpose(tf.tensor2d(bank.feats, [bank.n, bank.dim])));
  try {
    for (let start = 0; start < queries.n; start += chunk) {
      const rows = Math.min(chunk, queries.n - start);
      const { values, indices } = tf.tidy(() => {
        const q = tf.tensor2d(queries.feats.subarray(start * queries.dim, (start + rows) * queries.dim), [rows, queries.dim]);
        return tf.topk(tf.matMul(q, bankT), kk, true);
      });
      const sims = values.dataSync();
      const idx = indices.dataSync();
      values.dispose();
      indices.dispose();
      for (let r = 0; r < rows; r++) {
        const votes = new Float64Array(classes);
        for (let j = 0; j < kk; j++) votes[bank.labels[idx[r * kk + j]]] += Math.exp(sims[r * kk + j] / temperature);
        const order = Array.from(votes.keys()).sort((a, b) => votes[b] - votes[a] || a - b);
        const target = queries.labels[start + r];
        if (order[0] === target) top1++;
        if (order.slice(0, Math.min(5, kk)).includes(target)) top5++;
      }
    }
  } finally {
    bankT.dispose();
  }
  return { top1: (top1 * 100) / queries.n, top5: (top5 * 100) / queries.n };
}

/** kNN's feature of a batch: the last backbone output, globally average-pooled and L2-normalised. */
export function knnFeatureHead(outs: Tensor[]): Tensor[] {
  const g = globalAvgPool(outs[outs.length - 1]);
  return [l2Normalize(tf.reshape(g, [g.shape[0], -1]))];
}

/** Global-average-pooled, L2-normalised last backbone output of every image of `datasetCfg` (eval mode, in order). */
export async function extractFeatures(model: BaseAlgorithm, datasetCfg: Cfg, batchSize: number, log: (m: string) => void = () => {}, dist?: DistContext): Promise<FeatureBank> {
  const dataset = await buildDataset(datasetCfg);
  const { sets, labels, n } = await extractFeatureSets(model, dataset, knnFeatureHead, { batchSize, log, dist });
  return { feats: sets[0].feats, labels, n, dim: sets[0].dim };
}

/** kNN datasets: `cfg.knn.{train,val}`, else un-augmented copies of `data.train`'s source (val: `test_mode`). */
export function knnDatasets(cfg: Cfg): { train: Cfg; val: Cfg } {
  const knn = (cfg.knn ?? {}) as Cfg;
  if (knn.train && knn.val) return { train: knn.train as Cfg, val: knn.val as Cfg };
  const train = ((cfg.data as Cfg | undefined)?.train ?? {}) as Cfg;
  const source = train.data_source as Cfg | undefined;
  if (!source) throw new ConfigError('kNN needs knn.train/knn.val datasets or a data.train.data_source in the config');
  const pipes = (train.pipelines as Cfg[][] | undefined)?.[0] ?? (train.pipeline as Cfg[] | undefined) ?? [];
  const normalize = pipes.filter((p) => p.type === 'Normalize').at(-1);
  const pipeline = [{ type: 'ToTensor' }, ...(normalize ? [normalize] : [])];
  return {
    train: { type: 'SingleViewDataset', data_source: source, pipeline },
    // the synthetic source has no splits: another seed draws a disjoint-by-chance query set
    val: { type: 'SingleViewDataset', data_source: source.type === 'SyntheticShapes' ? { ...source, seed: ((source.seed as number) ?? 0) + 1 } : { ...source, test_mode: true }, pipeline },
  };
}

export interface KnnOptions {
  checkpoint?: string;
  k?: number;
  temperature?: number;
  backend?: string;
  seed?: number;
  threads?: number;
  /** S3 endpoint for an s3:// checkpoint. */
  s3Endpoint?: string;
  log?: (m: string) => void;
  /** Several ranks (a launcher's job): each extracts its share of both splits, rank 0 classifies. */
  dist?: DistContext;
}

/**
 * `ssl eval knn`: builds the config's model (random init with `seed` when no checkpoint: the
 * baseline), extracts bank (train) and query (val) features, and reports weighted kNN accuracy.
 * With `o.dist` of several ranks the extraction is data-parallel and only rank 0 classifies: the
 * other ranks resolve to null.
 */
export async function evaluateKnn(cfg: Cfg, o: KnnOptions & { dist: DistContext }): Promise<KnnResult | null>;
export async function evaluateKnn(cfg: Cfg, o: KnnOptions): Promise<KnnResult>;
export async function evaluateKnn(cfg: Cfg, o: KnnOptions): Promise<KnnResult | null> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const model = await loadEvalModel(cfg, { checkpoint: o.checkpoint, backend: o.backend, seed: o.seed, threads: o.threads, s3Endpoint: o.s3Endpoint, log });
  const knn = (cfg.knn ?? {}) as Cfg;
  const k = o.k ?? (knn.k as number | undefined) ?? 20;
  const temperature = o.temperature ?? (knn.temperature as number | undefined) ?? 0.07;
  const bs = (knn.samples_per_gpu as number | undefined) ?? 256;
  const ds = knnDatasets(cfg);
  const bank = await extractFeatures(model, ds.train, bs, log, o.dist);
  log(`train features: ${bank.n} x ${bank.dim}`);
  const queries = await extractFeatures(model, ds.val, bs, log, o.dist);
  log(`val features: ${queries.n} x ${queries.dim}`);
  model.dispose();
  if ((o.dist?.rank ?? 0) !== 0) return null;
  const { top1, top5 } = knnClassify(bank, queries, k, temperature);
  return { k, temperature, top1, top5, numTrain: bank.n, numVal: queries.n, seconds: (performance.now() - t0) / 1000 };
}


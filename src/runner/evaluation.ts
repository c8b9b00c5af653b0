import { ConfigError } from '../errors.js';
import { buildDataLoader, buildDataset } from '../data/index.js';
import { tf } from '../engine/tf.js';
import { extractFeatures, knnClassify, knnDatasets } from '../eval/knn.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { Classification } from '../models/algorithms/classification.js';
import type { TrainLoader } from './types.js';

type Cfg = Record<string, unknown>;

/** One evaluation pass: metric name -> value (percent), and the number of batches it read (`eval_iter_num`). */
export interface Evaluation {
  results: Record<string, number>;
  batches: number;
}

export type Evaluator = () => Promise<Evaluation>;

/** Percent of rows whose label is among the top-k scores, for each k (MMSelfSup SingleViewDataset.evaluate). */
export function topkCorrect(scores: Float32Array, numClasses: number, labels: ArrayLike<number>, topk: number[]): number[] {
  const n = labels.length;
  const correct = topk.map(() => 0);
  for (let r = 0; r < n; r++) {
    const row = scores.subarray(r * numClasses, (r + 1) * numClasses);
    const target = row[labels[r]];
    // rank of the target: classes scoring higher (ties before it count as higher when earlier, as torch.topk's order)
    let rank = 0;
    for (let c = 0; c < numClasses; c++) if (row[c] > target || (row[c] === target && c < labels[r])) rank++;
    topk.forEach((k, i) => {
      if (rank < k) correct[i]++;
    });
  }
  return correct;
}

/** Batches to score: `data.val` as images, or its cached pooled features (linear evaluation's fast path). */
export interface ValBatches {
  /** Images in the split (the loader may pad the last batch). */
  n: number;
  loader: TrainLoader;
}

/**
 * Top-k accuracy of every head of a `Classification` model on `val` (MMSelfSup's `SingleViewDataset.evaluate`
 * of `forward_test`): `head<out_index>_top<k>`, in percent, e.g. `head4_top1`, or `head0_top1` .. `head4_top1`
 * for a MultiClsHead over out_indices 0..4.
 */
export function classificationEvaluator(model: Classification, val: ValBatches, topk: number[], where = ''): Evaluator {
  return async () => {
    const correct = new Map<string, number[]>();
    let n = 0;
    let batches = 0;
    const wasTraining = model.training;
    model.eval();
    try {
      for await (const batch of val.loader.epoch(0)) {
        if (!batch.labels) throw new ConfigError(`evaluation needs labels: data.val yields none${where}`);
        const take = Math.min(batch.labels.length, val.n - n);
        const outs = tf.tidy(() => model.forwardTest(batch.views.map((v) => tf.tensor(v.data, [...v.shape], 'float32'))));
        for (const [name, scores] of Object.entries(outs)) {
          const classes = scores.shape[1] as number;
          const s = (await scores.data()) as Float32Array;
          scores.dispose();
          const c = topkCorrect(s.subarray(0, take * classes), classes, batch.labels.subarray(0, take), topk);
          const acc = correct.get(name) ?? topk.map(() => 0);
          c.forEach((x, i) => (acc[i] += x));
          correct.set(name, acc);
        }
        n += take;
        batches++;
      }
    } finally {
      model.train(wasTraining);
    }
    const results: Record<string, number> = {};
    for (const [name, acc] of correct) topk.forEach((k, i) => (results[`${name}_top${k}`] = (acc[i] * 100) / n));
    return { results, batches };
  };
}

/**
 * The evaluation `evaluation = dict(...)` runs (MMSelfSup 0.x): a `Classification` model is scored on
 * `data.val` (top-k accuracy per head, `head<out_index>_top<k>`, as MMSelfSup names them); a self-supervised one by
 * weighted kNN on its backbone features (`knn` settings and datasets as `ssl eval knn`: `knn_top1`, `knn_top5`).
 * `val` replaces `data.val`'s images (the feature cache).
 */
export async function buildEvaluator(model: BaseAlgorithm, cfg: Cfg, o: { topk: number[]; log: (m: string) => void; source?: string; val?: ValBatches }): Promise<{ evaluate: Evaluator; close: () => Promise<void> }> {
  const where = o.source ? ` in ${o.source}` : '';
  const data = (cfg.data ?? {}) as Cfg;
  if (model instanceof Classification) {
    if (o.val) return { evaluate: classificationEvaluator(model, o.val, o.topk, where), close: async () => {} };
    if (!data.val) throw new ConfigError(`evaluation of a Classification model needs data.val (the labelled validation dataset)${where}`);
    const dataset = await buildDataset(data.val as Cfg);
    const bs = (data.samples_per_gpu as number | undefined) ?? (data.imgs_per_gpu as number | undefined) ?? 32;
    const loader = buildDataLoader(dataset, { samplesPerGpu: bs, shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1, log: o.log });
    return { evaluate: classificationEvaluator(model, { n: dataset.length, loader: loader as unknown as TrainLoader }, o.topk, where), close: () => loader.close() };
  }
  const knn = (cfg.knn ?? {}) as Cfg;
  const ds = knnDatasets(cfg);
  const k = (knn.k as number | undefined) ?? 20;
  const temperature = (knn.temperature as number | undefined) ?? 0.07;
  const bs = (knn.samples_per_gpu as number | undefined) ?? 256;
  const evaluate: Evaluator = async () => {
    const wasTraining = model.training;
    model.eval();
    try {
      const bank = await extractFeatures(model, ds.train, bs);
      const queries = await extractFeatures(model, ds.val, bs);
      const r = knnClassify(bank, queries, k, temperature);
      return { results: { knn_top1: r.top1, knn_top5: r.top5 }, batches: Math.ceil(queries.n / bs) };
    } finally {
      model.train(wasTraining);
    }
  };
  return { evaluate, close: async () => {} };
}

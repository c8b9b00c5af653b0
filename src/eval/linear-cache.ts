import { tf } from '../engine/tf.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { Classification } from '../models/algorithms/classification.js';
import type { DistContext } from '../dist/trainer-context.js';
import type { ValBatches } from '../runner/evaluation.js';
import type { TrainLoader } from '../runner/types.js';
import { extractPooled, featureCacheKey, FeatureLoader, readFeatureCache, whyNotCacheable, writeFeatureCache, type PooledFeatures } from './feature-cache.js';

type Cfg = Record<string, unknown>;

export interface FastPath {
  /** Absent when the run must go end to end. */
  train?: TrainLoader;
  val?: ValBatches;
  /** One line for the log and the eval result: `hit <keys>`, `written <keys>`, `not used: <why>`. */
  note: string;
}

/** Every rank agrees (a sum over ranks) whether all of them found the file. */
async function allHave(dist: DistContext, have: boolean): Promise<boolean> {
  if (dist.worldSize === 1) return have;
  const t = tf.scalar(have ? 1 : 0);
  const s = await dist.allReduce(t, 'sum');
  const v = (await s.data())[0];
  t.dispose();
  s.dispose();
  return v === dist.worldSize;
}

async function features(model: Classification, headCfg: Cfg, dsCfg: Cfg, split: string, o: { dir: string; bs: number; dist: DistContext; log: (m: string) => void }): Promise<{ f: PooledFeatures; hit: boolean; key: string }> {
  const key = `${split}-${featureCacheKey(model, headCfg, dsCfg)}`;
  const found = readFeatureCache(o.dir, key);
  if (await allHave(o.dist, found !== undefined)) {
    o.log(`feature cache: ${split} features read from ${o.dir}/${key}.feat (${found!.n} images)`);
    return { f: found!, hit: true, key };
  }
  const t0 = performance.now();
  const f = await extractPooled(model, dsCfg, o.bs, o.dist, o.log);
  const s = (performance.now() - t0) / 1000;
  if (o.dist.rank === 0) writeFeatureCache(o.dir, key, f);
  o.log(`feature cache: extracted ${split} features of ${f.n} images in ${s.toFixed(1)} s (${(f.n / s).toFixed(1)} images/s over ${o.dist.worldSize} process${o.dist.worldSize > 1 ? 'es' : ''}), written to ${o.dir}/${key}.feat`);
  return { f, hit: false, key };
}

/**
 * Linear evaluation's fast path (beyond MMSelfSup): when the backbone is frozen and `data.train`'s pipeline
 * is the same every epoch, the head's inputs never change, so they are computed once per (weights, data,
 * pipeline) and kept in `dir`; the model then trains its head on them (`pooledInputs`), in the image
 * loader's batch order. Without loaders (and logging why) when the run must go end to end.
 */
export async function prepareFeatureCache(
  model: BaseAlgorithm,
  cfg: Cfg,
  o: { dir: string; seed: number; dist: DistContext; loadFrom?: string | null; log: (m: string) => void },
): Promise<FastPath> {
  const workflow = (cfg.workflow as [string, number][] | undefined) ?? [];
  const why =
    whyNotCacheable(model, cfg) ??
    (o.loadFrom ? 'load_from sets the weights after the features would be extracted' : undefined) ??
    (workflow.some(([m]) => m === 'val') ? "the workflow has a ('val', n) entry" : undefined);
  if (why || !(model instanceof Classification)) {
    o.log(`feature cache: not used (end to end): ${why}`);
    return { note: `not used: ${why}` };
  }
  const data = cfg.data as Cfg;
  const headCfg = (cfg.model as Cfg).head as Cfg;
  const bs = (data.samples_per_gpu as number | undefined) ?? 32;
  const opts = { dir: o.dir, bs, dist: o.dist, log: o.log };
  const train = await features(model, headCfg, data.train as Cfg, 'train', opts);
  const val = await features(model, headCfg, data.val as Cfg, 'val', opts);
  model.pooledInputs = true;
  const { rank, worldSize } = o.dist;
  return {
    train: new FeatureLoader(train.f, bs, { shuffle: true, dropLast: (data.drop_last as boolean) ?? false, seed: o.seed, rank, worldSize }),
    val: { n: val.f.n, loader: new FeatureLoader(val.f, bs, { shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1 }) },
    note: train.hit && val.hit ? `hit ${train.key}, ${val.key}` : `written ${train.key}, ${val.key}`,
  };
}

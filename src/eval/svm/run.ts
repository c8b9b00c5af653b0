import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { DistContext } from '../../dist/trainer-context.js';
import { buildDataset } from '../../data/index.js';
import type { Tensor, Tensor4D } from '../../engine/tf.js';
import { flattenChw } from '../../models/heads/multi-cls-head.js';
import { MultiPooling } from '../../models/heads/multi-pooling.js';
import { globalAvgPool } from '../../models/ops.js';
import { loadEvalModel } from '../eval-model.js';
import { extractFeatureSets } from '../extract-features.js';
import { knnDatasets } from '../knn.js';
import { writeNpy } from '../npy.js';
import { evalResultPath, fileSha256, writeEvalResult, type EvalResult } from '../result.js';
import { DEFAULT_COSTS, normalizeFeatures, svmFull, svmLowShot, type SvmSplit } from './protocol.js';
import { readVocClassification } from './voc.js';

type Cfg = Record<string, unknown>;

const RESNET50_CHANNELS = [64, 256, 512, 1024, 2048];
/** MMSelfSup's svm_voc07.py pipeline. */
const VOC_PIPELINE = [
  { type: 'Resize', size: 256 },
  { type: 'Resize', size: [224, 224] },
  { type: 'ToTensor' },
  { type: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
];

export interface SvmOptions {
  checkpoint?: string;
  /** feat1 .. feat5 (backbone out_index 0 .. 4). */
  features?: string;
  lowShot?: boolean;
  costs?: number[];
  /** A VOC2007 tree (JPEGImages, ImageSets/Main): trainval to train, test to test. */
  voc?: string;
  /** Use only the first N training images (quick numbers on large splits). */
  trainLimit?: number;
  /** Also write the pooled features (before normalisation) and targets to WORK_DIR/eval/svm/{trainval,test}_{feat,targets}.npy. */
  saveFeatures?: boolean;
  kValues?: number[];
  samples?: number;
  seed?: number;
  backend?: string;
  threads?: number;
  workDir: string;
  /** Where the result goes (default `WORK_DIR/eval/svm.json`, `svm-lowshot.json` with the low-shot protocol). */
  resultPath?: string;
  config: string;
  log?: (m: string) => void;
  /** Several ranks (a launcher's job): each extracts its share of the images, rank 0 trains the SVMs and writes the result. */
  dist?: DistContext;
}

/** `feat<k>` -> backbone out_index k-1, checked against what the backbone has. */
export function featureIndex(name: string, stages: number): number {
  const m = /^feat(\d+)$/.exec(name);
  const idx = m ? Number(m[1]) - 1 : -1;
  if (idx < 0 || idx > stages) throw new ConfigError(`--features ${name} is not a feature this backbone produces; choose one of ${Array.from({ length: stages + 1 }, (_, i) => `feat${i + 1}`).join(', ')}`);
  return idx;
}

/** One-vs-rest targets of a single-label dataset: 1 for its class, 0 for every other. */
function oneVsRest(labels: Int32Array, classes: number): Int8Array {
  const t = new Int8Array(labels.length * classes);
  labels.forEach((l, i) => (t[i * classes + l] = 1));
  return t;
}

/**
 * MMSelfSup's SVM benchmark (tools/benchmarks/classification/svm_voc07): features of one backbone stage
 * (`feat1`..`feat5`, pooled as MMSelfSup's extractor does: `specified` MultiPooling for ResNet-50 stages, global
 * average pooling for other widths), L2-normalised, then linear SVMs one-vs-rest per class (full protocol or low-shot).
 * With `o.dist` of several ranks the extraction is data-parallel and only rank 0 trains and writes: the other ranks resolve to null.
 */
export async function evaluateSvm(cfg: Cfg, o: SvmOptions & { dist: DistContext }): Promise<{ result: EvalResult; path: string } | null>;
export async function evaluateSvm(cfg: Cfg, o: SvmOptions): Promise<{ result: EvalResult; path: string }>;
export async function evaluateSvm(cfg: Cfg, o: SvmOptions): Promise<{ result: EvalResult; path: string } | null> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const costs = o.costs ?? DEFAULT_COSTS;
  if (costs.length === 0) throw new ConfigError('the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
  const modelCfg = structuredClone(cfg.model) as Cfg;
  const backboneCfg = (modelCfg?.backbone ?? {}) as Cfg;
  const stages = typeof backboneCfg.num_stages === 'number' ? backboneCfg.num_stages : 4;
  if (!/ResNet|ResNeXt/.test(String(backboneCfg.type))) throw new ConfigError(`SVM features feat1..feat5 are ResNet stages; the config's backbone is ${String(backboneCfg.type)}`);
  const idx = featureIndex(o.features ?? 'feat5', stages);
  backboneCfg.out_indices = [idx];
  const model = await loadEvalModel({ ...cfg, model: modelCfg }, { checkpoint: o.checkpoint, backend: o.backend, seed: o.seed ?? 0, threads: o.threads, log });
  const rank = o.dist?.rank ?? 0;
  const channels = (model.backbone as unknown as { outChannels?: number[] }).outChannels?.[0];
  const specified = channels === RESNET50_CHANNELS[idx] && backboneCfg.depth === 50;
  const pool = specified ? new MultiPooling('specified', [idx], 'resnet50') : undefined;
  log(`features: ${o.features ?? 'feat5'} (${specified ? "MultiPooling 'specified', resnet50" : 'global average pooling'})`);

  const head = (outs: Tensor[]): Tensor[] => [flattenChw(pool ? pool.forward([outs[0] as Tensor4D])[0] : globalAvgPool(outs[0]))];
  const extract = async (datasetCfg: Cfg, limit?: number): Promise<{ x: Float32Array; n: number; dim: number; labels: Int32Array }> => {
    const dataset = await buildDataset(datasetCfg);
    const { sets, labels, n } = await extractFeatureSets(model, dataset, head, { batchSize: 64, log, dist: o.dist });
    const take = Math.min(n, limit ?? Infinity);
    return { x: sets[0].feats.subarray(0, take * sets[0].dim), n: take, dim: sets[0].dim, labels: labels.subarray(0, take) };
  };

  let train: SvmSplit;
  let test: SvmSplit;
  // the pooled features before normalisation, for --save-features
  const raw: { train?: { x: Float32Array; n: number; dim: number; targets: Int8Array; classes: number }; test?: { x: Float32Array; n: number; dim: number; targets: Int8Array; classes: number } } = {};
  const svmDir = join(o.workDir, 'eval', 'svm');
  if (o.voc) {
    const splits = [readVocClassification(o.voc, 'trainval'), readVocClassification(o.voc, 'test')];
    mkdirSync(svmDir, { recursive: true });
    const out: SvmSplit[] = [];
    for (const s of splits) {
      const list = join(svmDir, `voc07_${s.split}.txt`);
      // label 0 is a placeholder: the SVM targets come from the class files; every rank reads rank 0's list
      if (rank === 0) writeFileAtomic(list, `${s.ids.map((id) => `${id}.jpg 0`).join('\n')}\n`);
      await o.dist?.barrier();
      const f = await extract({ type: 'SingleViewDataset', data_source: { type: 'ImageList', data_prefix: join(o.voc!, 'JPEGImages'), ann_file: list }, pipeline: VOC_PIPELINE }, s.split === 'trainval' ? o.trainLimit : undefined);
      const targets = s.targets.subarray(0, f.n * s.classes.length);
      raw[s.split === 'trainval' ? 'train' : 'test'] = { x: f.x, n: f.n, dim: f.dim, targets, classes: s.classes.length };
      out.push({ x: normalizeFeatures(f.x, f.n, f.dim), n: f.n, dim: f.dim, targets, classes: s.classes });
    }
    [train, test] = out;
  } else {
    const svm = (cfg.svm ?? {}) as Cfg;
    const ds = svm.train && svm.val ? { train: svm.train as Cfg, val: svm.val as Cfg } : knnDatasets(cfg);
    const tr = await extract(ds.train, o.trainLimit);
    const te = await extract(ds.val);
    const classes = Math.max(...tr.labels, ...te.labels) + 1;
    const names = Array.from({ length: classes }, (_, c) => `class${c}`);
    train = { x: normalizeFeatures(tr.x, tr.n, tr.dim), n: tr.n, dim: tr.dim, targets: oneVsRest(tr.labels, classes), classes: names };
    test = { x: normalizeFeatures(te.x, te.n, te.dim), n: te.n, dim: te.dim, targets: oneVsRest(te.labels, classes), classes: names };
    raw.train = { x: tr.x, n: tr.n, dim: tr.dim, targets: train.targets, classes };
    raw.test = { x: te.x, n: te.n, dim: te.dim, targets: test.targets, classes };
  }
  if (o.saveFeatures && rank === 0) {
    mkdirSync(svmDir, { recursive: true });
    for (const [name, s] of [['trainval', raw.train], ['test', raw.test]] as const) {
      writeNpy(join(svmDir, `${name}_feat.npy`), s!.x, [s!.n, s!.dim]);
      writeNpy(join(svmDir, `${name}_targets.npy`), s!.targets, [s!.n, s!.classes]);
    }
    log(`features and targets -> ${svmDir}/{trainval,test}_{feat,targets}.npy`);
  }
  if (rank !== 0) {
    model.dispose();
    return null;
  }
  log(`SVM on ${train.n} train / ${test.n} test images, ${train.dim}-d features, ${train.classes.length} classes, costs ${costs.join(',')} + 0.5^4..0.5^19`);
  model.dispose();

  const feat = o.features ?? 'feat5';
  const common = { config: o.config, checkpoint: o.checkpoint ?? null, checkpoint_sha256: await fileSha256(o.checkpoint), world_size: o.dist?.worldSize ?? 1, features: feat, costs };
  let result: EvalResult;
  if (o.lowShot) {
    const rows = svmLowShot(train, test, costs, { kValues: o.kValues, samples: o.samples, seed: o.seed ?? 0, log });
    const last = rows.at(-1)!;
    result = {
      name: 'svm-lowshot', metric: `mAP_k${last.k}`, value: last.mean, results: { low_shot: rows, seed: o.seed ?? 0 },
      wall_seconds: (performance.now() - t0) / 1000, created: new Date().toISOString(), ...common,
    };
  } else {
    const r = svmFull(train, test, costs, log);
    result = {
      name: 'svm', metric: 'mAP', value: r.mAP, results: { mAP: r.mAP, per_class: r.perClass },
      wall_seconds: (performance.now() - t0) / 1000, created: new Date().toISOString(), ...common,
    };
  }
  const path = writeEvalResult(o.resultPath ?? evalResultPath(o.workDir, result.name), result);
  return { result, path };
}

function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

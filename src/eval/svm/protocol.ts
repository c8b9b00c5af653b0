import { ConfigError } from '../../errors.js';
import { Rng } from '../../data/rng.js';
import { sklearnAp, vocAp } from './average-precision.js';
import { decisionFunction, trainLinearSvc } from './linear-svc.js';

/** Features of one split and their VOC-style targets: `t[i * classes + c]` is 1 (present), 0 (absent) or -1 (difficult: ignored in testing). */
export interface SvmSplit {
  x: Float64Array;
  n: number;
  dim: number;
  targets: Int8Array;
  classes: string[];
}

/** MMSelfSup's `eval_svm_full.sh` / `eval_svm_lowshot.sh` costs. */
export const DEFAULT_COSTS = [1.0, 10.0, 100.0];
export const LOW_SHOT_K = [1, 2, 4, 8, 16, 32, 64, 96];
export const LOW_SHOT_SAMPLES = 5;
/** `LinearSVC` as MMSelfSup's train_svm_kfold.py / train_svm_low_shot.py build it. */
const SVC = { positiveWeight: 2, interceptScaling: 1, tol: 1e-4, maxIter: 2000 };

/** `svm_helper.parse_cost_list`: the given costs, then 0.5^4 .. 0.5^19. @throws ConfigError for an empty list. */
export function parseCostList(costs: number[]): number[] {
  if (costs.length === 0) throw new ConfigError('the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
  for (const c of costs) if (!(c > 0) || !Number.isFinite(c)) throw new ConfigError(`SVM costs must be positive numbers, got ${c}`);
  return [...costs, ...Array.from({ length: 16 }, (_, i) => 0.5 ** (i + 4))];
}

/** `svm_helper.normalize_features`: each row divided by (its L2 norm + 1e-5), in float64. */
export function normalizeFeatures(f: Float32Array | Float64Array, n: number, dim: number): Float64Array {
  const out = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += f[i * dim + d] ** 2;
    const k = 1 / (Math.sqrt(s) + 1e-5);
    for (let d = 0; d < dim; d++) out[i * dim + d] = f[i * dim + d] * k;
  }
  return out;
}

/**
 * scikit-learn's `StratifiedKFold(n_splits, shuffle=False)` test-fold of every sample (what `cross_val_score(cv=3)`
 * uses for a classifier): class codes (by first appearance) sorted and dealt round-robin to count each class per fold, then each class's
 * samples, in order, fill fold 0, then 1, ...
 */
export function stratifiedFolds(y: ArrayLike<number>, k = 3): Int32Array {
  // classes are numbered in order of first appearance (sklearn's y_encoded), then dealt from the sorted codes
  const labels = [...new Set(Array.from(y))];
  const enc = Array.from(y, (v) => labels.indexOf(v));
  const sorted = [...enc].sort((a, b) => a - b);
  const alloc = Array.from({ length: k }, (_, f) => {
    const counts = new Array(labels.length).fill(0);
    for (let i = f; i < sorted.length; i += k) counts[sorted[i]]++;
    return counts;
  });
  const folds = new Int32Array(enc.length);
  for (let c = 0; c < labels.length; c++) {
    const seq: number[] = [];
    for (let f = 0; f < k; f++) for (let j = 0; j < alloc[f][c]; j++) seq.push(f);
    let p = 0;
    enc.forEach((e, i) => {
      if (e === c) folds[i] = seq[p++];
    });
  }
  return folds;
}

function rows(s: SvmSplit, pick: number[]): Float64Array {
  const out = new Float64Array(pick.length * s.dim);
  pick.forEach((r, i) => out.set(s.x.subarray(r * s.dim, (r + 1) * s.dim), i * s.dim));
  return out;
}

/** Train labels of class c, as train_svm_kfold.py: present = +1, absent and difficult = -1. */
function trainLabels(s: SvmSplit, c: number, pick?: number[]): Int8Array {
  const C = s.classes.length;
  const idx = pick ?? Array.from({ length: s.n }, (_, i) => i);
  return Int8Array.from(idx, (i) => (s.targets[i * C + c] === 1 ? 1 : -1));
}

/** Test AP of class c on the split, difficult (-1) images left out, as test_svm.py. */
function testAp(s: SvmSplit, c: number, scores: Float64Array): number {
  const C = s.classes.length;
  const t: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < s.n; i++) {
    const v = s.targets[i * C + c];
    if (v === -1) continue;
    t.push(v === 1 ? 1 : -1);
    p.push(scores[i]);
  }
  return vocAp(t, p);
}

export interface FullSvmResult {
  perClass: { name: string; cost: number; cvAp: number; ap: number }[];
  /** Mean test AP over classes, percent. */
  mAP: number;
}

/**
 * MMSelfSup's full VOC07 SVM protocol (train_svm_kfold.py + test_svm.py): per class and cost, the 3-fold
 * cross-validated AP on trainval; the cost with the best one trains on all of trainval; AP on test.
 */
export function svmFull(train: SvmSplit, test: SvmSplit, costs: number[], log: (m: string) => void = () => {}): FullSvmResult {
  const all = parseCostList(costs);
  const perClass: FullSvmResult['perClass'] = [];
  for (let c = 0; c < train.classes.length; c++) {
    const y = trainLabels(train, c);
    const folds = stratifiedFolds(y, 3);
    let best = { cost: all[0], cvAp: -Infinity };
    for (const cost of all) {
      let sum = 0;
      for (let f = 0; f < 3; f++) {
        const tr: number[] = [];
        const te: number[] = [];
        for (let i = 0; i < train.n; i++) (folds[i] === f ? te : tr).push(i);
        const m = trainLinearSvc(rows(train, tr), Int8Array.from(tr, (i) => y[i]), tr.length, train.dim, { c: cost, ...SVC });
        sum += sklearnAp(Array.from(te, (i) => y[i]), decisionFunction(m, rows(train, te), te.length, train.dim));
      }
      if (sum / 3 > best.cvAp) best = { cost, cvAp: sum / 3 };
    }
    const m = trainLinearSvc(train.x, y, train.n, train.dim, { c: best.cost, ...SVC });
    const ap = testAp(test, c, decisionFunction(m, test.x, test.n, test.dim));
    perClass.push({ name: train.classes[c], cost: best.cost, cvAp: best.cvAp, ap });
    log(`SVM ${train.classes[c]}: cost ${best.cost} (3-fold AP ${(best.cvAp * 100).toFixed(2)}), test AP ${(ap * 100).toFixed(2)}`);
  }
  return { perClass, mAP: (perClass.reduce((s, p) => s + p.ap, 0) / perClass.length) * 100 };
}

export interface LowShotRow {
  k: number;
  /** Mean ± population std over the samples of the best-cost mAP (percent), as aggregate_low_shot_svm_stats.py. */
  mean: number;
  std: number;
  perSample: number[];
}

/** Python's `random.sample(population, num)` semantics on our seeded generator: `num` distinct members. */
function sample(rng: Rng, population: number[], num: number): number[] {
  const pool = [...population];
  for (let i = 0; i < num; i++) {
    const j = i + Math.floor(rng.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, num);
}

/**
 * MMSelfSup's low-shot protocol (FAIR's create_voc_low_shot_challenge_samples.py, train_svm_low_shot.py,
 * test_svm_low_shot.py, aggregate_low_shot_svm_stats.py): for each of `samples` independent draws and each k,
 * every class trains on k random positives and (classes − 1)·k random negatives; per cost, the mean over classes
 * of the test AP; per draw the best cost's; reported as mean ± std over draws. Seeded.
 */
export function svmLowShot(train: SvmSplit, test: SvmSplit, costs: number[], o: { kValues?: number[]; samples?: number; seed?: number; log?: (m: string) => void } = {}): LowShotRow[] {
  const all = parseCostList(costs);
  const C = train.classes.length;
  const ks = o.kValues ?? LOW_SHOT_K;
  const rng = new Rng(o.seed ?? 0);
  const pos = Array.from({ length: C }, (_, c) => Array.from({ length: train.n }, (_, i) => i).filter((i) => train.targets[i * C + c] === 1));
  const neg = Array.from({ length: C }, (_, c) => Array.from({ length: train.n }, (_, i) => i).filter((i) => train.targets[i * C + c] === 0));
  const best = ks.map(() => [] as number[]);
  for (let s = 0; s < (o.samples ?? LOW_SHOT_SAMPLES); s++) {
    ks.forEach((k, ki) => {
      const picks = Array.from({ length: C }, (_, c) => {
        if (pos[c].length < k || neg[c].length < (C - 1) * k) throw new ConfigError(`low-shot k=${k}: class ${train.classes[c]} has ${pos[c].length} positives and ${neg[c].length} negatives, fewer than ${k} and ${(C - 1) * k}`);
        return [...sample(rng, pos[c], k), ...sample(rng, neg[c], (C - 1) * k)].sort((a, b) => a - b);
      });
      let bestMap = -Infinity;
      for (const cost of all) {
        let sum = 0;
        for (let c = 0; c < C; c++) {
          const m = trainLinearSvc(rows(train, picks[c]), trainLabels(train, c, picks[c]), picks[c].length, train.dim, { c: cost, ...SVC });
          sum += testAp(test, c, decisionFunction(m, test.x, test.n, test.dim));
        }
        bestMap = Math.max(bestMap, (sum / C) * 100);
      }
      best[ki].push(bestMap);
      o.log?.(`low-shot sample ${s + 1}, k=${k}: mAP ${bestMap.toFixed(2)}`);
    });
  }
  return ks.map((k, ki) => {
    const v = best[ki];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { k, mean, std, perSample: v };
  });
}

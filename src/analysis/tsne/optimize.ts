import { Rng } from '../../data/rng.js';
import type { SparseRows } from './affinities.js';
import { bhGradient } from './barnes-hut.js';
import { QuadTree } from './quadtree.js';

/** scikit-learn's TSNE settings, with MMSelfSup's `visualize_tsne.py` defaults. */
export interface TsneSettings {
  perplexity: number;
  earlyExaggeration: number;
  learningRate: number;
  nIter: number;
  nIterWithoutProgress: number;
  minGradNorm: number;
  /** Barnes-Hut angle θ (scikit-learn's `angle`). */
  angle: number;
  seed: number;
}

export const TSNE_DEFAULTS: TsneSettings = {
  perplexity: 30,
  earlyExaggeration: 12,
  learningRate: 200,
  nIter: 1000,
  nIterWithoutProgress: 300,
  minGradNorm: 1e-7,
  angle: 0.5,
  seed: 0,
};

/** scikit-learn's `_EXPLORATION_N_ITER` (early exaggeration, momentum 0.5) and `n_iter_check`. */
const EXPLORATION_ITERS = 250;
const CHECK_EVERY = 50;

export interface TsneRun {
  /** Row-major n × 2. */
  embedding: Float64Array;
  kl: number;
  iterations: number;
}

/**
 * Gradient descent of t-SNE on joint probabilities `P` as scikit-learn runs it: `init='random'`
 * (N(0, 1e-4²)), 250 iterations with P × early_exaggeration and momentum 0.5, then momentum 0.8;
 * delta-bar-delta gains (+0.2 / ×0.8, at least 0.01); stops early after `nIterWithoutProgress`
 * iterations without a lower KL (checked every 50) or a gradient norm under `minGradNorm`.
 */
export function optimizeEmbedding(P: SparseRows, s: TsneSettings, onIteration: (it: number) => void = () => {}): TsneRun {
  const n = P.n;
  const rng = new Rng(s.seed);
  const y = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) y[i] = 1e-4 * rng.normal();
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const tree = new QuadTree(n);
  const scratch = { order: new Int32Array(n), neg: new Float64Array(2 * n), stack: new Int32Array(4096) };
  let kl = NaN;
  let it = 0;
  const phase = (from: number, to: number, momentum: number, exaggeration: number, withoutProgress: number) => {
    let best = Infinity;
    let bestIter = from;
    for (let i = from; i < to; i++) {
      const check = (i + 1) % CHECK_EVERY === 0;
      const err = bhGradient(y, P, exaggeration, s.angle, tree, scratch, grad, check || i === to - 1);
      let norm2 = 0;
      for (let d = 0; d < 2 * n; d++) {
        const g = grad[d];
        norm2 += g * g;
        const gain = update[d] * g < 0 ? gains[d] + 0.2 : gains[d] * 0.8;
        gains[d] = gain < 0.01 ? 0.01 : gain;
        update[d] = momentum * update[d] - s.learningRate * gains[d] * g;
        y[d] += update[d];
      }
      it = i;
      onIteration(i + 1);
      if (!Number.isNaN(err)) kl = err;
      if (check) {
        if (err < best) {
          best = err;
          bestIter = i;
        } else if (i - bestIter > withoutProgress) break;
        if (Math.sqrt(norm2) <= s.minGradNorm) break;
      }
    }
  };
  const explore = Math.min(EXPLORATION_ITERS, s.nIter);
  phase(0, explore, 0.5, s.earlyExaggeration, EXPLORATION_ITERS);
  if (it < explore - 1 || s.nIter > explore) phase(it + 1, s.nIter, 0.8, 1, s.nIterWithoutProgress);
  return { embedding: y, kl, iterations: it + 1 };
}

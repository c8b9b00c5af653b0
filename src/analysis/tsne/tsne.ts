import { SslError } from '../../errors.js';
import { conditionalP, jointP } from './affinities.js';
import { nearestNeighbors } from './neighbors.js';
import { optimizeEmbedding, TSNE_DEFAULTS, type TsneRun, type TsneSettings } from './optimize.js';

export { TSNE_DEFAULTS, type TsneRun, type TsneSettings };

/**
 * Barnes-Hut t-SNE to 2-D (van der Maaten 2014), scikit-learn's `TSNE(method='barnes_hut',
 * init='random')` step for step: P from the 3·perplexity+1 exact nearest neighbours, then
 * `optimizeEmbedding`. `x` is n × dim row-major.
 */
export function tsne(x: Float32Array, n: number, dim: number, settings: Partial<TsneSettings> = {}, onIteration?: (it: number) => void): TsneRun {
  const s = { ...TSNE_DEFAULTS, ...settings };
  if (!(s.perplexity > 0) || s.perplexity >= n) {
    throw new SslError(`--perplexity must be positive and below the number of samples (${n}), got ${s.perplexity}`, { code: 'TSNE_PERPLEXITY' });
  }
  if (!(s.nIter >= 250)) throw new SslError(`--n-iter should be at least 250 (scikit-learn's minimum), got ${s.nIter}`, { code: 'TSNE_N_ITER' });
  const k = Math.min(n - 1, Math.floor(3 * s.perplexity + 1));
  const { nbrs, dist2 } = nearestNeighbors(x, n, dim, k);
  const P = jointP(conditionalP(dist2, n, k, s.perplexity), nbrs, n, k);
  return optimizeEmbedding(P, s, onIteration);
}

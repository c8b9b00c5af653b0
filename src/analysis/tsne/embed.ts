import { ProgressBar } from '../../runner/logging/progress.js';
import { TSNE_DEFAULTS, tsne, type TsneSettings } from './tsne.js';

export type EmbedMethod = 'tsne' | 'umap';

/** A 2-D embedding and what to record about how it was made. */
export interface Embedding {
  embedding: Float64Array;
  info: Record<string, unknown>;
}

/** Embeds `x` (n × dim) in 2-D with t-SNE (Barnes-Hut) or UMAP (umap-js), with a live bar on a terminal. */
export async function embed2d(method: EmbedMethod, x: Float32Array, n: number, dim: number, settings: Partial<TsneSettings>, label: string, progress?: boolean): Promise<Embedding> {
  const s = { ...TSNE_DEFAULTS, ...settings };
  if (method === 'umap') {
    const { umap2d } = await import('./umap.js');
    return umap2d(x, n, dim, s.seed, label, progress);
  }
  const bar = new ProgressBar(label, s.nIter, process.stderr, progress);
  const r = tsne(x, n, dim, s, (it) => bar.update(it));
  bar.finish();
  return {
    embedding: r.embedding,
    info: {
      perplexity: s.perplexity, early_exaggeration: s.earlyExaggeration, learning_rate: s.learningRate, n_iter: s.nIter,
      n_iter_without_progress: s.nIterWithoutProgress, angle: s.angle, seed: s.seed, iterations: r.iterations, kl_divergence: r.kl,
    },
  };
}

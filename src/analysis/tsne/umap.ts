import { UMAP } from 'umap-js';
import { Rng } from '../../data/rng.js';
import { ProgressBar } from '../../runner/logging/progress.js';
import type { Embedding } from './embed.js';

/** UMAP to 2-D with umap-js's defaults (15 neighbours, min_dist 0.1), seeded. */
export function umap2d(x: Float32Array, n: number, dim: number, seed: number, label: string, progress?: boolean): Embedding {
  const rng = new Rng(seed);
  const umap = new UMAP({ nComponents: 2, random: () => rng.random() });
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
  const epochs = umap.initializeFit(rows);
  const bar = new ProgressBar(label, epochs, process.stderr, progress);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    bar.update(e + 1);
  }
  bar.finish();
  const y = umap.getEmbedding();
  const embedding = new Float64Array(2 * n);
  y.forEach((p, i) => {
    embedding[2 * i] = p[0];
    embedding[2 * i + 1] = p[1];
  });
  return { embedding, info: { n_neighbors: 15, min_dist: 0.1, n_epochs: epochs, seed } };
}

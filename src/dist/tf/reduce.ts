import type { DistContext } from '../context.js';

/**
 * Log variables averaged over ranks (mmcv's `_parse_losses` all-reduce for logging): keys sorted,
 * one all-reduce. Every rank must pass the same keys. Blocking.
 */
export function reduceLogVars(c: DistContext, vars: Record<string, number>): Record<string, number> {
  if (c.worldSize === 1) return { ...vars };
  const keys = Object.keys(vars).sort();
  const buf = Float32Array.from(keys.map((k) => vars[k]));
  c.allReduce(buf, 'mean');
  return Object.fromEntries(keys.map((k, i) => [k, buf[i]]));
}

/**
 * kNN / linear-eval feature gathering: every rank's rows (`[n_r, dim]` row-major) and labels
 * concatenated in rank order; row counts may differ per rank. Blocking.
 */
export function gatherFeatures(c: DistContext, feats: Float32Array, dim: number, labels?: Int32Array): { feats: Float32Array; labels?: Int32Array; rows: number } {
  if (feats.length % dim !== 0) throw new Error(`gatherFeatures: ${feats.length} values are not rows of ${dim}`);
  const all = c.allGather(feats);
  let allLabels: Int32Array | undefined;
  if (labels) {
    const asFloat = Float32Array.from(labels);
    allLabels = Int32Array.from(c.allGather(asFloat));
  }
  return { feats: all, labels: allLabels, rows: all.length / dim };
}

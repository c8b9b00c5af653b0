import { QuadTree } from './quadtree.js';
import type { SparseRows } from './affinities.js';

const FLOAT32_TINY = 1.1754943508222875e-38;

/**
 * The KL gradient of t-SNE (one degree of freedom) at embedding `y`, Barnes-Hut approximated
 * (scikit-learn's `_barnes_hut_tsne.gradient`): attraction over the sparse P exactly, repulsion
 * from quadtree cells that look smaller than `angle` from the point, self-interactions skipped.
 * Writes `grad` (4 × (attraction − repulsion / Z)); returns KL(P‖Q) when `withError`, else NaN.
 */
export function bhGradient(
  y: Float64Array, P: SparseRows, exaggeration: number, angle: number,
  tree: QuadTree, scratch: { order: Int32Array; neg: Float64Array; stack: Int32Array }, grad: Float64Array, withError: boolean,
): number {
  const n = P.n;
  tree.build(y, n, scratch.order);
  const { count, comX, comY, width2, child } = tree;
  const theta2 = angle * angle;
  const neg = scratch.neg;
  let stack = scratch.stack;
  let sumQ = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[2 * i];
    const yj = y[2 * i + 1];
    let nx = 0;
    let ny = 0;
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const id = stack[--top];
      const cnt = count[id];
      if (cnt === 0) continue;
      const dx = yi - comX[id];
      const dy = yj - comY[id];
      const d2 = dx * dx + dy * dy;
      const leaf = child[id] < 0;
      if (leaf || width2[id] < theta2 * d2) {
        if (leaf && d2 === 0) continue; // the point itself (and its duplicates)
        const q = 1 / (1 + d2);
        sumQ += cnt * q;
        const m = cnt * q * q;
        nx += m * dx;
        ny += m * dy;
      } else {
        if (top + 4 > stack.length) {
          const s = new Int32Array(stack.length * 2);
          s.set(stack);
          stack = scratch.stack = s;
        }
        const c = child[id];
        stack[top++] = c;
        stack[top++] = c + 1;
        stack[top++] = c + 2;
        stack[top++] = c + 3;
      }
    }
    neg[2 * i] = nx;
    neg[2 * i + 1] = ny;
  }
  const { rowPtr, cols, vals } = P;
  let kl = withError ? 0 : NaN;
  for (let i = 0; i < n; i++) {
    const yi = y[2 * i];
    const yj = y[2 * i + 1];
    let px = 0;
    let py = 0;
    for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) {
      const j = cols[e];
      const dx = yi - y[2 * j];
      const dy = yj - y[2 * j + 1];
      const q = 1 / (1 + dx * dx + dy * dy);
      const p = vals[e] * exaggeration;
      const m = p * q;
      px += m * dx;
      py += m * dy;
      if (withError) kl += p * Math.log(Math.max(p, FLOAT32_TINY) / Math.max(q / sumQ, FLOAT32_TINY));
    }
    grad[2 * i] = 4 * (px - neg[2 * i] / sumQ);
    grad[2 * i + 1] = 4 * (py - neg[2 * i + 1] / sumQ);
  }
  return kl;
}

import { Rng } from '../../data/rng.js';

/** What scikit-learn's `LinearSVC(C, class_weight={1: w_pos, -1: 1}, loss='squared_hinge', dual=True, intercept_scaling, tol, max_iter)` learns. */
export interface LinearSvcOptions {
  c: number;
  /** Multiplier of C for the positive class (MMSelfSup: `class_weight={1: 2, -1: 1}`). */
  positiveWeight?: number;
  /** The constant feature appended for the (regularised) bias, liblinear's `-B` (sklearn's intercept_scaling; default 1). */
  interceptScaling?: number;
  /** Stopping tolerance on the projected-gradient spread (sklearn `tol`, default 1e-4). */
  tol?: number;
  maxIter?: number;
  seed?: number;
}

export interface LinearSvcModel {
  /** Weights `[dim]` and bias (already scaled by interceptScaling). */
  w: Float64Array;
  bias: number;
  iterations: number;
}

/**
 * liblinear's dual coordinate descent for L2-regularised L2-loss (squared hinge) SVC (Hsieh et al. 2008,
 * `solve_l2r_l1l2_svc` with shrinking), the solver behind scikit-learn's `LinearSVC(dual=True)`:
 * min_α ½αᵀ(Q + D)α − eᵀα, α ≥ 0, with D_ii = 1/(2·C_i) and Q_ij = y_i y_j x_iᵀx_j; w = Σ α_i y_i x_i.
 * `x` is row-major `[n, dim]`; `y` holds +1 / -1.
 */
export function trainLinearSvc(x: Float64Array, y: Int8Array | Int32Array, n: number, dim: number, o: LinearSvcOptions): LinearSvcModel {
  const b = o.interceptScaling ?? 1;
  const eps = o.tol ?? 1e-4;
  const maxIter = o.maxIter ?? 1000;
  const cPos = o.c * (o.positiveWeight ?? 1);
  const cNeg = o.c;
  const diag = (yi: number) => 0.5 / (yi > 0 ? cPos : cNeg);
  const w = new Float64Array(dim);
  let wb = 0;
  const alpha = new Float64Array(n);
  const qd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b * b;
    const row = i * dim;
    for (let d = 0; d < dim; d++) s += x[row + d] * x[row + d];
    qd[i] = s + diag(y[i]);
  }
  const index = Int32Array.from({ length: n }, (_, i) => i);
  let active = n;
  let pgMaxOld = Infinity;
  const rng = new Rng(o.seed ?? 0);
  let iter = 0;
  while (iter < maxIter) {
    let pgMaxNew = -Infinity;
    let pgMinNew = Infinity;
    for (let i = 0; i < active; i++) {
      const j = i + Math.floor(rng.random() * (active - i));
      const t = index[i];
      index[i] = index[j];
      index[j] = t;
    }
    for (let s = 0; s < active; s++) {
      const i = index[s];
      const yi = y[i];
      const row = i * dim;
      let g = wb * b;
      for (let d = 0; d < dim; d++) g += w[d] * x[row + d];
      g = yi * g - 1 + alpha[i] * diag(yi);
      let pg = 0;
      if (alpha[i] === 0) {
        if (g > pgMaxOld) {
          // shrink: this variable stays at its bound
          active--;
          index[s] = index[active];
          index[active] = i;
          s--;
          continue;
        }
        if (g < 0) pg = g;
      } else pg = g;
      if (pg > pgMaxNew) pgMaxNew = pg;
      if (pg < pgMinNew) pgMinNew = pg;
      if (Math.abs(pg) > 1e-12) {
        const old = alpha[i];
        alpha[i] = Math.max(old - g / qd[i], 0);
        const step = (alpha[i] - old) * yi;
        for (let d = 0; d < dim; d++) w[d] += step * x[row + d];
        wb += step * b;
      }
    }
    iter++;
    if (pgMaxNew - pgMinNew <= eps) {
      if (active === n) break;
      active = n;
      pgMaxOld = Infinity;
      continue;
    }
    // (liblinear's PGmin_old only shrinks variables at the upper bound C, which L2-loss does not have)
    pgMaxOld = pgMaxNew <= 0 ? Infinity : pgMaxNew;
  }
  return { w, bias: wb * b, iterations: iter };
}

/** Decision values `w·x + bias` of the rows of `x` `[n, dim]`. */
export function decisionFunction(m: LinearSvcModel, x: Float64Array, n: number, dim: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = m.bias;
    const row = i * dim;
    for (let d = 0; d < dim; d++) s += m.w[d] * x[row + d];
    out[i] = s;
  }
  return out;
}

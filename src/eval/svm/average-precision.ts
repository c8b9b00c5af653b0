/**
 * MMSelfSup's SVM test metric (`svm_helper.get_precision_recall` + `calculate_ap`, from FAIR's benchmark):
 * rank by score (descending), precision/recall at every rank, then the area under the recall/precision curve
 * with precision made monotone (the VOC 2010+ "area" AP, not the 11-point one). `targets` > 0 are positives.
 */
export function vocAp(targets: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let numPos = 0;
  for (let i = 0; i < n; i++) if (targets[i] > 0) numPos++;
  const rec = new Float64Array(n + 2);
  const prec = new Float64Array(n + 2);
  let tp = 0;
  for (let r = 0; r < n; r++) {
    if (targets[order[r]] > 0) tp++;
    prec[r + 1] = tp / (r + 1);
    rec[r + 1] = tp / numPos;
  }
  rec[n + 1] = 1;
  prec[n + 1] = 0;
  for (let i = n; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
  let ap = 0;
  for (let i = 1; i <= n + 1; i++) if (rec[i] !== rec[i - 1]) ap += (rec[i] - rec[i - 1]) * prec[i];
  return ap;
}

/**
 * scikit-learn's `average_precision_score` (the `'average_precision'` scorer MMSelfSup's 3-fold cross-validation
 * picks the cost with): Σ_n (R_n − R_{n−1}) P_n over the distinct score thresholds, no interpolation.
 */
export function sklearnAp(targets: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let numPos = 0;
  for (let i = 0; i < n; i++) if (targets[i] > 0) numPos++;
  if (numPos === 0) return 0;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let r = 0; r < n; r++) {
    if (targets[order[r]] > 0) tp++;
    else fp++;
    // a threshold ends where the next score differs
    if (r + 1 < n && scores[order[r + 1]] === scores[order[r]]) continue;
    const recall = tp / numPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

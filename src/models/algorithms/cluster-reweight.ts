/**
 * MMSelfSup's `set_reweight` (DeepCluster, ODC): class weights ∝ (count of the class in `labels` + 1e-10)^-pow,
 * normalised to sum 1, for the head's weighted cross-entropy.
 */
export function clusterClassWeights(labels: ArrayLike<number>, numClasses: number, reweightPow: number): Float32Array {
  const hist = new Float32Array(numClasses);
  for (let i = 0; i < labels.length; i++) hist[labels[i]] += 1;
  const inv = Float32Array.from(hist, (h) => Math.pow(1 / (h + 1e-10), reweightPow));
  const sum = inv.reduce((a, b) => a + b, 0);
  return Float32Array.from(inv, (v) => v / sum);
}

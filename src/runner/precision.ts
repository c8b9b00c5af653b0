/**
 * The numeric precision a run computes in, from `fp16 = dict(loss_scale=...)` (mmcv's Fp16OptimizerHook).
 * Mixed precision is not available on TensorFlow.js yet: this is the one place that says so, to be
 * replaced when bf16 training lands.
 */
export function precisionWarning(fp16: unknown): string | undefined {
  if (fp16 === undefined || fp16 === null) return undefined;
  const shown = typeof fp16 === 'object' ? JSON.stringify(fp16) : String(fp16);
  return `fp16 = ${shown}: this run computes in fp32 (bf16 mixed precision is not available yet); loss_scale has no effect and results match an fp32 run`;
}

/**
 * The arithmetic a run asks for. `fp16 = dict(loss_scale=...)` (mmcv's Fp16OptimizerHook) maps to bf16
 * mixed precision on the native engine (bf16 keeps fp32's exponent range, so no loss scaling is needed);
 * `--precision` wins over the key. Where bf16 cannot run, initBackend logs one warning and the run is fp32.
 */
export function requestedPrecision(flag: string | undefined, fp16: unknown): string | undefined {
  if (flag !== undefined) return flag;
  return fp16 === undefined || fp16 === null ? undefined : 'bf16';
}

/** One line saying what became of an fp16 key (none without one). */
export function precisionNote(fp16: unknown, flag: string | undefined): string | undefined {
  if (fp16 === undefined || fp16 === null) return undefined;
  const shown = typeof fp16 === 'object' ? JSON.stringify(fp16) : String(fp16);
  if (flag === 'fp32') return `fp16 = ${shown}: --precision fp32 given, this run computes in fp32`;
  return `fp16 = ${shown}: mixed precision as bf16 (convolutions and matmuls in bfloat16, fp32 master weights); loss_scale is not needed for bf16 and has no effect`;
}

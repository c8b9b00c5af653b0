import type { SweepSummary } from './summary.js';

/** summary.png: each metric per trial with the baseline marked, drawn by src/viz (undefined until it is there). */
export async function renderSweepChart(_s: SweepSummary): Promise<Buffer | undefined> {
  return undefined;
}

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrialState } from './types.js';

/**
 * Atomic write: a temp file in the same folder, then rename. A driver killed at any moment leaves
 * either the old file or the new one, never half of one.
 */
export function writeAtomic(path: string, text: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export const writeJson = (path: string, value: unknown): void => writeAtomic(path, `${JSON.stringify(value, null, 2)}\n`);

/** One line appended with a single write (O_APPEND): a kill leaves whole lines. */
export function appendLine(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${JSON.stringify(value)}\n`);
}

/** The layout of a sweep's output folder. */
export const sweepFiles = {
  trials: 'trials',
  state: 'state.json',
  plan: 'sweep.json',
  results: 'results.jsonl',
  summaryJson: 'summary.json',
  summaryMd: 'summary.md',
  junit: 'junit.xml',
  bench: 'bench.json',
  chart: 'summary.png',
} as const;

export const trialDir = (out: string, id: string): string => join(out, sweepFiles.trials, id);

export function readTrialState(out: string, id: string): TrialState | undefined {
  const p = join(trialDir(out, id), sweepFiles.state);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as TrialState;
  } catch {
    return undefined; // cannot happen with atomic writes, but a hand-edited file must not stop the sweep
  }
}

export function writeTrialState(out: string, state: TrialState): void {
  writeJson(join(trialDir(out, state.id), sweepFiles.state), state);
}

/** Every trial state under `out`, in folder order. */
export function readAllTrialStates(out: string): TrialState[] {
  const dir = join(out, sweepFiles.trials);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((id) => {
      const s = readTrialState(out, id);
      return s ? [s] : [];
    });
}

/** The last `n` lines of a text file ('' when it does not exist). */
export function tailLines(path: string, n: number): string {
  if (!existsSync(path)) return '';
  const lines = readFileSync(path, 'utf8').replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

import { execFileSync } from 'node:child_process';

/**
 * GPU ids this node may use: the entries of CUDA_VISIBLE_DEVICES when set, else the GPUs
 * `nvidia-smi -L` lists, else none (no nvidia-smi: a CPU-only machine).
 */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env, smi: () => string | null = runNvidiaSmi): string[] {
  const set = env.CUDA_VISIBLE_DEVICES;
  if (set !== undefined) return set.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
  const out = smi();
  if (!out) return [];
  return out
    .split('\n')
    .map((l) => /^GPU (\d+):/.exec(l.trim())?.[1])
    .filter((x): x is string => x !== undefined);
}

function runNvidiaSmi(): string | null {
  try {
    return execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return null;
  }
}

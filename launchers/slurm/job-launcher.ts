import { getLauncher } from '../index.js';
import type { Launcher } from '../launcher.js';
import { isSlurmJobId } from './job-id.js';

/**
 * The launcher an `ssl jobs` command talks to: `--launcher` when given, else Slurm for a Slurm-style
 * (numeric) id and Kubernetes for anything else (job names).
 */
export async function launcherForJob(id: string, flags: Record<string, unknown> & { launcher?: string }): Promise<Launcher> {
  return getLauncher(flags.launcher ?? (isSlurmJobId(id) ? 'slurm' : 'k8s'), flags);
}

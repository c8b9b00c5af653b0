import { LauncherError } from '../../src/errors.js';

/**
 * Longest job name we accept: the operator names per-pod Services `<job>-worker-<i>` and an Indexed
 * Job's pods get the hostname `<job>-<i>`; both must stay within the 63-character DNS label limit.
 */
export const MAX_JOB_NAME = 52;

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Lowercases and replaces every run of characters outside `[a-z0-9-]` by one `-`, trimming `-` at both ends. */
export function sanitizeName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Why `name` is not a usable job name (a DNS-1035 label of at most {@link MAX_JOB_NAME} characters), or undefined. */
export function jobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_JOB_NAME) {
    return `it has ${name.length} characters; at most ${MAX_JOB_NAME} so that pod and service names such as <name>-worker-<i> fit 63`;
  }
  if (!DNS1035.test(name)) {
    return "it must consist of lowercase letters, digits and '-', start with a letter and end with a letter or digit (DNS-1035 label, required by the PyTorchJob operator)";
  }
  return undefined;
}

/**
 * The Kubernetes name of a job.
 * - Given explicitly (`--job-name`): used as is when valid, otherwise rejected with the reason and a valid suggestion
 *   (a name the user chose is never silently changed: they will type it again in `ssl jobs`).
 * - Derived from the config file name: sanitised, truncated, and made unique with a suffix from the run id,
 *   e.g. `simclr_resnet18_8xb32.yaml` -> `simclr-resnet18-8xb32-a1b2c`.
 */
export function k8sJobName(raw: string, runId: string, explicit: boolean): string {
  if (explicit) {
    const problem = jobNameProblem(raw);
    if (problem) {
      const suggestion = suggestName(raw);
      throw new LauncherError(`job name "${raw}" is not a valid Kubernetes name: ${problem}${suggestion ? `; try --job-name ${suggestion}` : ''}`, {
        code: 'K8S_BAD_JOB_NAME',
      });
    }
    return raw;
  }
  const suffix = sanitizeName(runId).replace(/-/g, '').slice(-5) || 'run';
  let base = sanitizeName(raw);
  if (!/^[a-z]/.test(base)) base = `ssl-${base}`.replace(/-+$/, '');
  base = base.slice(0, MAX_JOB_NAME - suffix.length - 1).replace(/-+$/, '');
  return `${base}-${suffix}`;
}

function suggestName(raw: string): string | undefined {
  let s = sanitizeName(raw);
  if (s && !/^[a-z]/.test(s)) s = `ssl-${s}`;
  s = s.slice(0, MAX_JOB_NAME).replace(/-+$/, '');
  return jobNameProblem(s) ? undefined : s;
}

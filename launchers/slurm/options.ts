import { LauncherError } from '../../src/errors.js';
import { splitShellWords } from './shell.js';

/**
 * What the Slurm launcher needs beyond the neutral JobSpec. Every field may come from a flag of
 * `ssl train` or, where the flag is absent, from the environment variables of MMSelfSup's
 * tools/slurm_train.sh (`PARTITION`, `JOB_NAME`, `GPUS`, `GPUS_PER_NODE`, `CPUS_PER_TASK`, `SRUN_ARGS`).
 * Unset fields fall back to the JobSpec (`nodes`, `gpusPerNode`, `procsPerNode`, `name`) in {@link resolveSlurmOptions}.
 */
export interface SlurmOptions {
  partition?: string;
  jobName?: string;
  nodes?: number;
  gpusPerNode?: number;
  /** Processes (srun tasks) per node; default: GPUs per node, or 1 when that is 0. */
  tasksPerNode?: number;
  /** Total tasks when fewer than nodes x tasksPerNode (slurm_train.sh's `GPUS`). */
  totalTasks?: number;
  cpusPerTask?: number;
  /** Time limit in any form sbatch takes (`2-00:00:00`, `90`). */
  time?: string;
  account?: string;
  qos?: string;
  srunArgs?: string[];
  sbatchArgs?: string[];
  /** Pre-emption: `--requeue`, `--signal=B:USR1@90`, checkpoint + requeue + `--auto-resume`. */
  requeue?: boolean;
  /** Directory the job runs in (`#SBATCH --chdir`); default: the current directory at dry-run time. */
  chdir?: string;
  /** Worker entry point (default `<package root>/bin/ssl-worker.js`). */
  workerEntry?: string;
  /** Node.js executable the tasks run (default `node` from the job's PATH). */
  nodeBin?: string;
}

/** Fully resolved options: what the sbatch script is rendered from. */
export interface ResolvedSlurmOptions extends Required<Pick<SlurmOptions, 'jobName' | 'nodes' | 'gpusPerNode' | 'tasksPerNode' | 'srunArgs' | 'sbatchArgs' | 'requeue' | 'chdir' | 'workerEntry' | 'nodeBin'>> {
  partition?: string;
  totalTasks?: number;
  cpusPerTask?: number;
  time?: string;
  account?: string;
  qos?: string;
}

/**
 * Slurm options from `ssl train` flags (kebab-case, as typed) with slurm_train.sh's environment
 * variables where a flag is absent. `GPUS` (total processes) with `GPUS_PER_NODE` gives the node count
 * when `--nodes` is absent, as the seed's `srun --ntasks=$GPUS --ntasks-per-node=$GPUS_PER_NODE` does.
 * Throws LauncherError for a variable that is not a number.
 */
export function slurmOptionsFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SlurmOptions {
  const str = (flag: string, envName?: string): string | undefined => {
    const v = flags[flag];
    if (typeof v === 'string' && v !== '') return v;
    const e = envName ? env[envName] : undefined;
    return e !== undefined && e !== '' ? e : undefined;
  };
  const int = (flag: string, envName?: string): number | undefined => {
    const v = flags[flag];
    if (typeof v === 'number') return checkCount(v, `--${flag}`);
    if (typeof v === 'string' && v !== '') return parseCount(v, `--${flag}`);
    const e = envName ? env[envName] : undefined;
    return e !== undefined && e !== '' ? parseCount(e, envName!) : undefined;
  };

  const opts: SlurmOptions = {
    partition: str('partition', 'PARTITION'),
    jobName: str('job-name', 'JOB_NAME'),
    nodes: int('nodes'),
    gpusPerNode: int('gpus-per-node', 'GPUS_PER_NODE'),
    tasksPerNode: int('tasks-per-node'),
    cpusPerTask: int('cpus-per-task', 'CPUS_PER_TASK'),
    time: str('time'),
    account: str('account'),
    qos: str('qos'),
    srunArgs: splitShellWords(str('srun-args', 'SRUN_ARGS') ?? ''),
    sbatchArgs: splitShellWords(str('sbatch-args') ?? ''),
    requeue: flags.requeue === true,
  };
  // slurm_train.sh: GPUS processes in all (default 8 there), GPUS_PER_NODE per node (default 8 there).
  const gpusTotal = env.GPUS && flags.nodes === undefined && opts.tasksPerNode === undefined ? parseCount(env.GPUS, 'GPUS') : undefined;
  if (gpusTotal !== undefined && gpusTotal > 0) {
    const perNode = opts.gpusPerNode ?? Math.min(gpusTotal, 8);
    opts.gpusPerNode = perNode;
    opts.tasksPerNode = Math.min(perNode || 1, gpusTotal);
    opts.nodes = Math.ceil(gpusTotal / opts.tasksPerNode);
    if (gpusTotal % opts.tasksPerNode !== 0) opts.totalTasks = gpusTotal;
  }
  for (const k of Object.keys(opts) as (keyof SlurmOptions)[]) if (opts[k] === undefined) delete opts[k];
  return opts;
}

/** Fills the gaps of `opts` from the JobSpec and defaults, and checks the combination. */
export function resolveSlurmOptions(
  opts: SlurmOptions,
  job: { name: string; nodes: number; gpusPerNode: number; procsPerNode: number },
  defaults: { chdir: string; workerEntry: string },
): ResolvedSlurmOptions {
  const gpusPerNode = opts.gpusPerNode ?? job.gpusPerNode;
  const tasksPerNode = opts.tasksPerNode ?? (gpusPerNode > 0 ? gpusPerNode : Math.max(1, job.procsPerNode));
  const nodes = opts.nodes ?? job.nodes;
  if (nodes < 1) throw new LauncherError(`--nodes must be at least 1 (got ${nodes})`);
  if (tasksPerNode < 1) throw new LauncherError(`--tasks-per-node must be at least 1 (got ${tasksPerNode})`);
  if (opts.cpusPerTask !== undefined && opts.cpusPerTask < 1) throw new LauncherError(`--cpus-per-task must be at least 1 (got ${opts.cpusPerTask})`);
  const jobName = (opts.jobName ?? job.name).replace(/[^A-Za-z0-9_.+-]/g, '_');
  const resolved: ResolvedSlurmOptions = {
    jobName,
    nodes,
    gpusPerNode,
    tasksPerNode,
    srunArgs: opts.srunArgs ?? [],
    sbatchArgs: opts.sbatchArgs ?? [],
    requeue: opts.requeue ?? false,
    chdir: opts.chdir ?? defaults.chdir,
    workerEntry: opts.workerEntry ?? defaults.workerEntry,
    nodeBin: opts.nodeBin ?? 'node',
  };
  for (const k of ['partition', 'totalTasks', 'cpusPerTask', 'time', 'account', 'qos'] as const) {
    if (opts[k] !== undefined) (resolved as unknown as Record<string, unknown>)[k] = opts[k];
  }
  return resolved;
}

function parseCount(text: string, name: string): number {
  if (!/^\d+$/.test(text.trim())) throw new LauncherError(`${name} must be a whole number, got "${text}"`);
  return Number(text.trim());
}

function checkCount(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 0) throw new LauncherError(`${name} must be a whole number, got ${n}`);
  return n;
}

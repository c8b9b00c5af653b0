/**
 * The one interface every launcher implements (TorchX's scheduler pattern):
 * build an inspectable launch request -> submit it -> status / logs / cancel / wait.
 * `ssl train --dry-run` prints `render()` of the request and submits nothing.
 * Launchers start processes; they never import the trainer.
 */

/** What to run, neutral of where: every launcher starts the same worker entry point with these arguments. */
export interface JobSpec {
  /** Job name as the user gave it or derived from the config name; each launcher sanitises it for its system. */
  name: string;
  /** Unique id of this run (labels, rendezvous id). */
  runId: string;
  /** Work dir (absolute local path, or the path inside pods/nodes). */
  workDir: string;
  /** Resolved config file (JSON) written into the work dir before submission. */
  configPath: string;
  /** Arguments for `bin/ssl-worker.js` after `--config X --work-dir Y` (resume, seed, backend, s3...). */
  workerArgs: string[];
  /** Number of nodes (Slurm nodes, Kubernetes pods, or 1 locally). */
  nodes: number;
  /** Worker processes per node. */
  procsPerNode: number;
  /** GPUs per node (0 on CPU-only clusters). */
  gpusPerNode: number;
  /** Rendezvous port (`dist_params.port` / `--port`, default 29500). */
  port: number;
  /** Extra environment for every worker. */
  env: Record<string, string>;
  /**
   * Seconds between SIGTERM (pre-emption, eviction, cancel) and SIGKILL: long enough for the workers to
   * finish the iteration, write one checkpoint and upload it (`--termination-grace-period`).
   */
  terminationGracePeriod?: number;
}

/** Default of `--termination-grace-period` (seconds): see README, "Pre-emption". */
export const DEFAULT_TERMINATION_GRACE_PERIOD = 120;

/** The exact request a launcher would submit, and its printed form. */
export interface DryRun<Req = unknown> {
  launcher: string;
  job: JobSpec;
  request: Req;
  /** The exact artefact: an sbatch script, multi-document YAML, or the argv plus environment. */
  render(): string;
}

export interface JobHandle {
  launcher: string;
  id: string;
}

export type JobState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'UNKNOWN';

export interface JobStatus {
  id: string;
  state: JobState;
  /** Exit code of the job when it has ended (non-zero on failure). */
  exitCode?: number;
  /** Launcher-specific detail (Slurm state name, Kubernetes condition message...). */
  message?: string;
  /** A failed job: the last lines of the log of the worker that failed first, and whose it is (Kubernetes: the pod). */
  logTail?: { source: string; lines: string[] };
}

export interface LogOptions {
  follow?: boolean;
  /** Which rank's log (default 0). */
  rank?: number;
}

export interface Launcher<Req = unknown, Opts = Record<string, unknown>> {
  readonly name: string;
  /** Builds the request without side effects outside the work dir. */
  dryRun(job: JobSpec, options: Opts): Promise<DryRun<Req>>;
  /** Submits a request built by dryRun. */
  submit(dryRun: DryRun<Req>): Promise<JobHandle>;
  status(id: string): Promise<JobStatus>;
  /** Writes the job's log to `out` (follows until the job ends when asked). */
  logs(id: string, out: NodeJS.WritableStream, options?: LogOptions): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Resolves when the job has ended. */
  wait(id: string): Promise<JobStatus>;
}

export const TERMINAL_STATES: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

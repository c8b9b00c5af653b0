import type { TrainRequest } from '../../launchers/train-job.js';

/** The values of the launch flags `ssl train` defines and `ssl eval linear` reuses. */
export interface LaunchFlagValues {
  'cfg-options'?: string[];
  'work-dir'?: string;
  'resume-from'?: string;
  seed?: number;
  deterministic?: boolean;
  backend?: string;
  threads?: number;
  precision?: string;
  s3?: string;
  's3-endpoint'?: string;
  port?: number;
  'job-name'?: string;
  nodes?: number;
  nnodes?: number;
  'tasks-per-node'?: number;
  gpus?: number;
  'gpus-per-node'?: number;
}

/** The job request fields those flags set (torchrun's `--nnodes`/`--gpus` are aliases of `--nodes`/`--tasks-per-node`). */
export function jobRequestFromFlags(flags: LaunchFlagValues): Omit<TrainRequest, 'config'> {
  return {
    cfgOptions: flags['cfg-options'],
    workDir: flags['work-dir'],
    resumeFrom: flags['resume-from'],
    seed: flags.seed,
    deterministic: flags.deterministic,
    backend: flags.backend,
    threads: flags.threads,
    precision: flags.precision,
    s3: flags.s3,
    s3Endpoint: flags['s3-endpoint'],
    port: flags.port,
    jobName: flags['job-name'],
    nodes: flags.nodes ?? flags.nnodes,
    procsPerNode: flags['tasks-per-node'] ?? flags.gpus,
    gpusPerNode: flags['gpus-per-node'],
  };
}

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ConfigDict } from '../src/config/index.js';
import { defaultWorkDir, resolveConfig } from '../src/config/index.js';
import type { JobSpec } from './launcher.js';

/** What `ssl train` was asked, launcher-neutral. */
export interface TrainRequest {
  config: string;
  cfgOptions?: string[];
  workDir?: string;
  resumeFrom?: string;
  autoResume?: boolean;
  loadFrom?: string;
  seed?: number;
  deterministic?: boolean;
  backend?: string;
  /** Native engine threads per worker (`--threads`); default: the local launcher's cores per rank. */
  threads?: number;
  precision?: string;
  s3?: string;
  s3Endpoint?: string;
  port?: number;
  jobName?: string;
  nodes?: number;
  procsPerNode?: number;
  gpusPerNode?: number;
  /** Transforms the resolved config before it is written (e.g. --auto-scale-lr). */
  transform?: (cfg: ConfigDict) => ConfigDict;
  /** More worker arguments (`ssl eval linear`: `--eval-result`, `--feature-cache`). */
  extraWorkerArgs?: string[];
  /** Write the resolved config into the work dir (default true; false for `--dry-run`, which writes nothing, or to call `writeResolvedConfig` later). */
  write?: boolean;
  /** SIGTERM makes the workers write one checkpoint and exit with the pre-emption code (75), as SIGUSR1 does. */
  checkpointOnSignal?: boolean;
  /** Seconds from SIGTERM to SIGKILL (`--termination-grace-period`). */
  terminationGracePeriod?: number;
  /** `--auto-resume=fresh-ok`: start from scratch when every checkpoint found is corrupt. */
  autoResumeFreshOk?: boolean;
}

export interface PreparedTrainJob {
  job: JobSpec;
  cfg: ConfigDict;
  /** Full worker argv: `--config X --work-dir Y ...`. */
  workerArgv: string[];
  /** Which file of the config tree a top-level key came from. */
  sourceOf: (key: string) => string | undefined;
}

/**
 * Resolves the config once, writes it (atomically) as JSON into the work dir, and builds the
 * launcher-neutral job: every process of every launcher reads this one resolved file.
 * Work dir priority as MMSelfSup's tools/train.py: CLI, then the config's work_dir, then the file name.
 */
export function prepareTrainJob(req: TrainRequest): PreparedTrainJob {
  const resolved = resolveConfig(req.config, { cfgOptions: req.cfgOptions ?? [] });
  let cfg = resolved.cfg;
  const workDir = resolve(req.workDir ?? (typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(req.config)));
  // filename: where the worker's errors send the user (the YAML/.py they wrote, not this JSON copy).
  cfg = { ...cfg, work_dir: workDir, filename: resolve(req.config) };
  if (req.transform) cfg = req.transform(cfg);
  const configPath = join(workDir, `${basename(req.config, extname(req.config))}.json`);
  if (req.write !== false) writeConfigFile(configPath, cfg);

  const distParams = (cfg.dist_params ?? {}) as { port?: number };
  const port = req.port ?? (typeof distParams.port === 'number' ? distParams.port : 29500);
  const workerArgs: string[] = [];
  if (req.resumeFrom) workerArgs.push('--resume-from', req.resumeFrom);
  if (req.autoResume) workerArgs.push(req.autoResumeFreshOk ? '--auto-resume=fresh-ok' : '--auto-resume');
  if (req.loadFrom) workerArgs.push('--load-from', req.loadFrom);
  if (req.seed !== undefined) workerArgs.push('--seed', String(req.seed));
  if (req.deterministic) workerArgs.push('--deterministic');
  if (req.backend) workerArgs.push('--backend', req.backend);
  if (req.threads) workerArgs.push('--threads', String(req.threads));
  if (req.precision) workerArgs.push('--precision', req.precision);
  if (req.s3) workerArgs.push('--s3', req.s3);
  if (req.s3Endpoint) workerArgs.push('--s3-endpoint', req.s3Endpoint);
  workerArgs.push('--port', String(port));
  if (req.checkpointOnSignal) workerArgs.push('--checkpoint-on-signal');
  workerArgs.push(...(req.extraWorkerArgs ?? []));

  const job: JobSpec = {
    name: req.jobName ?? basename(req.config, extname(req.config)),
    runId: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    workDir,
    configPath,
    workerArgs,
    nodes: req.nodes ?? 1,
    procsPerNode: req.procsPerNode ?? 1,
    gpusPerNode: req.gpusPerNode ?? 0,
    port,
    env: {},
    ...(req.terminationGracePeriod !== undefined ? { terminationGracePeriod: req.terminationGracePeriod } : {}),
  };
  const sourceOf = (k: string) => resolved.sourceOf(k) ?? resolve(req.config);
  return { job, cfg, workerArgv: ['--config', configPath, '--work-dir', workDir, ...workerArgs], sourceOf };
}

function writeConfigFile(configPath: string, cfg: ConfigDict): void {
  mkdirSync(dirname(configPath), { recursive: true });
  const tmp = `${configPath}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(cfg, null, 2)}\n`);
  renameSync(tmp, configPath);
}

/**
 * Writes the resolved config of a job prepared with `write: false` and returns an undo: for a run
 * that failed on its inputs (exit 2) before writing anything else, the work dir goes back to what
 * it was (the previous config restored, or the file and a work dir created for it removed).
 */
export function writeResolvedConfig(prepared: PreparedTrainJob): () => void {
  const { workDir, configPath } = prepared.job;
  const dirExisted = existsSync(workDir);
  const before = dirExisted ? new Set(readdirSync(workDir)) : new Set<string>();
  const previous = existsSync(configPath) ? readFileSync(configPath) : undefined;
  writeConfigFile(configPath, prepared.cfg);
  return () => {
    if (!existsSync(workDir)) return;
    const added = readdirSync(workDir).filter((f) => !before.has(f) && f !== basename(configPath));
    if (added.length > 0) return; // the run wrote logs or checkpoints: keep everything
    if (previous) writeFileSync(configPath, previous);
    else rmSync(configPath, { force: true });
    if (!dirExisted && readdirSync(workDir).length === 0) rmdirSync(workDir);
  };
}

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LauncherError } from '../../src/errors.js';
import { TERMINAL_STATES, type DryRun, type JobHandle, type JobSpec, type JobStatus, type Launcher, type LogOptions } from '../launcher.js';
import { firstErrorLine, onPath, requireCommand, slurm } from './commands.js';
import { isSlurmJobId } from './job-id.js';
import { slurmLogs } from './logs.js';
import { resolveSlurmOptions, slurmOptionsFromFlags, type ResolvedSlurmOptions, type SlurmOptions } from './options.js';
import { checkAgainstPartitions, preflight, readPartitions } from './preflight.js';
import { writeJobRecord } from './records.js';
import { renderSbatchScript, slurmFiles } from './script.js';
import { scontrolJob, slurmStatus } from './status.js';

export { slurmOptionsFromFlags, type SlurmOptions } from './options.js';
export { renderSbatchScript } from './script.js';

/** The Slurm request: the sbatch script (written into the work dir) and the options it was rendered from. */
export interface SlurmRequest {
  scriptPath: string;
  script: string;
  options: ResolvedSlurmOptions;
}

/** The package root (where package.json is), found from this file in both `launchers/` and `lib/launchers/`. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Launcher options: `ssl train`'s flags (kebab-case, read by {@link slurmOptionsFromFlags}) plus, for
 * programmatic use, any {@link SlurmOptions} field in camelCase (e.g. `workerEntry`, `chdir`), and
 * `pollMs` for wait/follow.
 */
export type SlurmLauncherOptions = Record<string, unknown> & Partial<SlurmOptions> & { pollMs?: number; env?: NodeJS.ProcessEnv };

class SlurmLauncher implements Launcher<SlurmRequest, SlurmLauncherOptions> {
  readonly name = 'slurm';

  constructor(private readonly defaults: SlurmLauncherOptions) {}

  private get env(): NodeJS.ProcessEnv {
    return this.defaults.env ?? process.env;
  }

  private get pollMs(): number {
    return typeof this.defaults.pollMs === 'number' ? this.defaults.pollMs : 1000;
  }

  async dryRun(job: JobSpec, options: SlurmLauncherOptions = {}): Promise<DryRun<SlurmRequest>> {
    const all = { ...this.defaults, ...options };
    const env = all.env ?? this.env;
    const fromFlags = slurmOptionsFromFlags(all, env);
    const direct: SlurmOptions = {};
    for (const k of ['chdir', 'workerEntry', 'nodeBin', 'totalTasks'] as const) if (all[k] !== undefined) (direct as Record<string, unknown>)[k] = all[k];
    const opts = resolveSlurmOptions({ ...fromFlags, ...direct }, job, {
      chdir: process.cwd(),
      // SSL_WORKER_ENTRY: where the worker entry point is on the compute nodes, when ssl is installed
      // at another path there than on the machine that submits.
      workerEntry: env.SSL_WORKER_ENTRY || join(packageRoot(), 'bin', 'ssl-worker.js'),
    });
    const script = renderSbatchScript(job, opts);
    // Checked here when this machine reaches a cluster, so a dry run already reports a bad partition or
    // GPU count; a dry run without a cluster (laptop, login node down) still prints the script.
    const partitions = onPath('sinfo', env) ? await readPartitions().catch(() => undefined) : undefined;
    if (partitions) checkAgainstPartitions(opts, partitions);
    const scriptPath = join(job.workDir, slurmFiles.script);
    writeFileSync(scriptPath, script, { mode: 0o755 });
    return { launcher: this.name, job, request: { scriptPath, script, options: opts }, render: () => script };
  }

  async submit(dry: DryRun<SlurmRequest>): Promise<JobHandle> {
    const { scriptPath, script, options } = dry.request;
    requireCommand('sbatch');
    await preflight(options);
    writeFileSync(scriptPath, script, { mode: 0o755 });
    const r = await slurm('sbatch', ['--parsable', scriptPath], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new LauncherError(`sbatch rejected the job: ${firstErrorLine(r.stderr || r.stdout)} (script: ${scriptPath})`);
    const id = r.stdout.trim().split('\n').pop()!.split(';')[0]!.trim();
    if (!/^\d+$/.test(id)) throw new LauncherError(`sbatch printed no job id ("${r.stdout.trim()}")`);
    writeJobRecord(
      {
        launcher: 'slurm',
        id,
        name: options.jobName,
        runId: dry.job.runId,
        workDir: dry.job.workDir,
        script: scriptPath,
        submittedAt: new Date().toISOString(),
        nodes: options.nodes,
        tasksPerNode: options.tasksPerNode,
        rankLog: slurmFiles.rankLog,
      },
      this.env,
    );
    return { launcher: this.name, id };
  }

  status(id: string): Promise<JobStatus> {
    return slurmStatus(checkId(id), this.env);
  }

  logs(id: string, out: NodeJS.WritableStream, options: LogOptions = {}): Promise<void> {
    return slurmLogs(checkId(id), out, { ...options, pollMs: Math.min(this.pollMs, 500) }, this.env);
  }

  async cancel(id: string): Promise<void> {
    checkId(id);
    if (!(await scontrolJob(id))) throw new LauncherError(`Slurm job ${id} is unknown to slurmctld (already gone?): check the id with squeue`);
    await slurm('scancel', [id], { check: true });
  }

  async wait(id: string): Promise<JobStatus> {
    checkId(id);
    for (;;) {
      const st = await slurmStatus(id, this.env);
      if (TERMINAL_STATES.includes(st.state) || st.state === 'UNKNOWN') return st;
      await sleep(this.pollMs);
    }
  }
}

function checkId(id: string): string {
  if (!isSlurmJobId(id)) throw new LauncherError(`"${id}" is not a Slurm job id (a number such as 1234, or 1234_5 for an array task)`);
  return id;
}

/** Factory used by launchers/index.ts. */
export function createLauncher(options: SlurmLauncherOptions = {}): Launcher<SlurmRequest, SlurmLauncherOptions> {
  return new SlurmLauncher(options);
}

import { availableParallelism } from 'node:os';
import { LauncherError } from '../../src/errors.js';
import { readDistEnv } from '../../src/dist/env.js';
import { DEFAULT_TERMINATION_GRACE_PERIOD, type DryRun, type JobHandle, type JobSpec, type JobStatus, type Launcher, type LogOptions } from '../launcher.js';
import { defaultWorkerScript } from './agent.js';
import { visibleGpus } from './gpus.js';
import { planNode, renderPlan, type ProcessSpec } from './plan.js';
import { superviseProcesses, type Supervised } from './supervisor.js';

/**
 * Options of `--launcher local` (the `ssl train` flags, kebab-case as typed, or camelCase):
 * `gpus` / `nproc-per-node` worker processes on this machine (default: the job's procsPerNode,
 * then env GPUS, then 1); `nnodes`, `node-rank`, `master-addr`, `port` for a manual multi-machine
 * run (defaults: env NNODES, NODE_RANK, MASTER_ADDR, PORT as the seed's dist_train.sh, then 1, 0,
 * 127.0.0.1, the job's port).
 */
export interface LocalLaunchOptions {
  gpus?: number;
  'nproc-per-node'?: number;
  nprocPerNode?: number;
  nnodes?: number;
  'node-rank'?: number;
  nodeRank?: number;
  'master-addr'?: string;
  masterAddr?: string;
  port?: number;
  /** Test hook: the script each process runs (default bin/ssl-worker.js). */
  workerScript?: string;
  /** Environment to read NNODES/NODE_RANK/... from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** CPU cores of this machine (default `os.availableParallelism()`). */
  cpus?: number;
}

export interface LocalRequest {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  port: number;
  processes: ProcessSpec[];
}

interface RunningJob {
  node: Supervised;
  status: JobStatus;
  lines: { rank: number; line: string }[];
  listeners: Set<(rank: number, line: string) => void>;
  ended: Promise<JobStatus>;
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new LauncherError(`expected a non-negative integer, got "${String(v)}"`);
  return n;
}

/** Resolves the local request: flags over the seed's env variables over the job. Pure apart from GPU detection. */
export function localRequest(job: JobSpec, o: LocalLaunchOptions, gpus: string[] = visibleGpus(o.env ?? process.env)): LocalRequest {
  const env = o.env ?? process.env;
  const nodeEnv = readDistEnv({ NNODES: env.NNODES, NODE_RANK: env.NODE_RANK, GPUS: env.GPUS, MASTER_ADDR: env.MASTER_ADDR, PORT: env.PORT });
  const fromEnv = nodeEnv.source === 'dist_train.sh';
  const nprocPerNode = num(o.gpus) ?? num(o['nproc-per-node']) ?? num(o.nprocPerNode) ?? (job.procsPerNode > 1 ? job.procsPerNode : undefined) ?? (env.GPUS ? nodeEnv.localWorldSize : 1);
  if (nprocPerNode < 1) throw new LauncherError('--gpus/--nproc-per-node must be at least 1');
  const nnodes = num(o.nnodes) ?? (fromEnv ? nodeEnv.nnodes : 1);
  const nodeRank = num(o['node-rank']) ?? num(o.nodeRank) ?? (fromEnv ? nodeEnv.nodeRank : 0);
  if (nodeRank >= nnodes) throw new LauncherError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  const masterAddr = o['master-addr'] ?? o.masterAddr ?? env.MASTER_ADDR ?? '127.0.0.1';
  if (nnodes > 1 && nodeRank > 0 && masterAddr.startsWith('127.')) {
    throw new LauncherError(`node ${nodeRank} of ${nnodes} needs --master-addr (the address of the node-rank 0 machine), not ${masterAddr}`);
  }
  const port = num(o.port) ?? num(env.PORT) ?? job.port;
  const processes = planNode({
    nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr,
    port,
    runId: job.runId,
    workerScript: o.workerScript ?? defaultWorkerScript(),
    workerArgs: ['--config', job.configPath, '--work-dir', job.workDir, ...job.workerArgs],
    env: job.env,
    gpus,
    cpus: o.cpus ?? availableParallelism(),
  });
  return { nprocPerNode, nnodes, nodeRank, masterAddr, port, processes };
}

/**
 * `--launcher local`: N worker processes on this machine (torchrun's job, done in-process: the
 * ranks are children of `ssl train`). Two jobs side by side need different `--port`s.
 */
export class LocalLauncher implements Launcher<LocalRequest, LocalLaunchOptions> {
  readonly name = 'local';
  private readonly jobs = new Map<string, RunningJob>();

  constructor(private readonly defaults: LocalLaunchOptions = {}) {}

  async dryRun(job: JobSpec, options: LocalLaunchOptions = {}): Promise<DryRun<LocalRequest>> {
    const request = localRequest(job, { ...this.defaults, ...options });
    return {
      launcher: this.name,
      job,
      request,
      render: () =>
        `# local: ${request.nprocPerNode} process(es) on node ${request.nodeRank} of ${request.nnodes}, rendezvous ${request.masterAddr}:${request.port}\n${renderPlan(request.processes)}\n`,
    };
  }

  async submit(dry: DryRun<LocalRequest>): Promise<JobHandle> {
    const id = `local-${dry.job.runId}`;
    const lines: RunningJob['lines'] = [];
    const listeners = new Set<(rank: number, line: string) => void>();
    const node = superviseProcesses(dry.request.processes, {
      // SIGTERM -> checkpoint -> exit 75 must fit in the grace period before the ranks are killed
      graceMs: (dry.job.terminationGracePeriod ?? DEFAULT_TERMINATION_GRACE_PERIOD) * 1000,
      onLine: (rank, line) => {
        lines.push({ rank, line });
        if (lines.length > 10_000) lines.shift();
        for (const l of listeners) l(rank, line);
      },
    });
    const status: JobStatus = { id, state: 'RUNNING' };
    const onSignal = (s: NodeJS.Signals) => node.stop(s);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const ended = node.done.then((r) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      status.state = r.exitCode === 0 ? 'SUCCEEDED' : 'FAILED';
      status.exitCode = r.exitCode;
      if (r.failedRank !== undefined) status.message = `rank ${r.failedRank} failed first (exit code ${r.exitCode})`;
      return { ...status };
    });
    this.jobs.set(id, { node, status, lines, listeners, ended });
    return { launcher: this.name, id };
  }

  private job(id: string): RunningJob {
    const j = this.jobs.get(id);
    if (!j) throw new LauncherError(`no local job "${id}" in this process (local jobs live as long as the ssl command that started them)`);
    return j;
  }

  /** Process ids of the job's ranks, in rank order (local jobs only). */
  pids(id: string): number[] {
    return this.job(id).node.pids;
  }

  async status(id: string): Promise<JobStatus> {
    return { ...this.job(id).status };
  }

  async logs(id: string, out: NodeJS.WritableStream, options: LogOptions = {}): Promise<void> {
    const j = this.job(id);
    const rank = options.rank;
    const keep = (r: number) => rank === undefined || r === rank;
    // Every rank's output already streams to this terminal: following it there would print it twice.
    const live = out === process.stdout || out === process.stderr;
    if (!live) for (const l of j.lines) if (keep(l.rank)) out.write(`${l.line}\n`);
    if (!options.follow) return;
    if (live) {
      await j.ended;
      return;
    }
    const listener = (r: number, line: string) => keep(r) && out.write(`${line}\n`);
    j.listeners.add(listener);
    await j.ended;
    j.listeners.delete(listener);
  }

  async cancel(id: string): Promise<void> {
    const j = this.job(id);
    j.node.stop('SIGTERM');
    await j.ended;
    j.status.state = 'CANCELLED';
  }

  async wait(id: string): Promise<JobStatus> {
    return this.job(id).ended;
  }
}

export function createLauncher(options: Record<string, unknown> = {}): LocalLauncher {
  return new LocalLauncher(options as LocalLaunchOptions);
}

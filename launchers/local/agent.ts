/**
 * The per-node agent (`node bin/ssl-agent.js`), torchrun's role on one node:
 *
 *   ssl-agent --nproc-per-node G [--nnodes N] [--node-rank R] [--master-addr A] [--port P] -- <worker args>
 *
 * The node's place comes from the flags, else the environment (`readDistEnv`: PyTorchJob PET_* /
 * RANK, Indexed Job JOB_COMPLETION_INDEX, dist_train.sh NNODES/NODE_RANK/MASTER_ADDR/PORT), else
 * one node at 127.0.0.1. It starts G `bin/ssl-worker.js` with torchrun's variables, prefixes their
 * output `[rank N] `, forwards SIGTERM/SIGINT, and exits with the first failing rank's code.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LauncherError } from '../../src/errors.js';
import { readDistEnv } from '../../src/dist/env.js';
import { visibleGpus } from './gpus.js';
import { planNode, renderPlan, type ProcessSpec } from './plan.js';
import { superviseProcesses } from './supervisor.js';

export interface AgentArgs {
  nprocPerNode?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  port?: number;
  workerScript?: string;
  dryRun: boolean;
  workerArgs: string[];
}

const USAGE = 'usage: ssl-agent --nproc-per-node G [--nnodes N] [--node-rank R] [--master-addr A] [--port P] [--dry-run] -- <worker args>';

function int(flag: string, v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new LauncherError(`${flag} needs a non-negative integer, got "${v ?? ''}"; ${USAGE}`);
  return Number(v);
}

export function parseAgentArgs(argv: string[]): AgentArgs {
  const a: AgentArgs = { dryRun: false, workerArgs: [] };
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  a.workerArgs = sep < 0 ? [] : argv.slice(sep + 1);
  for (let i = 0; i < own.length; i++) {
    const [flag, inline] = own[i].includes('=') ? own[i].split(/=(.*)/s, 2) : [own[i], undefined];
    const value = () => inline ?? own[++i];
    switch (flag) {
      case '--nproc-per-node':
      case '--nproc_per_node':
      case '--gpus':
        a.nprocPerNode = int(flag, value());
        break;
      case '--nnodes':
        a.nnodes = int(flag, value());
        break;
      case '--node-rank':
      case '--node_rank':
        a.nodeRank = int(flag, value());
        break;
      case '--master-addr':
      case '--master_addr':
        a.masterAddr = value();
        break;
      case '--port':
      case '--master-port':
      case '--master_port':
        a.port = int(flag, value());
        break;
      case '--worker-script':
        a.workerScript = value();
        break;
      case '--dry-run':
        a.dryRun = true;
        break;
      default:
        throw new LauncherError(`unknown agent option "${own[i]}"; ${USAGE}`);
    }
  }
  return a;
}

/** Port given to the workers after `--port` (the job's `dist_params.port`). */
function workerPort(args: string[]): number | undefined {
  const i = args.indexOf('--port');
  return i >= 0 && /^\d+$/.test(args[i + 1] ?? '') ? Number(args[i + 1]) : undefined;
}

export function defaultWorkerScript(): string {
  // lib/launchers/local/agent.js -> <package root>/bin/ssl-worker.js (and launchers/local/agent.ts from source)
  const here = dirname(fileURLToPath(import.meta.url));
  const fromLib = join(here, '..', '..', '..', 'bin', 'ssl-worker.js');
  return here.includes(`${join('lib', 'launchers')}`) ? fromLib : join(here, '..', '..', 'bin', 'ssl-worker.js');
}

/** The processes this node runs, from flags over environment. */
export function agentPlan(a: AgentArgs, env: NodeJS.ProcessEnv = process.env, gpus: string[] = visibleGpus(env)): ProcessSpec[] {
  const place = readDistEnv(env, { port: workerPort(a.workerArgs) });
  const nprocPerNode = a.nprocPerNode ?? (place.source === 'single' ? 1 : place.localWorldSize);
  if (nprocPerNode < 1) throw new LauncherError(`--nproc-per-node must be at least 1; ${USAGE}`);
  const nnodes = a.nnodes ?? place.nnodes;
  const nodeRank = a.nodeRank ?? place.nodeRank;
  if (nodeRank >= nnodes) throw new LauncherError(`node rank ${nodeRank} is not below the number of nodes ${nnodes}; check --node-rank/--nnodes (or NODE_RANK/NNODES)`);
  return planNode({
    nprocPerNode,
    nnodes,
    nodeRank,
    masterAddr: a.masterAddr ?? place.masterAddr,
    port: a.port ?? place.masterPort,
    runId: env.SSL_RUN_ID ?? env.TORCHELASTIC_RUN_ID ?? `agent-${place.masterAddr}-${place.masterPort}`,
    workerScript: a.workerScript ?? env.SSL_WORKER_SCRIPT ?? defaultWorkerScript(),
    workerArgs: a.workerArgs,
    gpus,
    cpus: availableParallelism(),
  });
}

/** Runs the agent; resolves to its exit code. */
export async function runAgent(argv: string[]): Promise<number> {
  let a: AgentArgs;
  let specs: ProcessSpec[];
  try {
    a = parseAgentArgs(argv);
    specs = agentPlan(a);
  } catch (e) {
    process.stderr.write(`ssl-agent: ${(e as Error).message}\n`);
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  if (a.dryRun) {
    process.stdout.write(`${renderPlan(specs)}\n`);
    return 0;
  }
  // in pods: the manifest's terminationGracePeriodSeconds (the ranks need it for the pre-emption checkpoint)
  const grace = Number(process.env.SSL_TERMINATION_GRACE_PERIOD);
  const node = superviseProcesses(specs, Number.isFinite(grace) && grace > 0 ? { graceMs: grace * 1000 } : {});
  let signalled = 0;
  const onSignal = (s: NodeJS.Signals) => {
    signalled++;
    process.stderr.write(`[ssl agent] ${s}: stopping ${specs.length} rank(s)${signalled > 1 ? ' now' : ''}\n`);
    node.stop(signalled > 1 ? 'SIGKILL' : s);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const result = await node.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // PyTorchJob's restartPolicy ExitCode retries only 128-255: the pods report a pre-emption checkpoint (75) as 143
  const preempted = Number(process.env.SSL_PREEMPTED_EXIT_CODE);
  if (result.exitCode === 75 && Number.isInteger(preempted) && preempted > 0) {
    process.stderr.write(`[ssl agent] the ranks checkpointed after a pre-emption signal (exit 75); exiting ${preempted} so the job is restarted\n`);
    return preempted;
  }
  return result.exitCode;
}

import { SslError } from '../errors.js';
import { expandNodelist } from './nodelist.js';

/** Rendezvous port when neither the environment, `--port` nor `dist_params.port` sets one (torchrun's). */
export const DEFAULT_PORT = 29500;
/** Rendezvous timeout in seconds when `dist_params.timeout` is unset. */
export const DEFAULT_TIMEOUT_S = 300;
export const DEFAULT_MASTER_ADDR = '127.0.0.1';

export type DistSource = 'torchrun' | 'dist_train.sh' | 'slurm' | 'pytorchjob' | 'indexed-job' | 'single';

/** One process's place in a job. `rank = nodeRank × localWorldSize + localRank` when nodes are uniform. */
export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  nnodes: number;
  masterAddr: string;
  masterPort: number;
  /** Which contract the values came from (the first row of the precedence table that matched). */
  source: DistSource;
}

/** Fallbacks the caller knows (from `--port` / `dist_params.port`); the environment wins over them. */
export interface DistEnvDefaults {
  port?: number;
  masterAddr?: string;
}

/**
 * Reads this process's place in the job from its environment. The FIRST matching row wins:
 *
 * | # | source        | matches when                                   | rank / world size / local                                                                 | node rank / nnodes                                             |
 * |---|---------------|------------------------------------------------|-------------------------------------------------------------------------------------------|----------------------------------------------------------------|
 * | 1 | `torchrun`    | `LOCAL_RANK`, `RANK`, `WORLD_SIZE` all set     | `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE` (else `WORLD_SIZE / nnodes`)        | `GROUP_RANK` / `NODE_RANK` (else rank ÷ local), `GROUP_WORLD_SIZE` / `NNODES` |
 * | 2 | `slurm`       | `SLURM_PROCID` set (an srun task)              | `SLURM_PROCID`, `SLURM_STEP_NUM_TASKS` / `SLURM_NTASKS`, `SLURM_LOCALID`, `SLURM_NTASKS_PER_NODE` / `SLURM_STEP_TASKS_PER_NODE` / `SLURM_TASKS_PER_NODE` (first count of `2(x3)`) | `SLURM_NODEID`, `SLURM_STEP_NUM_NODES` / `SLURM_NNODES` / `SLURM_JOB_NUM_NODES` |
 * | 3 | `indexed-job` | `JOB_COMPLETION_INDEX` set                     | node-level: rank = node rank × local, local rank 0, local = `PET_NPROC_PER_NODE` / `NPROC_PER_NODE` / 1, world = `WORLD_SIZE` / nnodes × local | `JOB_COMPLETION_INDEX`, `PET_NNODES` / `NNODES` / 1 |
 * | 4 | `pytorchjob`  | `PET_NODE_RANK`, `PET_NNODES` or `PET_MASTER_ADDR` set | node-level: as row 3, world = `WORLD_SIZE` (operator: replicas × nprocPerNode)     | `PET_NODE_RANK` / `RANK` (a node rank here), `PET_NNODES` (max of `min:max`) |
 * | 5 | `torchrun`    | `RANK` and `WORLD_SIZE` set (env:// without LOCAL_RANK) | `RANK`, `WORLD_SIZE`, local rank = rank mod local, local = `LOCAL_WORLD_SIZE` / 1 | as row 1                                                       |
 * | 6 | `dist_train.sh` | `NNODES`, `NODE_RANK` or `GPUS` set          | node-level: local = `GPUS` / 1, world = nnodes × local                                     | `NODE_RANK` / 0, `NNODES` / 1                                   |
 * | 7 | `single`      | otherwise                                      | rank 0 of 1                                                                               | 0 / 1                                                          |
 *
 * Master address: `MASTER_ADDR`, else `PET_MASTER_ADDR`, else (Slurm) the first host of
 * `SLURM_STEP_NODELIST` / `SLURM_JOB_NODELIST` / `SLURM_NODELIST`, else `defaults.masterAddr`, else 127.0.0.1.
 * Master port: `MASTER_PORT`, else `PET_MASTER_PORT`, else `defaults.port` (`--port`, `dist_params.port`),
 * else `PORT` (dist_train.sh), else 29500.
 *
 * Node-level rows (3, 4, 6) describe a whole node (a pod, a machine): with more than one process
 * per node the per-node agent (`bin/ssl-agent.js`) reads them and starts one worker per local
 * rank with torchrun's variables set (row 1); see {@link needsAgent}.
 * Throws SslError when a variable is not a non-negative integer or the ranks are inconsistent.
 */
export function readDistEnv(env: NodeJS.ProcessEnv = process.env, defaults: DistEnvDefaults = {}): DistEnv {
  const r = new EnvReader(env);
  const masterAddr = () =>
    r.str('MASTER_ADDR') ?? r.str('PET_MASTER_ADDR') ?? slurmMaster(env) ?? defaults.masterAddr ?? DEFAULT_MASTER_ADDR;
  const masterPort = r.int('MASTER_PORT') ?? r.int('PET_MASTER_PORT') ?? defaults.port ?? r.int('PORT') ?? DEFAULT_PORT;

  let d: DistEnv;
  if (r.has('LOCAL_RANK') && r.has('RANK') && r.has('WORLD_SIZE')) {
    d = fromTorchrun(r, masterAddr(), masterPort);
  } else if (r.has('SLURM_PROCID')) {
    const rank = r.int('SLURM_PROCID')!;
    const worldSize = r.int('SLURM_STEP_NUM_TASKS') ?? r.int('SLURM_NTASKS') ?? r.int('SLURM_NPROCS') ?? 1;
    const nnodes = r.int('SLURM_STEP_NUM_NODES') ?? r.int('SLURM_NNODES') ?? r.int('SLURM_JOB_NUM_NODES') ?? 1;
    const localWorldSize =
      r.leadingInt('SLURM_NTASKS_PER_NODE') ?? r.leadingInt('SLURM_STEP_TASKS_PER_NODE') ?? r.leadingInt('SLURM_TASKS_PER_NODE') ?? Math.max(1, Math.ceil(worldSize / nnodes));
    const localRank = r.int('SLURM_LOCALID') ?? rank % localWorldSize;
    const nodeRank = r.int('SLURM_NODEID') ?? Math.floor(rank / localWorldSize);
    d = { rank, worldSize, localRank, localWorldSize, nodeRank, nnodes, masterAddr: masterAddr(), masterPort, source: 'slurm' };
  } else if (r.has('JOB_COMPLETION_INDEX')) {
    const nodeRank = r.int('JOB_COMPLETION_INDEX')!;
    const nnodes = r.nnodes('PET_NNODES') ?? r.int('NNODES') ?? 1;
    d = nodeLevel(r, nodeRank, nnodes, masterAddr(), masterPort, 'indexed-job');
  } else if (r.has('PET_NODE_RANK') || r.has('PET_NNODES') || r.has('PET_MASTER_ADDR')) {
    const nodeRank = r.int('PET_NODE_RANK') ?? r.int('RANK') ?? 0;
    const nnodes = r.nnodes('PET_NNODES') ?? 1;
    d = nodeLevel(r, nodeRank, nnodes, masterAddr(), masterPort, 'pytorchjob');
  } else if (r.has('RANK') && r.has('WORLD_SIZE')) {
    d = fromTorchrun(r, masterAddr(), masterPort);
  } else if (r.has('NNODES') || r.has('NODE_RANK') || r.has('GPUS')) {
    const nnodes = r.int('NNODES') ?? 1;
    const localWorldSize = r.int('GPUS') ?? 1;
    const nodeRank = r.int('NODE_RANK') ?? 0;
    d = {
      rank: nodeRank * localWorldSize,
      worldSize: nnodes * localWorldSize,
      localRank: 0,
      localWorldSize,
      nodeRank,
      nnodes,
      masterAddr: masterAddr(),
      masterPort,
      source: 'dist_train.sh',
    };
  } else {
    d = { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, nodeRank: 0, nnodes: 1, masterAddr: masterAddr(), masterPort, source: 'single' };
  }
  validate(d);
  return d;
}

/**
 * True when `d` describes a whole node that should run more than one worker: start
 * `bin/ssl-agent.js` there instead of a single worker.
 */
export function needsAgent(d: DistEnv): boolean {
  return (d.source === 'pytorchjob' || d.source === 'indexed-job' || d.source === 'dist_train.sh') && d.localWorldSize > 1;
}

/** `dist_params` of a config with defaults: port 29500, timeout 300 s. */
export function readDistParams(cfg: Record<string, unknown>): { port: number; timeoutS: number } {
  const p = (cfg.dist_params ?? {}) as Record<string, unknown>;
  const port = typeof p.port === 'number' ? p.port : DEFAULT_PORT;
  const timeoutS = typeof p.timeout === 'number' ? p.timeout : DEFAULT_TIMEOUT_S;
  return { port, timeoutS };
}

function fromTorchrun(r: EnvReader, masterAddr: string, masterPort: number): DistEnv {
  const rank = r.int('RANK')!;
  const worldSize = r.int('WORLD_SIZE')!;
  const nnodesEnv = r.int('GROUP_WORLD_SIZE') ?? r.int('NNODES');
  const localWorldSize = r.int('LOCAL_WORLD_SIZE') ?? (nnodesEnv ? Math.max(1, Math.ceil(worldSize / nnodesEnv)) : r.has('LOCAL_RANK') ? worldSize : 1);
  const localRank = r.int('LOCAL_RANK') ?? rank % localWorldSize;
  const nodeRank = r.int('GROUP_RANK') ?? r.int('NODE_RANK') ?? Math.floor(rank / localWorldSize);
  const nnodes = nnodesEnv ?? Math.max(1, Math.ceil(worldSize / localWorldSize));
  return { rank, worldSize, localRank, localWorldSize, nodeRank, nnodes, masterAddr, masterPort, source: 'torchrun' };
}

function nodeLevel(r: EnvReader, nodeRank: number, nnodes: number, masterAddr: string, masterPort: number, source: DistSource): DistEnv {
  const worldEnv = r.int('WORLD_SIZE');
  const localWorldSize = r.nproc('PET_NPROC_PER_NODE') ?? r.nproc('NPROC_PER_NODE') ?? (worldEnv ? Math.max(1, Math.floor(worldEnv / nnodes)) : 1);
  const worldSize = worldEnv ?? nnodes * localWorldSize;
  return { rank: nodeRank * localWorldSize, worldSize, localRank: 0, localWorldSize, nodeRank, nnodes, masterAddr, masterPort, source };
}

function slurmMaster(env: NodeJS.ProcessEnv): string | undefined {
  const list = env.SLURM_STEP_NODELIST || env.SLURM_JOB_NODELIST || env.SLURM_NODELIST;
  if (!list) return undefined;
  return expandNodelist(list)[0];
}

function validate(d: DistEnv): void {
  const where = `(read from ${d.source} environment variables)`;
  if (d.worldSize < 1) throw new SslError(`world size ${d.worldSize} must be at least 1 ${where}`);
  const nodeLevelSource = d.source === 'dist_train.sh' || d.source === 'pytorchjob' || d.source === 'indexed-job';
  if (nodeLevelSource && d.nodeRank >= d.nnodes) throw new SslError(`node rank ${d.nodeRank} is not below the number of nodes ${d.nnodes} ${where}; check NODE_RANK/NNODES`);
  if (d.rank >= d.worldSize) throw new SslError(`rank ${d.rank} is not below world size ${d.worldSize} ${where}; check RANK/WORLD_SIZE or the node rank`);
  if (d.nodeRank >= d.nnodes) throw new SslError(`node rank ${d.nodeRank} is not below the number of nodes ${d.nnodes} ${where}; check NODE_RANK/NNODES`);
  if (d.localRank >= d.localWorldSize) throw new SslError(`local rank ${d.localRank} is not below local world size ${d.localWorldSize} ${where}`);
  if (d.masterPort < 1 || d.masterPort > 65535) throw new SslError(`master port ${d.masterPort} is outside 1-65535; set MASTER_PORT or --port`);
}

/** Typed access to environment variables: empty strings count as unset. */
class EnvReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  has(name: string): boolean {
    const v = this.env[name];
    return v !== undefined && v.trim() !== '';
  }

  str(name: string): string | undefined {
    return this.has(name) ? this.env[name]!.trim() : undefined;
  }

  int(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new SslError(`environment variable ${name}="${v}" must be a non-negative integer`);
    return Number(v);
  }

  /** Slurm's `2(x3),1` style counts: the first number. */
  leadingInt(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const m = /^(\d+)/.exec(v);
    if (!m) throw new SslError(`environment variable ${name}="${v}" must start with a task count`);
    return Number(m[1]);
  }

  /** torchrun's `--nnodes` form: `N` or `MIN:MAX` (the maximum is the static size). */
  nnodes(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const m = /^(\d+)(?::(\d+))?$/.exec(v);
    if (!m) throw new SslError(`environment variable ${name}="${v}" must be N or MIN:MAX`);
    return Number(m[2] ?? m[1]);
  }

  /** torchrun's `--nproc-per-node`: a number, or `auto`/`cpu`/`gpu` which count as 1 (as the operator does). */
  nproc(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (v === 'auto' || v === 'cpu' || v === 'gpu') return 1;
    return this.int(name);
  }
}

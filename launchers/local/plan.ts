/** What one node runs: one worker process per local rank, with torchrun's environment. Pure. */
export interface NodePlanInput {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  port: number;
  runId: string;
  /** Path of bin/ssl-worker.js (or a test double). */
  workerScript: string;
  /** Everything after the script: `--config X --work-dir Y ...`. */
  workerArgs: string[];
  /** Extra environment for every worker. */
  env?: Record<string, string>;
  /** GPU ids visible to this node (from CUDA_VISIBLE_DEVICES or nvidia-smi); empty = CPU only. */
  gpus: string[];
  /** Node binary (default: the running one). */
  node?: string;
  /** CPU cores of this node (`os.availableParallelism()`); with at least one worker per core, workers run V8 single-threaded. */
  cpus?: number;
}

export interface ProcessSpec {
  rank: number;
  localRank: number;
  command: string;
  args: string[];
  /** Variables set for this process on top of the parent's environment. */
  env: Record<string, string>;
}

/**
 * torchrun's per-worker contract (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK,
 * GROUP_WORLD_SIZE, ROLE_RANK, ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID) plus
 * SSL_RUN_ID; each worker gets one GPU (CUDA_VISIBLE_DEVICES) when the node has enough.
 *
 * Like torchrun's OMP_NUM_THREADS=1 for several workers per node: when there are at least as many
 * workers as cores, each runs `node --single-threaded` (no V8 helper threads for GC and
 * compilation), since a rank's helpers can only run on a core another rank needs; with 2 workers on
 * 2 cores SimCLR scaled 1.77x instead of 1.60x (benchmarks/README.md, Scaling). The native
 * engine's compute threads follow OMP_NUM_THREADS: each worker gets cores / workers (at least 1).
 */
export function planNode(p: NodePlanInput): ProcessSpec[] {
  const worldSize = p.nnodes * p.nprocPerNode;
  const specs: ProcessSpec[] = [];
  const nodeFlags = p.nprocPerNode > 1 && p.cpus !== undefined && p.nprocPerNode >= p.cpus ? ['--single-threaded'] : [];
  for (let local = 0; local < p.nprocPerNode; local++) {
    const rank = p.nodeRank * p.nprocPerNode + local;
    const env: Record<string, string> = {
      ...(p.env ?? {}),
      RANK: String(rank),
      LOCAL_RANK: String(local),
      WORLD_SIZE: String(worldSize),
      LOCAL_WORLD_SIZE: String(p.nprocPerNode),
      GROUP_RANK: String(p.nodeRank),
      GROUP_WORLD_SIZE: String(p.nnodes),
      ROLE_RANK: String(rank),
      ROLE_WORLD_SIZE: String(worldSize),
      MASTER_ADDR: p.masterAddr,
      MASTER_PORT: String(p.port),
      TORCHELASTIC_RUN_ID: p.runId,
      SSL_RUN_ID: p.runId,
    };
    if (p.gpus.length >= p.nprocPerNode) env.CUDA_VISIBLE_DEVICES = p.gpus[local];
    if (p.nprocPerNode > 1 && process.env.OMP_NUM_THREADS === undefined && !p.env?.OMP_NUM_THREADS) env.OMP_NUM_THREADS = String(threadsPerWorker(p));
    specs.push({ rank, localRank: local, command: p.node ?? process.execPath, args: [...nodeFlags, p.workerScript, ...p.workerArgs], env });
  }
  return specs;
}

/** torchrun sets OMP_NUM_THREADS=1; ssl splits the node's cores between its workers instead (the native engine's threads). */
export function threadsPerWorker(p: Pick<NodePlanInput, 'cpus' | 'nprocPerNode'>): number {
  return p.cpus === undefined ? 1 : Math.max(1, Math.floor(p.cpus / p.nprocPerNode));
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX shell quoting. */
export function shellQuote(s: string): string {
  return s !== '' && SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One line per process: `VAR=value ... node script args` (runnable as is in a shell). */
export function renderPlan(specs: ProcessSpec[]): string {
  return specs
    .map((s) => {
      const env = Object.entries(s.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
      return `# rank ${s.rank} (local rank ${s.localRank})\n${[...env, shellQuote(s.command), ...s.args.map(shellQuote)].join(' ')}`;
    })
    .join('\n');
}

import type { DistEnv } from './env.js';
import type { ReduceOp } from './transport/collectives.js';

export type { ReduceOp } from './transport/collectives.js';

/**
 * A process's handle on the job: its place and the collectives, on float32 data.
 *
 * The collectives BLOCK the calling thread until every rank has taken part (the network work
 * runs in a worker thread), so they can be called inside TensorFlow.js tapes and custom
 * gradients (SyncBN, gather-with-gradient). Every rank must call the same collectives, in the
 * same order, with the same sizes (all-gather blocks may differ); a mismatch fails the job.
 * A dead or hung peer makes the next (or current) collective throw `PeerFailureError`, and the
 * process exits non-zero within seconds even if it is busy elsewhere (see `createDistContext`).
 */
export interface DistContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  readonly env: DistEnv;
  /**
   * A zeroed float32 buffer the collectives use without copying (shared memory with the network
   * thread). Other arrays work too, at the cost of a copy in and out.
   */
  allocate(length: number): Float32Array;
  /** Element-wise sum/mean/max over ranks, written into `data` (returned). */
  allReduce(data: Float32Array, op?: ReduceOp): Float32Array;
  /** Every rank's `data` concatenated in rank order (`[W·n]` for equal sizes). */
  allGather(data: Float32Array): Float32Array;
  /** Every rank's `data` in rank order (sizes may differ). */
  allGatherBlocks(data: Float32Array): Float32Array[];
  /** Rank `root`'s values written into `data` on every rank (same length everywhere). */
  broadcast(data: Float32Array, root?: number): Float32Array;
  /** Rank `root`'s bytes on every rank; other ranks pass undefined (any size) or an array of the right size. */
  broadcastBytes(data: Uint8Array | undefined, root?: number): Uint8Array;
  /** Returns once every rank has reached it. */
  barrier(): void;
  /**
   * Leaves the job (every rank calls it once, at the end, also after errors). Returns when all
   * ranks have left; collectives that other ranks still run then fail naming this rank.
   */
  close(): Promise<void>;
}

/** One process: every collective is the identity (rank 0 of 1). */
export function singleProcessContext(env?: DistEnv): DistContext {
  const e: DistEnv = env ?? { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, nodeRank: 0, nnodes: 1, masterAddr: '127.0.0.1', masterPort: 29500, source: 'single' };
  return {
    rank: 0,
    worldSize: 1,
    localRank: 0,
    localWorldSize: 1,
    env: e,
    allocate: (length) => new Float32Array(length),
    allReduce: (data) => data,
    allGather: (data) => data.slice(),
    allGatherBlocks: (data) => [data],
    broadcast: (data, root = 0) => {
      if (root !== 0) throw new RangeError(`broadcast root ${root} is outside 0..0`);
      return data;
    },
    broadcastBytes: (data) => data ?? new Uint8Array(0),
    barrier: () => undefined,
    close: async () => undefined,
  };
}

/** Float32 <-> bytes helpers for broadcasting small non-float values (seeds, JSON). */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(new TextDecoder().decode(bytes)) as T;
}


/**
 * The trainer's entry (`src/runner/worker-main.ts` calls it with `readDistEnv`'s result and the
 * resolved config): joins the job (rendezvous timeout `dist_params.timeout`, default 300 s) and
 * returns the tensor-level context with SyncBN installed. World size 1 starts nothing.
 */
export async function createDistContext(env: DistEnv, cfg: Record<string, unknown> = {}): Promise<import('./tf/tensor-context.js').TensorDistContext> {
  const { readDistParams, needsAgent } = await import('./env.js');
  if (needsAgent(env)) {
    const { SslError } = await import('../errors.js');
    throw new SslError(
      `this ${env.source} node runs ${env.localWorldSize} processes: start it with \`node bin/ssl-agent.js --nproc-per-node ${env.localWorldSize} -- <worker args>\`, not a single worker`,
    );
  }
  const { joinJob } = await import('./create.js');
  const { tensorDistContext } = await import('./tf/tensor-context.js');
  const collectives = await joinJob({ env, timeoutS: readDistParams(cfg).timeoutS });
  return tensorDistContext(collectives);
}

import type { DistContext as FloatCollectives } from './context.js';
import { tf, type Tensor } from '../engine/tf.js';

/**
 * The seam between the trainer and distributed training (the dist helper implements a real one in
 * `src/dist/`): the process's place in the job and the collectives the trainer calls.
 * Every collective resolves to new tensors the caller owns (inputs are not disposed).
 */
export interface DistContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** Element-wise reduction over all processes. */
  allReduce(t: Tensor, op?: 'sum' | 'mean' | 'max'): Promise<Tensor>;
  /** Every process's tensor, in rank order. */
  allGather(t: Tensor): Promise<Tensor[]>;
  /** Rank `src`'s tensor on every process. */
  broadcast(t: Tensor, src?: number): Promise<Tensor>;
  /** Waits for every process. */
  barrier(): Promise<void>;
  /**
   * All-reduces (mean) gradients in place of the map; called by the optimizer hook before stepping.
   * `extra` (a few numbers, e.g. the ranks' stop votes) rides in the same all-reduce and is averaged in place.
   */
  allReduceGrads?(grads: Map<string, Tensor>, extra?: Float32Array): Promise<void>;
  /** GatherLayer: every rank's rows concatenated, gradient summed back (blocking; inside the tape). */
  allGatherWithGrad?(t: Tensor): Tensor;
  /** Rank 0's parameters and buffers on every rank (after building the model). */
  broadcastModule?(module: { namedParameters(): [string, import('../engine/tf.js').Variable][]; namedBuffers(): [string, import('../engine/tf.js').Variable][] }): void;
  /** MoCo's batch shuffle across ranks (blocking) and its inverse. */
  batchShuffle?(x: Tensor): { x: Tensor; idxUnshuffle: Int32Array };
  batchUnshuffle?(x: Tensor, idxUnshuffle: Int32Array): Tensor;
  /** Log variables averaged over ranks (MMSelfSup `_parse_losses`). */
  reduceLogVars?(vars: Record<string, number>): Record<string, number>;
  /** The float32 collectives underneath (no tfjs: usable before the backend is up; kNN gathering). */
  readonly collectives?: FloatCollectives;
  close(): Promise<void>;
}

/** One process: every collective is the identity. */
export function singleProcessContext(): DistContext {
  return {
    rank: 0,
    worldSize: 1,
    localRank: 0,
    allReduce: async (t) => tf.clone(t),
    allGather: async (t) => [tf.clone(t)],
    broadcast: async (t) => tf.clone(t),
    barrier: async () => {},
    close: async () => {},
  };
}

import { setBatchStatsReducer } from '../../engine/layers/batch-norm.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { DistContext, ReduceOp } from '../context.js';
import { batchShuffleDdp, batchUnshuffleDdp } from './batch-shuffle.js';
import { gatherWithGrad } from './gather-grad.js';
import { reduceLogVars } from './reduce.js';
import { broadcastModuleState, initRandomSeed } from './state.js';
import { syncBatchStatsReducer } from './sync-bn.js';

/**
 * The trainer's view of the job (the shape of `src/dist/trainer-context.ts`'s DistContext, on
 * tensors), plus the blocking helpers that must run inside tapes or on modules.
 * Collectives return new tensors the caller owns; inputs are not disposed.
 */
export interface TensorDistContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** The float32 collectives underneath. */
  readonly collectives: DistContext;
  allReduce(t: Tensor, op?: ReduceOp): Promise<Tensor>;
  allGather(t: Tensor): Promise<Tensor[]>;
  broadcast(t: Tensor, src?: number): Promise<Tensor>;
  barrier(): Promise<void>;
  /** Replaces every gradient in the map by its mean over ranks (one all-reduce; old tensors disposed). */
  allReduceGrads(grads: Map<string, Tensor>, extra?: Float32Array): Promise<void>;
  /** GatherLayer with the summed gradient (blocking; call inside the tape). */
  allGatherWithGrad(t: Tensor): Tensor;
  /** Rank 0's parameters and buffers on every rank (call once after building the model). */
  broadcastModule(module: Parameters<typeof broadcastModuleState>[1]): void;
  /** init_random_seed: rank 0's seed (drawn when undefined) on every rank. */
  initRandomSeed(seed?: number): number;
  /** MoCo batch shuffle / unshuffle across ranks (blocking). */
  batchShuffle(x: Tensor): { x: Tensor; idxUnshuffle: Int32Array };
  batchUnshuffle(x: Tensor, idxUnshuffle: Int32Array): Tensor;
  /** Log variables averaged over ranks. */
  reduceLogVars(vars: Record<string, number>): Record<string, number>;
  close(): Promise<void>;
}

function typedBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Wraps float32 collectives for the trainer and installs the SyncBN reducer (BatchNorm layers
 * built with `sync: true` then use global batch statistics); `close()` uninstalls it.
 */
export function tensorDistContext(c: DistContext): TensorDistContext {
  if (c.worldSize > 1) setBatchStatsReducer(syncBatchStatsReducer(c));
  return {
    rank: c.rank,
    worldSize: c.worldSize,
    localRank: c.localRank,
    collectives: c,
    async allReduce(t, op = 'sum') {
      const data = Float32Array.from(t.dataSync());
      c.allReduce(data, op);
      return tf.tensor(data, t.shape, t.dtype === 'int32' ? 'int32' : 'float32');
    },
    async allGather(t) {
      const rowShape = t.shape.slice(1);
      const rowSize = rowShape.reduce((a, b) => a * b, 1);
      const blocks = c.allGatherBlocks(Float32Array.from(t.dataSync()));
      return blocks.map((b) => tf.tensor(b, t.rank === 0 ? [] : [b.length / rowSize, ...rowShape], t.dtype === 'int32' ? 'int32' : 'float32'));
    },
    async broadcast(t, src = 0) {
      const data = t.dataSync().slice();
      c.broadcastBytes(typedBytes(data as ArrayBufferView as Uint8Array), src);
      return tf.tensor(data as Float32Array, t.shape, t.dtype);
    },
    async barrier() {
      c.barrier();
    },
    async allReduceGrads(grads, extra) {
      if (c.worldSize === 1) return;
      const names = [...grads.keys()].sort();
      const size = names.reduce((n, k) => n + grads.get(k)!.size, 0);
      // small values ride along (one round trip per step instead of one more per value set)
      const flat = c.allocate(size + (extra?.length ?? 0));
      if (extra) flat.set(extra, size);
      let off = 0;
      for (const k of names) {
        const g = grads.get(k)!;
        flat.set(g.dataSync() as Float32Array, off);
        off += g.size;
      }
      c.allReduce(flat, 'mean');
      if (extra) extra.set(flat.subarray(size));
      off = 0;
      for (const k of names) {
        const g = grads.get(k)!;
        grads.set(k, tf.tensor(flat.subarray(off, off + g.size), g.shape, 'float32'));
        off += g.size;
        g.dispose();
      }
    },
    allGatherWithGrad: (t) => gatherWithGrad(c, t),
    broadcastModule: (m) => broadcastModuleState(c, m),
    initRandomSeed: (seed) => initRandomSeed(c, seed),
    batchShuffle: (x) => batchShuffleDdp(c, x),
    batchUnshuffle: (x, idx) => batchUnshuffleDdp(c, x, idx),
    reduceLogVars: (vars) => reduceLogVars(c, vars),
    async close() {
      if (c.worldSize > 1) setBatchStatsReducer(null);
      await c.close();
    },
  };
}

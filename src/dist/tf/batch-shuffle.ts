import { tf, type Tensor } from '../../engine/tf.js';
import type { DistContext } from '../context.js';

/** A small seeded PRNG (mulberry32) for the shuffle permutation, separate from the model's RNG streams. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let shuffleRng = mulberry32(0x5eed);

/** Re-seeds the permutation stream (call with the job's seed for reproducible runs). */
export function seedBatchShuffle(seed: number): void {
  shuffleRng = mulberry32(seed);
}

function randperm(n: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(shuffleRng() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function gatherAllRows(c: DistContext, x: Tensor): { all: Float32Array; rowSize: number; batch: number } {
  const batch = x.shape[0];
  const rowSize = x.size / batch;
  const blocks = c.allGatherBlocks(x.dataSync() as Float32Array);
  if (blocks.some((b) => b.length !== batch * rowSize)) {
    throw new Error(`batch shuffle needs the same batch size on every rank, got ${blocks.map((b) => b.length / rowSize).join(', ')}`);
  }
  const all = new Float32Array(blocks.length * batch * rowSize);
  blocks.forEach((b, i) => all.set(b, i * b.length));
  return { all, rowSize, batch };
}

function takeRows(all: Float32Array, rowSize: number, idx: Int32Array, shape: number[]): Tensor {
  const out = new Float32Array(idx.length * rowSize);
  idx.forEach((src, i) => out.set(all.subarray(src * rowSize, (src + 1) * rowSize), i * rowSize));
  return tf.tensor(out, shape, 'float32');
}

/**
 * MoCo's `_batch_shuffle_ddp`: gathers every rank's batch, rank 0 draws a permutation of the
 * global batch and broadcasts it, each rank keeps its slice. Returns the shuffled local batch and
 * `idxUnshuffle` for {@link batchUnshuffleDdp}. Same batch size on every rank. Blocking.
 */
export function batchShuffleDdp(c: DistContext, x: Tensor): { x: Tensor; idxUnshuffle: Int32Array } {
  const { all, rowSize, batch } = gatherAllRows(c, x);
  const total = batch * c.worldSize;
  const perm = c.rank === 0 ? randperm(total) : new Int32Array(total);
  c.broadcastBytes(new Uint8Array(perm.buffer), 0);
  const idxUnshuffle = new Int32Array(total);
  perm.forEach((p, i) => (idxUnshuffle[p] = i));
  const mine = perm.subarray(c.rank * batch, (c.rank + 1) * batch);
  return { x: takeRows(all, rowSize, mine, x.shape), idxUnshuffle };
}

/** MoCo's `_batch_unshuffle_ddp`: puts outputs computed on the shuffled batch back in this rank's order. Blocking. */
export function batchUnshuffleDdp(c: DistContext, x: Tensor, idxUnshuffle: Int32Array): Tensor {
  const { all, rowSize, batch } = gatherAllRows(c, x);
  return takeRows(all, rowSize, idxUnshuffle.subarray(c.rank * batch, (c.rank + 1) * batch), x.shape);
}

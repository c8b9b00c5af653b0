import type { Module } from '../../engine/module.js';
import { tf, type Variable } from '../../engine/tf.js';
import type { DistContext } from '../context.js';

/**
 * DDP's start: every rank takes rank 0's parameters and buffers (one broadcast for all float32
 * tensors, sorted by name; int32 buffers such as `num_batches_tracked` in a second). Blocking.
 */
export function broadcastModuleState(c: DistContext, module: Pick<Module, 'namedParameters' | 'namedBuffers'>, root = 0): void {
  if (c.worldSize === 1) return;
  const vars = [...module.namedParameters(), ...module.namedBuffers()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const dtype of ['float32', 'int32'] as const) {
    const group = vars.filter(([, v]) => v.dtype === dtype);
    if (group.length === 0 && dtype === 'int32') continue;
    const total = group.reduce((n, [, v]) => n + v.size, 0);
    const flat = dtype === 'float32' ? new Float32Array(total) : new Int32Array(total);
    let off = 0;
    for (const [, v] of group) {
      flat.set(v.dataSync() as Float32Array & Int32Array, off);
      off += v.size;
    }
    c.broadcastBytes(new Uint8Array(flat.buffer), root);
    off = 0;
    for (const [, v] of group) {
      const part = flat.subarray(off, off + v.size);
      off += v.size;
      tf.tidy(() => (v as Variable).assign(tf.tensor(part, v.shape, dtype)));
    }
  }
}

/**
 * The seed's `init_random_seed`: rank 0's seed (or, when none is given, a random one in
 * [0, 2^31) drawn on rank 0) on every rank. Blocking.
 */
export function initRandomSeed(c: DistContext, seed?: number): number {
  const mine = Int32Array.of(seed ?? Math.floor(Math.random() * 2 ** 31));
  if (c.worldSize === 1) return mine[0];
  c.broadcastBytes(new Uint8Array(mine.buffer), 0);
  return mine[0];
}

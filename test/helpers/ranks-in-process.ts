import type { DistContext } from '../../src/dist/trainer-context.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { tf, type Tensor } from '../../src/engine/tf.js';

/** `w` ranks in this process: the i-th all-gather of every rank resolves once all of them made it (the collectives' contract). */
export function ranksInProcess(w: number): DistContext[] {
  const calls: { parts: Tensor[]; done: ((ts: Tensor[]) => void)[] }[] = [];
  const count = new Array<number>(w).fill(0);
  return Array.from({ length: w }, (_, rank) => ({
    ...singleProcessContext(),
    rank,
    worldSize: w,
    localRank: rank,
    allGather: (t: Tensor) =>
      new Promise<Tensor[]>((resolve) => {
        const c = (calls[count[rank]++] ??= { parts: [], done: [] });
        c.parts[rank] = tf.clone(t);
        c.done[rank] = resolve;
        if (c.parts.filter(Boolean).length === w) c.done.forEach((r) => r(c.parts.map((p) => tf.clone(p))));
      }),
  }));
}

import { tf, type Tensor } from '../../engine/tf.js';
import type { StepContext } from '../contracts.js';

/**
 * The rows a memory bank takes after a step: with several ranks, every rank's features and their
 * data set indices, gathered in rank order (MMSelfSup's `SimpleMemory._gather`, `ODCMemory._gather`,
 * `InterCLRMemory._gather`), so that every rank applies the same update. Disposes `local`.
 */
export async function gatherMemoryRows(ctx: StepContext, local: Tensor, idx: ArrayLike<number>): Promise<{ idx: ArrayLike<number>; feats: Float32Array }> {
  if (ctx.dist.worldSize === 1) {
    const feats = Float32Array.from(await local.data());
    local.dispose();
    return { idx, feats };
  }
  const idxT = tf.tensor1d(Float32Array.from(idx));
  const [fs, is] = await Promise.all([ctx.dist.allGather(local), ctx.dist.allGather(idxT)]);
  const feats = Float32Array.from(await tf.concat(fs, 0).data());
  const allIdx = Int32Array.from(await tf.concat(is, 0).data());
  for (const t of [...fs, ...is, idxT, local]) t.dispose();
  return { idx: allIdx, feats };
}

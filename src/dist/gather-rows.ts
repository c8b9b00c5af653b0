import { concatFloat32 } from '../engine/concat-float32.js';
import { tf } from '../engine/tf.js';
import type { DistContext } from './trainer-context.js';

/** Every rank's rows of `width` floats, gathered in rank order into one array (the same on every rank). */
export async function allGatherRows(dist: DistContext, rows: Float32Array, width: number): Promise<Float32Array> {
  const t = tf.tensor2d(rows, [rows.length / width, width]);
  const all = await dist.allGather(t);
  t.dispose();
  const out = concatFloat32(all.map((b) => b.dataSync() as Float32Array));
  all.forEach((b) => b.dispose());
  return out;
}

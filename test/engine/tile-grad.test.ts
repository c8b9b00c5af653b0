import { TFJS_GRADIENT_CONFIGS } from '../../src/engine/gradients/tfjs-gradients.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { describeEachEngine } from './backends-under-test.js';

type GradFunc = (dy: Tensor, saved: Tensor[], attrs: Record<string, unknown>) => { x: () => Tensor };
const tfjsTileGrad = (TFJS_GRADIENT_CONFIGS as { kernelName: string; gradFunc: GradFunc }[]).find((c) => c.kernelName === 'Tile')!.gradFunc;

// [x shape, reps]: MAE's mask token and ViT's class token, size-1 axes tiled and not, repeats of 1
const CASES: [number[], number[]][] = [
  [[1, 1, 6], [4, 5, 1]],
  [[1, 1, 6], [3, 1, 1]],
  [[2, 3], [2, 3]],
  [[5], [3]],
  [[2, 1, 3, 2], [1, 4, 2, 3]],
  [[3, 2], [1, 1]],
];

describeEachEngine('Tile gradient: one reshape and one sum', () => {
  test.each(CASES)('x %j, reps %j: equal to tfjs own gradient', (shape, reps) => {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = tf.tensor(Array.from({ length: size(shape) }, (_, i) => Math.sin(i)), shape);
    const w = tf.tensor(Array.from({ length: size(shape) * size(reps) }, (_, i) => Math.cos(0.7 * i)), shape.map((s, i) => s * reps[i]));
    const ours = tf.grad((a: Tensor) => tf.sum(tf.mul(tf.tile(a, reps), w)))(x);
    const theirs = tfjsTileGrad(w, [x], { reps }).x();
    expect(ours.shape).toEqual(shape);
    const [a, b] = [ours.dataSync(), theirs.dataSync()];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
  });

  test('a rank-6 tile (SimMIM-style mask upsampling), against sums written out', () => {
    const x = tf.tensor(Array.from({ length: 6 }, (_, i) => i), [1, 2, 1, 3, 1, 1]);
    const reps = [2, 1, 2, 1, 3, 1];
    const outShape = [2, 2, 2, 3, 3, 1];
    const w = Array.from({ length: 72 }, (_, i) => (i * 7) % 11);
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(tf.tile(a, reps), tf.tensor(w, outShape))))(x).dataSync();
    // x[0, i, 0, j, 0, 0] receives w at every (r0, i, r2, j, r4, 0)
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        let want = 0;
        for (let r0 = 0; r0 < 2; r0++) for (let r2 = 0; r2 < 2; r2++) for (let r4 = 0; r4 < 3; r4++) want += w[((((r0 * 2 + i) * 2 + r2) * 3 + j) * 3 + r4)];
        expect(g[i * 3 + j]).toBeCloseTo(want, 4);
      }
    }
  });

  test('MAE-sized mask tokens: the gradient runs a handful of kernels, not one slice and add per repetition', async () => {
    const token = tf.variable(tf.ones([1, 1, 16]));
    const profile = await tf.profile(() => {
      const g = tf.variableGrads(() => tf.sum(tf.tile(token, [32, 48, 1])) as tf.Scalar, [token]);
      g.value.dispose();
      return g.grads[token.name];
    });
    expect(profile.kernels.length).toBeLessThan(10); // tfjs's own: 2 × 1,536
    token.dispose();
  });
});

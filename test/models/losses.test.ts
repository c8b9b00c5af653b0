import { tf } from '../../src/engine/tf.js';
import { contrastiveLoss, simclrPairs } from '../../src/models/losses/contrastive.js';
import { crossCorrelationLoss, crossEntropy, negativeCosineLoss } from '../../src/models/losses/similarity.js';
import { stopGradient } from '../../src/models/ops.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function rand(rows: number, cols: number, seed: number): number[][] {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Array.from({ length: rows }, () => Array.from({ length: cols }, r));
}
const norm = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const unit = (v: number[]) => v.map((x) => x / norm(v));

/** MMSelfSup SimCLR (views of image i in rows 2i, 2i+1), done naively: per row CE over (pos, negs). */
function naiveNtXent(z: number[][], t: number): number {
  const m = z.length;
  const u = z.map(unit);
  let total = 0;
  for (let k = 0; k < m; k++) {
    const partner = k ^ 1;
    const logits = [dot(u[k], u[partner]) / t];
    for (let c = 0; c < m; c++) if (c !== k && c !== partner) logits.push(dot(u[k], u[c]) / t);
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((a, l) => a + Math.exp(l - mx), 0));
    total += lse - logits[0];
  }
  return total / m;
}

describe('losses match naive references', () => {
  test.each([[4, 3, 0.1], [8, 5, 0.2], [6, 16, 0.5]])('NT-Xent (SimCLR pairs + ContrastiveHead), 2N=%i D=%i T=%f', (m, d, t) => {
    const z = rand(m, d, m * 7 + d);
    const got = tf.tidy(() => {
      const zt = tf.tensor2d(z);
      const zn = tf.div(zt, tf.norm(zt, 2, 1, true));
      const { pos, neg } = simclrPairs(zn);
      return contrastiveLoss(pos, neg, t).dataSync()[0];
    });
    expect(got).toBeCloseTo(naiveNtXent(z, t), 4);
  });

  test('InfoNCE gradient equals the taped CE(cat([pos, neg]) / T, 0), also with masked and large logits', () => {
    const taped = (pos: tf.Tensor, neg: tf.Tensor, t: number) => {
      const logits = tf.div(tf.concat([pos, neg], 1), t);
      return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.squeeze(tf.slice(logits, [0, 0], [-1, 1]), [1])));
    };
    const negRows = rand(6, 9, 5).map((row, i) => row.map((v, j) => (i === 2 && j < 4 ? -1e9 : i === 4 ? 30 * v : v)));
    const posRows = rand(6, 1, 6).map(([v], i) => [i === 4 ? 25 : v]);
    for (const t of [0.07, 0.2, 1]) {
      tf.tidy(() => {
        const pos = tf.tensor2d(posRows);
        const neg = tf.tensor2d(negRows);
        const want = tf.grads((p: tf.Tensor, n: tf.Tensor) => taped(p, n, t))([pos, neg]);
        const got = tf.grads((p: tf.Tensor, n: tf.Tensor) => contrastiveLoss(p, n, t))([pos, neg]);
        expect(contrastiveLoss(pos, neg, t).dataSync()[0]).toBeCloseTo(taped(pos, neg, t).dataSync()[0], 4);
        for (let k = 0; k < 2; k++) {
          const w = want[k].dataSync();
          const g = got[k].dataSync();
          const scale = Math.max(...Array.from(w, Math.abs));
          expect(scale).toBeGreaterThan(1e-3);
          w.forEach((v, i) => expect(Math.abs(g[i] - v)).toBeLessThan(1e-5 * scale + 1e-8));
        }
      });
    }
  });

  test('negative cosine similarity', () => {
    const p = rand(5, 4, 1);
    const q = rand(5, 4, 2);
    const want = -p.reduce((s, row, i) => s + dot(unit(row), unit(q[i])), 0) / 5;
    expect(tf.tidy(() => negativeCosineLoss(tf.tensor2d(p), tf.tensor2d(q)).dataSync()[0])).toBeCloseTo(want, 5);
  });

  test('Barlow Twins cross-correlation loss', () => {
    const a = rand(6, 3, 3);
    const b = rand(6, 3, 4);
    const lambd = 0.0051;
    let on = 0;
    let off = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const c = a.reduce((s, row, k) => s + row[i] * b[k][j], 0) / 6;
        if (i === j) on += (1 - c) ** 2;
        else off += c * c;
      }
    }
    expect(tf.tidy(() => crossCorrelationLoss(tf.tensor2d(a), tf.tensor2d(b), lambd).dataSync()[0])).toBeCloseTo(on + lambd * off, 5);
  });

  test('cross-entropy', () => {
    const logits = rand(3, 4, 5);
    const labels = [0, 3, 1];
    const want = -logits.reduce((s, row, i) => {
      const mx = Math.max(...row);
      return s + row[labels[i]] - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    }, 0) / 3;
    expect(tf.tidy(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')).dataSync()[0])).toBeCloseTo(want, 5);
  });

  test('stopGradient passes values and blocks gradients', () => {
    const x = tf.tensor1d([1, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(v, 3), tf.mul(stopGradient(v), 5))))(x);
    expect(Array.from(g.dataSync())).toEqual([3, 3]);
  });
});

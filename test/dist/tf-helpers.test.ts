import { join } from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { BatchNorm } from '../../src/engine/layers/batch-norm.js';
import { compileForChildren, freePort, REPO, runNode } from './helpers.js';

const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'tf-rank.mjs');
type Out = Record<string, any>;

let results: Out[];

beforeAll(async () => {
  await tf.setBackend('cpu');
  const lib = compileForChildren(['src/dist', 'src/errors.ts', 'src/engine']);
  const port = await freePort();
  const runs = [0, 1].map((r) =>
    runNode(SCRIPT, [lib], { RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done,
  );
  const finished = await Promise.all(runs);
  results = finished.map((f) => {
    const line = f.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (f.code !== 0 || !line) throw new Error(`rank failed (exit ${f.code}):\n${f.stderr}`);
    return JSON.parse(line.slice(7)) as Out;
  });
});

const rowsOf = (rank: number) => tf.tensor2d(Array.from({ length: 6 }, (_, i) => Math.sin(rank * 10 + i)), [2, 3]);

function close(a: number[], b: number[] | Float32Array, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(tol * Math.max(1, Math.abs(b[i]))));
}

describe('tfjs helpers across 2 processes', () => {
  it('gather-with-gradient: forward concatenates, backward is this rank\'s slice of the summed gradient', () => {
    const full = tf.concat([rowsOf(0), rowsOf(1)], 0);
    const W = tf.tensor2d(Array.from({ length: 12 }, (_, i) => (i % 5) - 2), [4, 3]);
    // Every rank computes the same loss L(G); Σ over ranks of dL/dG = 2·dL/dG.
    const g = tf.mul(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sin(t), W)))(full), 2).dataSync() as Float32Array;
    for (const r of [0, 1]) {
      close(results[r].gathered, full.dataSync() as Float32Array);
      close(results[r].gatherGrad, g.subarray(r * 6, r * 6 + 6));
    }
  });

  it('SyncBN with 3 rows per rank equals BatchNorm over all 6 rows (output, input gradient, running stats)', () => {
    const xs = [0, 1].map((r) => tf.tensor2d(Array.from({ length: 6 }, (_, i) => Math.cos(r * 7 + i) * (i + 1)), [3, 2]));
    const bw = tf.tensor2d([1, -2, 3, 0.5, -1, 2], [3, 2]);
    const full = tf.concat(xs, 0);
    const bn = new BatchNorm(2);
    const y = bn.forward(full).dataSync() as Float32Array;
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bn.forward(t), tf.concat([bw, bw], 0))))(full).dataSync() as Float32Array;
    for (const r of [0, 1]) {
      close(results[r].bnOut, y.subarray(r * 6, r * 6 + 6));
      close(results[r].bnGrad, grad.subarray(r * 6, r * 6 + 6));
    }
    // Two forward passes on each side: running stats agree too.
    const bn2 = new BatchNorm(2);
    bn2.forward(full);
    bn2.forward(full);
    close(results[0].runningMean, bn2.runningMean!.dataSync() as Float32Array);
  });

  it('gradient averaging, seed and weights from rank 0, log reduction, kNN gather, int broadcast', () => {
    for (const res of results) {
      expect(res.grads).toEqual({ a: [5], b: [0.5, 1] });
      expect(res.seed).toBe(1234);
      expect(res.weight).toEqual([1, 2]);
      expect(res.logVars).toEqual({ acc: 5, loss: 1.5 });
      expect(res.knn).toEqual({ rows: 3, labels: [5, 6, 6] });
      expect(res.bcastInt).toEqual(['int32', 77]);
    }
  });

  it('batch shuffle deals out a permutation of the global batch and unshuffle restores each rank\'s order', () => {
    const all = [...results[0].shuffled, ...results[1].shuffled].sort((a: number, b: number) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107]);
    for (const r of [0, 1]) expect(results[r].unshuffled).toEqual(Array.from({ length: 8 }, (_, i) => 2 * (r * 100 + i)));
    // Rows stay whole.
    for (const r of [0, 1]) for (let i = 0; i < 8; i += 2) expect(results[r].shuffled[i + 1]).toBe(results[r].shuffled[i] + 1);
  });
});

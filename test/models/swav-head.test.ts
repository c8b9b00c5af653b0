/**
 * SwAVHead against MMSelfSup 0.x's SwAVHead.forward in PyTorch (tools/torch-swav-head-reference.py
 * wrote test/fixtures/torch/swav-head.json): prototype normalisation, Sinkhorn-Knopp, swapped
 * prediction loss, its gradients and the queue update, from the same inputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import type { Scalar } from '@tensorflow/tfjs-core';
import { tf } from '../../src/engine/tf.js';
import { ConfigError } from '../../src/errors.js';
import { SwAVHead, sinkhorn } from '../../src/models/heads/swav-head.js';

interface Case {
  head: Record<string, unknown> & { feat_dim: number; num_prototypes: number; crops_for_assign: number[] };
  bs: number;
  queue_rows: number;
  x: number[];
  prototypes_weight: number[];
  queue_before: number[] | null;
  loss: number;
  grad_x: number[];
  grad_prototypes_weight: number[];
  queue_after: number[] | null;
}
const FIXTURE = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'torch', 'swav-head.json'), 'utf8')) as { cases: Record<string, Case> };

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
};

describe.each(Object.entries(FIXTURE.cases))('%s', (_name, c) => {
  test('loss within 1e-4 relative, gradients within 1e-3, queue as PyTorch', async () => {
    const { type: _t, ...args } = c.head;
    const head = new SwAVHead(args);
    const [d, k] = [c.head.feat_dim, c.head.num_prototypes];
    head.prototypes.weight.assign(tf.transpose(tf.tensor2d(c.prototypes_weight, [k, d])));
    if (c.queue_before) {
      const per = c.queue_rows * d;
      head.queue = c.head.crops_for_assign.map((_, i) => Float32Array.from(c.queue_before!.slice(i * per, (i + 1) * per)));
    }
    head.normalizePrototypes();
    const x = tf.variable(tf.tensor2d(c.x, [c.x.length / d, d]));
    const { value, grads } = tf.variableGrads(() => head.forward(x).loss as Scalar, [x, head.prototypes.weight]);
    const loss = (await value.data())[0];
    expect(Math.abs(loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-4);
    expect(maxRel(await grads[x.name].data(), c.grad_x)).toBeLessThan(1e-3);
    const gw = await tf.transpose(grads[head.prototypes.weight.name]).data();
    expect(maxRel(gw, c.grad_prototypes_weight)).toBeLessThan(1e-3);
    await head.updateQueue();
    if (c.queue_after) {
      const after = Float32Array.from(head.queue!.flatMap((q) => Array.from(q)));
      expect(maxRel(after, c.queue_after)).toBeLessThan(1e-6);
      expect(head.useQueue).toBe(true);
    } else {
      expect(head.queue).toBeNull();
    }
  });
});

test('Sinkhorn codes: rows sum to 1, every prototype gets B/K of the mass', async () => {
  const out = tf.randomUniform([6, 4], -1, 1, 'float32', 7);
  const q = sinkhorn(out, 50, 0.5);
  for (const r of await tf.sum(q, 1).data()) expect(r).toBeCloseTo(1, 4);
  for (const col of await tf.sum(q, 0).data()) expect(col).toBeCloseTo(6 / 4, 2);
});

test('crops_for_assign outside num_crops and a bad num_crops are ConfigErrors naming the key', () => {
  expect(() => new SwAVHead({ feat_dim: 4, num_crops: [2, 6], crops_for_assign: [0, 8] })).toThrow(ConfigError);
  expect(() => new SwAVHead({ feat_dim: 4, num_crops: [2, 6], crops_for_assign: [0, 8] })).toThrow(/crops_for_assign \[0,8\] has 8, outside the 8 crops/);
  expect(() => new SwAVHead({ feat_dim: 4, num_crops: [2, 0] })).toThrow(/num_crops must be a list of positive integers/);
});

test('a filled queue keeps nothing of its [queue + batch, K] scores for the backward pass (queue_length 3840 ran wasm out of its 4 GiB heap)', async () => {
  const [d, k, bs, rows] = [16, 3000, 2, 1024];
  const head = new SwAVHead({ feat_dim: d, num_prototypes: k, crops_for_assign: [0, 1], num_crops: [2, 2] });
  head.queue = [0, 1].map((c) => Float32Array.from({ length: rows * d }, (_, i) => Math.sin(i + c)));
  head.normalizePrototypes();
  const x = tf.variable(tf.randomNormal([4 * bs, d], 0, 1, 'float32', 3));
  const before = tf.memory().numBytes;
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const loss = head.forward(x).loss as Scalar;
    held = tf.memory().numBytes - before;
    return loss;
  }, [x, head.prototypes.weight]);
  const scores = 4 * (rows + bs) * k; // bytes of one crop's Sinkhorn input
  expect(held).toBeLessThan(scores / 4);
  expect(Number.isFinite((await value.data())[0])).toBe(true);
  expect(head.useQueue).toBe(true);
  tf.dispose([value, x, ...Object.values(grads)]);
  head.dispose();
});

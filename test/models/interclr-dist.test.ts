/**
 * InterCLR-MoCo across 2 ranks as MMSelfSup 0.x runs it: each rank contrasts its half of the batch; the
 * keys are all-gathered before they enter the (one, global) queue (`_dequeue_and_enqueue`), and the inter
 * branch's keys and indices are all-gathered before the memory update (`InterCLRMemory._gather`), whose
 * result every rank holds (MMSelfSup updates rank 0's bank and broadcasts the rows; here every rank applies
 * the same gathered update), the labels and change ratio computed on the gathered rows; the centroid update
 * and small-cluster handling of InterCLRHook then run on equal memories; DDP averages the gradients.
 * The single-process run this implies is one process with the whole batch: after 3 SGD steps both ranks
 * hold its memory (features, labels, centroids), queue and parameters, their mean loss and averaged
 * gradients are its loss and gradients, and their change ratios are its change ratio.
 * Per-sample features need BN on running statistics (eval mode), as the NPID and ODC tests; the inter
 * branch's positive/negative draws (random per rank in MMSelfSup) are a fixed function of the sample and
 * the memory's labels, the same in both runs.
 */
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import type { Batch, StepContext } from '../../src/models/contracts.js';
import { buildModel } from '../../src/models/index.js';
import type { InterCLRMoCo } from '../../src/models/algorithms/interclr-moco.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import { ranksInProcess } from '../helpers/ranks-in-process.js';

const L = 16;
const NEG = 4;
const cfg = {
  type: 'InterCLRMoCo',
  backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4] },
  neck: { type: 'MoCoV2Neck', in_channels: 16, hid_channels: 16, out_channels: 8 },
  head: { type: 'ContrastiveHead', temperature: 0.2 },
  queue_len: 16, feat_dim: 8, momentum: 0.99,
  memory_bank: { type: 'InterCLRMemory', length: L, feat_dim: 8, momentum: 0.5, num_classes: 3, min_cluster: 6 },
  neg_num: NEG, semihard_neg_pool_num: 8, semieasy_neg_pool_num: 8, share_neck: false, num_classes: 3,
  intra_cos_marign_loss: true, intra_cos_margin: 0.1,
};

function model(): InterCLRMoCo {
  manualSeed(0);
  const m = buildModel(cfg) as unknown as InterCLRMoCo;
  m.eval();
  const feats = Float32Array.from({ length: L * 8 }, (_, i) => Math.cos(i * 1.3));
  m.memoryBank.initMemory(feats, Int32Array.from({ length: L }, (_, i) => i % 3));
  const labels = m.memoryBank.labelBank;
  // positive: the next sample of the same cluster; negatives: samples of other clusters, 7 apart (7 is prime to L)
  m.drawInterSamples = (_f, idx) => {
    const pos = Int32Array.from(idx, (i) => {
      for (let s = 1; s < L; s++) if (labels[(i + s) % L] === labels[i]) return (i + s) % L;
      return i;
    });
    const neg = new Int32Array(idx.length * NEG);
    idx.forEach((i, b) => {
      for (let s = 1, n = 0; n < NEG; s++) if (labels[(i + 7 * s) % L] !== labels[i]) neg[b * NEG + n++] = (i + 7 * s) % L;
    });
    return { pos, neg };
  };
  return m;
}

/** Samples [from, from + n) of step s's batch of 8: two views, dataset indices. */
function batch(s: number, from: number, n: number): Batch {
  const hw = 16 * 16 * 3;
  const view = (v: number) => ({ data: Float32Array.from({ length: n * hw }, (_, i) => Math.sin(0.37 * (from * hw + i) + 1.7 * v + 2.9 * s)), shape: [n, 16, 16, 3] });
  const idx = Int32Array.from({ length: 8 }, (_, i) => (5 * s + 3 * i) % L);
  return { views: [view(0), view(1)], idx: idx.slice(from, from + n) } as unknown as Batch;
}

/** InterCLRHook.after_train_iter with centroids_update_interval = deal_with_small_clusters_interval = 1. */
function hookAfterIter(m: InterCLRMoCo): void {
  m.memoryBank.updateCentroidsMemory();
  m.memoryBank.dealWithSmallClusters();
}

const rel = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 0) => {
  let num = 0;
  let den = Math.max(floor, 1e-12);
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test("InterCLR's gathered queue and memory across 2 ranks: both ranks end with the memory, queue and weights of one process with the whole batch", async () => {
  const one = model();
  const [m0, m1] = [model(), model()];
  const dists = ranksInProcess(2);
  const opt = (m: InterCLRMoCo) => buildOptimizer(m.namedParameters(), { type: 'SGD', lr: 0.01, momentum: 0.9, weight_decay: 1e-4 }).optimizer;
  const [o, o0, o1] = [opt(one), opt(m0), opt(m1)];
  const initial = one.memoryBank.featureBank.slice();
  let smallClusterSteps = 0;
  for (let s = 0; s < 3; s++) {
    const outOne = await one.trainStep(batch(s, 0, 8), { dist: singleProcessContext() });
    const [out0, out1] = await Promise.all([m0.trainStep(batch(s, 0, 4), { dist: dists[0] } as StepContext), m1.trainStep(batch(s, 4, 4), { dist: dists[1] } as StepContext)]);
    // the losses are means over the samples: the ranks' mean is the whole batch's, and so are the gradients
    expect(Math.abs((out0.loss + out1.loss) / 2 - outOne.loss) / outOne.loss).toBeLessThan(1e-5);
    expect(out0.logVars.change_ratio).toBe(outOne.logVars.change_ratio);
    expect(out1.logVars.change_ratio).toBe(outOne.logVars.change_ratio);
    const mean = new Map<string, Tensor>([...out0.grads].map(([n, g]) => [n, tf.tidy(() => tf.div(tf.add(g, out1.grads.get(n)!), 2))]));
    const largest = Math.max(...[...outOne.grads.values()].map((g) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])));
    for (const [n, g] of outOne.grads) expect([n, rel(mean.get(n)!.dataSync(), g.dataSync(), 1e-3 * largest) < 1e-4]).toEqual([n, true]);
    o.step(outOne.grads);
    o0.step(mean);
    o1.step(mean);
    for (const g of [...outOne.grads.values(), ...out0.grads.values(), ...out1.grads.values(), ...mean.values()]) g.dispose();
    const hist = one.memoryBank.histogram();
    if (hist.some((c) => c < 6)) smallClusterSteps++;
    for (const m of [one, m0, m1]) hookAfterIter(m);
  }
  const [a, b, ref] = [m0, m1, one].map((m) => m.memoryBank);
  expect(Array.from(b.featureBank)).toEqual(Array.from(a.featureBank));
  expect(Array.from(b.labelBank)).toEqual(Array.from(a.labelBank));
  expect(Array.from(a.labelBank)).toEqual(Array.from(ref.labelBank));
  expect(rel(a.featureBank, ref.featureBank)).toBeLessThan(1e-5);
  expect(rel(a.centroids, ref.centroids)).toBeLessThan(1e-5);
  // the memory moved (rank 1's samples on rank 0 too), and the queue, parameters and BN buffers follow the single process
  expect(rel(ref.featureBank, initial)).toBeGreaterThan(1e-2);
  const state = one.stateDict();
  for (const m of [m0, m1]) {
    for (const [n, t] of m.stateDict()) expect([n, rel(t.dataSync(), state.get(n)!.dataSync()) < 1e-4]).toEqual([n, true]);
  }
  expect(smallClusterSteps).toBeGreaterThan(0);
  for (const x of [o, o0, o1]) x.dispose();
}, 60_000);

import { tf } from '../../src/engine/tf.js';
import { evaluateKnn, knnClassify, knnDatasets, type FeatureBank } from '../../src/eval/knn.js';
import { loadConfig } from '../../src/config/index.js';

function bank(rows: number[][], labels: number[]): FeatureBank {
  const dim = rows[0].length;
  const unit = rows.map((r) => {
    const n = Math.hypot(...r);
    return r.map((x) => x / n);
  });
  return { feats: Float32Array.from(unit.flat()), labels: Int32Array.from(labels), n: rows.length, dim };
}

/** Naive weighted kNN (DINO/MMSelfSup knn_classifier). */
function naive(b: FeatureBank, q: FeatureBank, k: number, t: number): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < q.n; i++) {
    const sims = Array.from({ length: b.n }, (_, j) => {
      let s = 0;
      for (let d = 0; d < b.dim; d++) s += q.feats[i * q.dim + d] * b.feats[j * b.dim + d];
      return [s, b.labels[j]] as const;
    }).sort((x, y) => y[0] - x[0]).slice(0, k);
    // every class is ranked, as torch's probs.sort over all classes (zero-vote ties by class index)
    const votes = new Map<number, number>(Array.from({ length: 7 }, (_, c) => [c, 0]));
    for (const [s, l] of sims) votes.set(l, votes.get(l)! + Math.exp(s / t));
    const order = [...votes.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).map(([l]) => l);
    if (order[0] === q.labels[i]) top1++;
    if (order.slice(0, 5).includes(q.labels[i])) top5++;
  }
  return { top1: (100 * top1) / q.n, top5: (100 * top5) / q.n };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('weighted kNN', () => {
  test('matches a naive implementation (k < bank, small temperature, 7 classes)', () => {
    let s = 11;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: 6 }, r));
    const lab = (n: number) => Array.from({ length: n }, (_, i) => (i * 5) % 7);
    const b = bank(rows(60), lab(60));
    const q = bank(rows(25), lab(25));
    for (const [k, t] of [[5, 0.07], [20, 0.5], [200, 0.1]] as const) {
      const got = knnClassify(b, q, k, t, 7, 8);
      const want = naive(b, q, Math.min(k, 60), t);
      expect(got.top1).toBeCloseTo(want.top1, 6);
      expect(got.top5).toBeCloseTo(want.top5, 6);
    }
  });

  test('separable clusters are classified perfectly', () => {
    const b = bank([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], [0, 0, 1, 1]);
    const q = bank([[1, 0.05], [0.05, 1]], [0, 1]);
    expect(knnClassify(b, q, 2, 0.1).top1).toBe(100);
  });

  test('default datasets: un-augmented train source, val = test_mode, Normalize kept', () => {
    const cfg = loadConfig('configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml') as Record<string, unknown>;
    const ds = knnDatasets(cfg);
    expect(ds.train).toMatchObject({ type: 'SingleViewDataset', pipeline: [{ type: 'ToTensor' }, { type: 'Normalize' }] });
    expect(ds.val).toMatchObject({ data_source: { type: 'SyntheticShapes', seed: 1 } });
  });

  test('end to end on synthetic shapes: features of the random-init backbone, accuracy in [0, 100]', async () => {
    const cfg = loadConfig('configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml') as Record<string, any>;
    const src = { type: 'SyntheticShapes', num_samples: 24, image_size: 16, channels: 3, num_classes: 3 };
    const pipeline = [{ type: 'ToTensor' }];
    cfg.knn = { k: 5, temperature: 0.1, samples_per_gpu: 8, train: { type: 'SingleViewDataset', data_source: src, pipeline }, val: { type: 'SingleViewDataset', data_source: { ...src, num_samples: 9, seed: 5 }, pipeline } };
    const r = await evaluateKnn(cfg, { backend: 'wasm' });
    expect(r).toMatchObject({ k: 5, temperature: 0.1, numTrain: 24, numVal: 9 });
    expect(r.top1).toBeGreaterThanOrEqual(0);
    expect(r.top5).toBeGreaterThanOrEqual(r.top1);
  });
});

import { buildDataset, buildDataLoader, DistributedSampler } from '../../src/data/index.js';
import type { Batch } from '../../src/data/index.js';

const simclrTrain = (numSamples: number, size = 16) => ({
  type: 'MultiViewDataset',
  data_source: { type: 'SyntheticShapes', num_samples: numSamples, image_size: size, channels: 3, num_classes: 4 },
  num_views: [2],
  pipelines: [
    [
      { type: 'RandomResizedCrop', size: 12, scale: [0.2, 1.0] },
      { type: 'RandomHorizontalFlip' },
      { type: 'RandomAppliedTrans', transforms: [{ type: 'ColorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }], p: 0.8 },
      { type: 'RandomGrayscale', p: 0.2 },
      { type: 'GaussianBlur', sigma_min: 0.1, sigma_max: 2.0, p: 0.5 },
      { type: 'ToTensor' },
      { type: 'Normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    ],
  ],
});

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('buildDataLoader', () => {
  it('yields NHWC float32 two-view batches with labels and indices', async () => {
    const ds = await buildDataset(simclrTrain(10));
    const loader = buildDataLoader(ds, { samplesPerGpu: 4, dropLast: true, seed: 1 });
    expect(loader.length).toBe(2);
    const batches = await collect(loader.epoch(0));
    expect(batches).toHaveLength(2);
    for (const b of batches) {
      expect(b.views).toHaveLength(2);
      for (const v of b.views) {
        expect(v.shape).toEqual([4, 12, 12, 3]);
        expect(v.data).toBeInstanceOf(Float32Array);
        expect(v.data.length).toBe(4 * 12 * 12 * 3);
        expect(v.data.every(Number.isFinite)).toBe(true);
      }
      expect(Array.from(b.labels!)).toEqual(Array.from(b.idx, (i) => i % 4));
      // Two views of one image differ (independent augmentations).
      expect(b.views[0].data).not.toEqual(b.views[1].data);
    }
    const all = batches.flatMap((b) => Array.from(b.idx));
    expect(new Set(all).size).toBe(8);
  });

  it('is reproducible for (seed, epoch) and changes with the epoch', async () => {
    const ds = await buildDataset(simclrTrain(8));
    const a = await collect(buildDataLoader(ds, { samplesPerGpu: 4, seed: 3 }).epoch(1));
    const b = await collect(buildDataLoader(ds, { samplesPerGpu: 4, seed: 3 }).epoch(1));
    const c = await collect(buildDataLoader(ds, { samplesPerGpu: 4, seed: 3 }).epoch(2));
    expect(a[0].views[0].data).toEqual(b[0].views[0].data);
    expect(a[0].idx).toEqual(b[0].idx);
    expect(Array.from(a.flatMap((x) => Array.from(x.idx)))).not.toEqual(Array.from(c.flatMap((x) => Array.from(x.idx))));
  });

  it('keeps the last partial batch without drop_last', async () => {
    const ds = await buildDataset(simclrTrain(10));
    const loader = buildDataLoader(ds, { samplesPerGpu: 4, dropLast: false });
    const batches = await collect(loader.epoch(0));
    expect(batches.map((b) => b.idx.length)).toEqual([4, 4, 2]);
    expect(batches[2].views[0].shape[0]).toBe(2);
  });

  it('rejects a batch larger than the dataset with drop_last before any loading', async () => {
    const ds = await buildDataset(simclrTrain(3));
    expect(() => buildDataLoader(ds, { samplesPerGpu: 4, dropLast: true })).toThrow(/samples_per_gpu 4 is larger than the 3 samples/);
  });
});

describe('DistributedSampler', () => {
  it.each([
    [10, 3],
    [8, 4],
    [7, 2],
  ])('splits %i samples over %i ranks without overlap (PyTorch padding)', (n, world) => {
    const per = Array.from({ length: world }, (_, r) => new DistributedSampler(n, { rank: r, worldSize: world, seed: 5 }).indices(2));
    const size = Math.ceil(n / world);
    for (const p of per) expect(p).toHaveLength(size);
    const flat = per.flat();
    expect(new Set(flat).size).toBe(n);
    // Padding repeats exactly total - n samples.
    expect(flat.length - n).toBe(size * world - n);
    const noPad = per.map((p) => p.slice(0, Math.floor(n / world))).flat();
    expect(new Set(noPad).size).toBe(noPad.length);
  });

  it('gives every rank the same permutation per epoch and a new one next epoch', () => {
    const s = new DistributedSampler(20, { rank: 0, worldSize: 1, seed: 1 });
    expect(s.indices(0)).toEqual(new DistributedSampler(20, { rank: 0, worldSize: 1, seed: 1 }).indices(0));
    expect(s.indices(0)).not.toEqual(s.indices(1));
    expect(new DistributedSampler(5, { shuffle: false }).indices(0)).toEqual([0, 1, 2, 3, 4]);
  });

  it('drops the tail with dropLast', () => {
    const s = new DistributedSampler(10, { rank: 2, worldSize: 3, dropLast: true });
    expect(s.numSamples).toBe(3);
  });
});

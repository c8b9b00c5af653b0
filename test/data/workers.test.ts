/** Worker-thread loading. Workers run the compiled lib/ (npm test builds first; else run npm run build). */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset, buildDataLoader } from '../../src/data/index.js';
import type { Batch, DataLoader } from '../../src/data/index.js';
import type { DeepClusterDataset } from '../../src/data/datasets/views.js';

const workerJs = fileURLToPath(new URL('../../lib/src/data/loader-worker.js', import.meta.url));

const train = {
  type: 'MultiViewDataset',
  data_source: { type: 'SyntheticShapes', num_samples: 22, image_size: 20, num_classes: 5 },
  num_views: [2],
  pipelines: [
    [
      { type: 'RandomResizedCrop', size: 12 },
      { type: 'RandomHorizontalFlip' },
      { type: 'RandomAppliedTrans', transforms: [{ type: 'ColorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 }], p: 0.8 },
      { type: 'GaussianBlur', sigma_min: 0.1, sigma_max: 2.0, p: 0.5 },
      { type: 'ToTensor' },
    ],
  ],
};

async function all(loader: DataLoader, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

beforeAll(() => {
  if (!existsSync(workerJs)) throw new Error(`${workerJs} is missing: run npm run build before these tests`);
});

describe('worker threads', () => {
  it('give the same batches as in-process loading, in order, for any worker count', async () => {
    const ds = await buildDataset(train);
    const opts = { samplesPerGpu: 4, seed: 7, rank: 1, worldSize: 2, dropLast: false };
    const inline = await all(buildDataLoader(ds, opts), 3);
    for (const workers of [1, 3]) {
      const loader = buildDataLoader(ds, { ...opts, workersPerGpu: workers, prefetchFactor: 2 });
      try {
        const got = await all(loader, 3);
        expect(got.map((b) => Array.from(b.idx))).toEqual(inline.map((b) => Array.from(b.idx)));
        got.forEach((b, k) => {
          expect(b.views[1].shape).toEqual(inline[k].views[1].shape);
          expect(b.views[1].data).toEqual(inline[k].views[1].data);
          expect(b.labels).toEqual(inline[k].labels);
        });
        // Persistent workers serve the next epoch too.
        expect((await all(loader, 4)).length).toBe(inline.length);
      } finally {
        await loader.close();
      }
    }
  });

  it('send dataset state (DeepCluster labels) to workers each epoch', async () => {
    const ds = (await buildDataset({ type: 'DeepClusterDataset', data_source: { type: 'SyntheticShapes', num_samples: 6, image_size: 8 }, pipeline: [{ type: 'ToTensor' }] })) as DeepClusterDataset;
    const loader = buildDataLoader(ds, { samplesPerGpu: 6, workersPerGpu: 2, shuffle: false, persistentWorkers: false });
    expect(Array.from((await all(loader, 0))[0].pseudo_label as Int32Array)).toEqual([-1, -1, -1, -1, -1, -1]);
    ds.assignLabels([5, 4, 3, 2, 1, 0]);
    expect(Array.from((await all(loader, 1))[0].pseudo_label as Int32Array)).toEqual([5, 4, 3, 2, 1, 0]);
    await loader.close();
  });

  it('report a worker error with the file name and list line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssl-workers-'));
    writeFileSync(join(dir, 'list.txt'), 'gone.png 0\n');
    const ds = await buildDataset({ type: 'SingleViewDataset', data_source: { type: 'ImageList', ann_file: join(dir, 'list.txt'), data_prefix: dir }, pipeline: [] });
    const loader = buildDataLoader(ds, { samplesPerGpu: 1, workersPerGpu: 1 });
    try {
      await expect(all(loader, 0)).rejects.toThrow(/cannot read image .*gone\.png \(.*list\.txt:1\)/);
    } finally {
      await loader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkData, formatCheckReport } from '../../src/data/check.js';

describe('checkData (ssl data check)', () => {
  it('reports shapes and ranges and writes a grid of views', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssl-check-'));
    try {
      const cfg = {
        data: {
          samples_per_gpu: 3,
          workers_per_gpu: 0,
          drop_last: true,
          train: {
            type: 'MultiViewDataset',
            data_source: { type: 'SyntheticShapes', num_samples: 7, image_size: 20 },
            num_views: [1, 2],
            pipelines: [
              [{ type: 'RandomResizedCrop', size: 16 }, { type: 'ToTensor' }, { type: 'Normalize', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }],
              [{ type: 'RandomResizedCrop', size: 8 }, { type: 'ToTensor' }],
            ],
          },
        },
      };
      const r = await checkData(cfg, { workDir: dir, numBatches: 5 });
      expect(r.batchesChecked).toBe(2);
      expect(r.views.map((v) => v.shape)).toEqual([[3, 16, 16, 3], [3, 8, 8, 3], [3, 8, 8, 3]]);
      expect(r.views[0].min).toBeGreaterThanOrEqual(-1);
      expect(r.views[0].max).toBeLessThanOrEqual(1);
      expect(r.views[1].min).toBeGreaterThanOrEqual(0);
      expect(r.imagesPerSecond).toBeGreaterThan(0);
      const meta = await sharp(readFileSync(r.grid)).metadata();
      // 3 columns (one per view) of 18 px cells, 3 rows (batch of 3).
      expect([meta.width, meta.height, meta.format]).toEqual([54, 54, 'png']);
      expect(formatCheckReport(r).join('\n')).toMatch(/view 2: shape \[3, 8, 8, 3\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

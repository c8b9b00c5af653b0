import { autoScaleLr } from '../../src/config/auto-scale-lr.js';

describe('--auto-scale-lr', () => {
  const cfg = { optimizer: { type: 'SGD', lr: 0.03 }, data: { samples_per_gpu: 32 } };

  test('scales by total batch over the batch in the file name (8xb32 = 256)', () => {
    const r = autoScaleLr(cfg, 'mocov2_resnet50_8xb32-coslr-200e_in1k.yaml', 2);
    expect(r.factor).toBeCloseTo(64 / 256);
    expect((r.cfg.optimizer as { lr: number }).lr).toBeCloseTo(0.0075);
    expect(cfg.optimizer.lr).toBe(0.03);
  });

  test('auto_scale_lr.base_batch_size wins over the file name', () => {
    const r = autoScaleLr({ ...cfg, auto_scale_lr: { base_batch_size: 64 } }, 'x_y_8xb32-coslr_in1k.yaml', 4);
    expect(r.factor).toBe(2);
  });

  test('without a base batch it says what to set', () => {
    expect(() => autoScaleLr(cfg, 'my.yaml', 2)).toThrow(/set auto_scale_lr\.base_batch_size/);
  });
});

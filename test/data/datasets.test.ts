import { buildDataset, buildDataLoader, PIPELINES, Rng } from '../../src/data/index.js';
import type { Batch, Dataset, HostTensor } from '../../src/data/index.js';
import { rotations } from '../../src/data/datasets/pretext.js';
import type { DeepClusterDataset } from '../../src/data/datasets/views.js';

const src = (n = 6, size = 24) => ({ type: 'SyntheticShapes', num_samples: n, image_size: size, num_classes: 3 });

async function first(ds: Dataset, bs: number, epoch = 0): Promise<Batch> {
  for await (const b of buildDataLoader(ds, { samplesPerGpu: bs, shuffle: false }).epoch(epoch)) return b;
  throw new Error('no batch');
}

describe('datasets', () => {
  it('MultiViewDataset gives SwAV multi-crop views (num_views [2, 6], two crop sizes)', async () => {
    const ds = await buildDataset({
      type: 'MultiViewDataset',
      data_source: src(),
      num_views: [2, 6],
      pipelines: [
        [{ type: 'RandomResizedCrop', size: 16, scale: [0.14, 1] }, { type: 'ToTensor' }],
        [{ type: 'RandomResizedCrop', size: 8, scale: [0.05, 0.14] }, { type: 'ToTensor' }],
      ],
    });
    const b = await first(ds, 3);
    expect(b.views.map((v) => v.shape)).toEqual([...Array(2).fill([3, 16, 16, 3]), ...Array(6).fill([3, 8, 8, 3])]);
  });

  it('MultiViewDataset rejects num_views and pipelines of different lengths', async () => {
    await expect(buildDataset({ type: 'MultiViewDataset', data_source: src(), num_views: [2, 1], pipelines: [[]] })).rejects.toThrow(/num_views has 2 entries but pipelines has 1/);
  });

  it('SingleViewDataset with prefetch keeps 0..255 values (normalised on the device)', async () => {
    const ds = await buildDataset({ type: 'SingleViewDataset', data_source: src(), pipeline: [{ type: 'CenterCrop', size: 20 }], prefetch: true });
    const b = await first(ds, 2);
    expect(b.views[0].shape).toEqual([2, 20, 20, 3]);
    expect(Math.max(...b.views[0].data)).toBeGreaterThan(1);
    expect(b.views[0].data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
  });

  it('RotationPredDataset stacks 0/90/180/270 rotations with rot_label', async () => {
    const ds = await buildDataset({ type: 'RotationPredDataset', data_source: src(4, 8), pipeline: [{ type: 'ToTensor' }] });
    const b = await first(ds, 2);
    expect(b.views[0].shape).toEqual([8, 8, 8, 3]);
    expect(Array.from((b.rot_label as HostTensor<Int32Array>).data)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    // 4 x 90 degrees is the identity; 2 x 90 is 180.
    const img = { data: Float32Array.from({ length: 3 * 3 }, (_, i) => i), height: 3, width: 3, channels: 1 };
    const [r0, r90, r180, r270] = rotations(img);
    expect(Array.from(r0.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(r90.data)).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]); // counter-clockwise, as torch.flip(img.transpose(1, 2), [1])
    expect(Array.from(r180.data)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(Array.from(rotations(r90)[1].data)).toEqual(Array.from(r180.data));
    expect(Array.from(rotations(r270)[1].data)).toEqual(Array.from(r0.data));
  });

  it('RelativeLocDataset pairs 8 patches with the centre on the channel axis', async () => {
    const ds = await buildDataset({
      type: 'RelativeLocDataset',
      data_source: src(2, 96),
      pipeline: [{ type: 'Resize', size: 90 }],
      format_pipeline: [{ type: 'ToTensor' }],
    });
    const b = await first(ds, 2);
    // 90 / 3 = 30 grid, 30 - 21 = 9 px patches, 2 x 3 channels.
    expect(b.views[0].shape).toEqual([16, 9, 9, 6]);
    expect(Array.from((b.patch_label as HostTensor<Int32Array>).data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
    // The second half of the channels is the same centre patch in all 8 pairs of a sample.
    const v = b.views[0];
    const per = 9 * 9 * 6;
    const centre = (k: number) => Array.from({ length: 81 }, (_, p) => v.data[k * per + p * 6 + 3]);
    for (let k = 1; k < 8; k++) expect(centre(k)).toEqual(centre(0));
  });

  it('DeepClusterDataset yields pseudo_label from assignLabels', async () => {
    const ds = (await buildDataset({ type: 'DeepClusterDataset', data_source: src(4, 8), pipeline: [{ type: 'ToTensor' }] })) as DeepClusterDataset;
    expect(Array.from((await first(ds, 4)).pseudo_label as Int32Array)).toEqual([-1, -1, -1, -1]);
    ds.assignLabels([3, 2, 1, 0]);
    expect(Array.from((await first(ds, 4)).pseudo_label as Int32Array)).toEqual([3, 2, 1, 0]);
    expect(() => ds.assignLabels([1])).toThrow(/got 1 labels for 4 samples/);
  });

  it('ConcatDataset (also from a list) and RepeatDataset index through their parts', async () => {
    const single = (n: number, seed: number) => ({ type: 'SingleViewDataset', data_source: { ...src(n, 8), seed, num_classes: 10 }, pipeline: [{ type: 'ToTensor' }] });
    const cat = await buildDataset([single(2, 1), single(3, 2)]);
    expect(cat.type).toBe('ConcatDataset');
    expect(cat.length).toBe(5);
    expect([0, 1, 2, 3, 4].map((i) => cat.getLabel(i))).toEqual([0, 1, 0, 1, 2]);
    const part = await buildDataset(single(3, 2));
    const rng = () => new Rng(1);
    expect((await cat.getItem(3, rng())).views[0].data).toEqual((await part.getItem(1, rng())).views[0].data);
    const rep = await buildDataset({ type: 'RepeatDataset', times: 3, dataset: single(2, 1) });
    expect(rep.length).toBe(6);
    expect((await rep.getItem(5, rng())).views[0].data).toEqual((await rep.getItem(1, rng())).views[0].data);
  });

  it('rejects an empty dataset before training', async () => {
    await expect(buildDataset({ type: 'ConcatDataset', datasets: [] })).rejects.toThrow(/at least one dataset/);
  });

  it('collate names mismatching view shapes', async () => {
    const ds = await buildDataset({ type: 'SingleViewDataset', data_source: src(4, 16), pipeline: [{ type: 'RandomResizedCrop', size: 8 }, { type: 'ToTensor' }] });
    const ragged: Dataset = { ...ds, type: ds.type, length: ds.length, getLabel: (i) => ds.getLabel(i), getItem: async (i, r) => (i === 1 ? { ...(await ds.getItem(i, r)), views: [{ data: new Float32Array(3), height: 1, width: 1, channels: 3 }] } : ds.getItem(i, r)) };
    await expect(first(ragged, 2)).rejects.toThrow(/view 0 of sample 1 is 1x1x3 but sample 0 gave 8x8x3/);
  });
});

describe('mask generators', () => {
  const img = { data: new Float32Array(12), height: 2, width: 2, channels: 3 };
  it.each([
    [{ type: 'BEiTMaskGenerator', input_size: 14, num_masking_patches: 75, max_num_patches: null, min_num_patches: 16 }, [14, 14], 75],
    [{ type: 'MaskFeatMaskGenerator', mask_window_size: 14, mask_ratio: 0.4 }, [14, 14], 78],
    [{ type: 'SimMIMMaskGenerator', input_size: 192, mask_patch_size: 32, model_patch_size: 4, mask_ratio: 0.6 }, [48, 48], 22 * 64],
  ])('%o masks the configured number of patches', (cfg, shape, count) => {
    const t = PIPELINES.build(Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== null)));
    for (let seed = 0; seed < 5; seed++) {
      const extras: Record<string, any> = {};
      t.apply(img, new Rng(seed), extras);
      expect(extras.mask.shape).toEqual(shape);
      const masked = extras.mask.data.reduce((s: number, v: number) => s + v, 0);
      // Block-wise masking (BEiT's algorithm) stops when no block fits the remainder, a few short at most.
      expect(masked).toBeLessThanOrEqual(count);
      expect(masked).toBeGreaterThanOrEqual(count * 0.9);
    }
  });

  it('SimMIM masks whole 32 px blocks', () => {
    const extras: Record<string, any> = {};
    PIPELINES.build({ type: 'SimMIMMaskGenerator' }).apply(img, new Rng(3), extras);
    const m = extras.mask.data as Uint8Array;
    for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) expect(m[y * 48 + x]).toBe(m[(y - (y % 8)) * 48 + (x - (x % 8))]);
  });

  it('SimMIMMaskGenerator: bad sizes and mask_ratio are one-line errors naming the key', () => {
    for (const r of [1, -0.1, 1.5]) expect(() => PIPELINES.build({ type: 'SimMIMMaskGenerator', mask_ratio: r })).toThrow(`SimMIMMaskGenerator: mask_ratio must be in [0, 1), got ${r}`);
    expect(() => PIPELINES.build({ type: 'SimMIMMaskGenerator', input_size: 200 })).toThrow('SimMIMMaskGenerator: input_size 200 must be a multiple of mask_patch_size 32');
    expect(() => PIPELINES.build({ type: 'SimMIMMaskGenerator', model_patch_size: 5 })).toThrow('SimMIMMaskGenerator: mask_patch_size 32 must be a multiple of model_patch_size 5');
  });

  it('a masked pipeline batches the mask as [N, h, w]', async () => {
    const ds = await buildDataset({
      type: 'SingleViewDataset',
      data_source: src(4, 32),
      pipeline: [{ type: 'RandomResizedCrop', size: 32 }, { type: 'ToTensor' }, { type: 'SimMIMMaskGenerator', input_size: 32, mask_patch_size: 8, model_patch_size: 4, mask_ratio: 0.5 }],
    });
    const b = await first(ds, 4);
    expect((b.mask as HostTensor<Uint8Array>).shape).toEqual([4, 8, 8]);
  });
});

describe('other pipelines', () => {
  const u8 = { data: Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => (i * 7) % 256), height: 48, width: 48, channels: 3 };
  it('RandomAug (RandAugment) gives a normalised float crop of input_size', () => {
    const t = PIPELINES.build({ type: 'RandomAug', input_size: 32, auto_augment: 'rand-m9-mstd0.5-inc1', interpolation: 'bicubic', re_prob: 0.25, re_mode: 'pixel', re_count: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const a = t.apply(u8, new Rng(1), {});
    expect([a.height, a.width, a.channels]).toEqual([32, 32, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(t.apply(u8, new Rng(1), {}).data).toEqual(a.data);
  });

  it('Lighting adds the same PCA colour offset to every pixel', () => {
    const f = PIPELINES.build({ type: 'ToTensor' }).apply(u8, new Rng(0), {});
    const out = PIPELINES.build({ type: 'Lighting' }).apply(f, new Rng(2), {});
    const d0 = [0, 1, 2].map((c) => out.data[c] - f.data[c]);
    expect(d0.some((d) => Math.abs(d) > 1e-4)).toBe(true);
    for (let p = 0; p < 10; p++) for (let c = 0; c < 3; c++) expect(out.data[p * 3 + c] - f.data[p * 3 + c]).toBeCloseTo(d0[c], 5);
  });

  it('uint8-only transforms after ToTensor say where to move them', () => {
    const f = PIPELINES.build({ type: 'ToTensor' }).apply(u8, new Rng(0), {});
    expect(() => PIPELINES.build({ type: 'ColorJitter', brightness: 0.4 }).apply(f, new Rng(0), {})).toThrow(/put it before ToTensor/);
  });

  it('unknown transforms get suggestions', () => {
    expect(() => PIPELINES.build({ type: 'RandomResizeCrop', size: 3 })).toThrow(/did you mean RandomResizedCrop/);
  });
});

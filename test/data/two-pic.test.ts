/** RandomResizedCropAndInterpolationWithTwoPic (MaskFeat's and CAE's crop): one crop, two sizes; ToTensor converts both. */
import { buildDataset, buildDataLoader, PIPELINES, Rng } from '../../src/data/index.js';
import { buildPipeline } from '../../src/data/pipelines/index.js';

const image = (h: number, w: number) => ({ data: Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 37) % 256), height: h, width: w, channels: 3 });

test('without second_size it is a RandomResizedCrop with the same random draws', () => {
  const img = image(40, 30);
  const a = PIPELINES.build({ type: 'RandomResizedCropAndInterpolationWithTwoPic', size: 16, scale: [0.5, 1.0], ratio: [0.75, 1.3333], interpolation: 'bicubic' });
  const b = PIPELINES.build({ type: 'RandomResizedCrop', size: 16, scale: [0.5, 1.0], ratio: [0.75, 1.3333], interpolation: 'bicubic' });
  const extras: Record<string, unknown> = {};
  expect(a.apply(img, new Rng(4), extras)).toEqual(b.apply(img, new Rng(4), {}));
  expect(extras).toEqual({});
});

test('second_size resizes the same crop a second time (img_target), and ToTensor scales both to [0, 1]', () => {
  const img = image(40, 30);
  const pipe = buildPipeline(PIPELINES, [
    { type: 'RandomResizedCropAndInterpolationWithTwoPic', size: 16, second_size: 16, interpolation: 'lanczos', second_interpolation: 'lanczos' },
    { type: 'ToTensor' },
  ], 'test');
  const extras: Record<string, any> = {};
  const out = pipe.apply(img, new Rng(7), extras);
  expect(extras.img_target.shape).toEqual([16, 16, 3]);
  expect(Array.from(extras.img_target.data)).toEqual(Array.from(out.data)); // same crop, same size and filter
  expect(extras.img_target.data).toBeInstanceOf(Float32Array);
  const small: Record<string, any> = {};
  PIPELINES.build({ type: 'RandomResizedCropAndInterpolationWithTwoPic', size: 16, second_size: 8 }).apply(img, new Rng(7), small);
  expect(small.img_target.shape).toEqual([8, 8, 3]);
});

test('a CAE pipeline batches img_target [N, h, w, 3] and mask [N, h, w] next to the view', async () => {
  const ds = await buildDataset({
    type: 'SingleViewDataset',
    data_source: { type: 'SyntheticShapes', num_samples: 4, image_size: 40, num_classes: 2 },
    pipeline: [
      { type: 'RandomHorizontalFlip', p: 0.5 },
      { type: 'RandomResizedCropAndInterpolationWithTwoPic', size: 32, second_size: 16, interpolation: 'bicubic', second_interpolation: 'lanczos' },
      { type: 'ToTensor' },
      { type: 'BEiTMaskGenerator', input_size: [4, 4], num_masking_patches: 6, min_num_patches: 2 },
    ],
  });
  for await (const batch of buildDataLoader(ds, { samplesPerGpu: 2, shuffle: false }).epoch(0)) {
    expect(batch.views[0].shape).toEqual([2, 32, 32, 3]);
    expect((batch.img_target as { shape: number[] }).shape).toEqual([2, 16, 16, 3]);
    expect((batch.mask as { shape: number[] }).shape).toEqual([2, 4, 4]);
    break;
  }
});

test('BEiTMaskGenerator masks exactly num_masking_patches, as MMSelfSup loops until it does (CAE depends on it)', () => {
  const t = PIPELINES.build({ type: 'BEiTMaskGenerator', input_size: [14, 14], num_masking_patches: 75, min_num_patches: 16 });
  const img = { data: new Float32Array(12), height: 2, width: 2, channels: 3 };
  for (let seed = 0; seed < 30; seed++) {
    const extras: Record<string, any> = {};
    t.apply(img, new Rng(seed), extras);
    expect(extras.mask.data.reduce((s: number, v: number) => s + v, 0)).toBe(75);
  }
});

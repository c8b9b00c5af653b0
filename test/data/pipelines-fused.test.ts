/** Compose's fused steps (flip + ToTensor + Normalize in one pass) give the values and random draws of the separate steps. */
import { Compose, PIPELINES, Rng } from '../../src/data/index.js';
import { hflip, RandomHorizontalFlip, RandomResizedCrop } from '../../src/data/pipelines/geometric.js';
import { Normalize, ToTensor } from '../../src/data/pipelines/tensor.js';
import type { Image, Transform } from '../../src/data/types.js';

function image(h: number, w: number, c: number, seed: number): Image {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: h * w * c }, () => rng.int(256)), height: h, width: w, channels: c };
}

/** Applies the transforms one by one, as an unfused pipeline would. */
function stepByStep(ts: Transform[], img: Image, rng: Rng): Image {
  for (const t of ts) img = t.apply(img, rng, {});
  return img;
}

const norm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

describe('fused RandomHorizontalFlip + ToTensor + Normalize', () => {
  it.each([3, 1])('equals the separate steps with the same seeds (%i channels)', (c) => {
    const ts = [new RandomResizedCrop({ size: [9, 11] }), new RandomHorizontalFlip({}), new ToTensor({}), new Normalize(c === 3 ? norm : { mean: [0.5], std: [0.25] })];
    const fused = new Compose(ts);
    const flips = new Set<boolean>();
    for (let seed = 0; seed < 12; seed++) {
      const img = image(17, 23, c, seed);
      const a = fused.apply(img, new Rng(seed), {});
      const b = stepByStep(ts, img, new Rng(seed));
      expect([a.height, a.width, a.channels]).toEqual([9, 11, c]);
      expect(a.data).toBeInstanceOf(Float32Array);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      // Which way the flip went: compare with the unflipped result of the same crop.
      const crop = ts[0].apply(img, new Rng(seed), {});
      const plain = stepByStep(ts.slice(2), crop, new Rng(0));
      flips.add(Array.from(a.data).join() !== Array.from(plain.data).join());
    }
    expect(flips).toEqual(new Set([true, false]));
  });

  it('mirrors exactly like hflip before ToTensor', () => {
    const img = image(5, 7, 3, 1);
    const flipped = new Compose([new RandomHorizontalFlip({ p: 1 }), new ToTensor({}), new Normalize(norm)]).apply(img, new Rng(0), {});
    const ref = new Normalize(norm).apply(new ToTensor({}).apply(hflip(img)));
    expect(Array.from(flipped.data)).toEqual(Array.from(ref.data));
  });

  it('builds from configs like any pipeline', () => {
    const p = new Compose([{ type: 'RandomHorizontalFlip', p: 0 }, { type: 'ToTensor' }, { type: 'Normalize', ...norm }].map((c) => PIPELINES.build(c)));
    const img = image(4, 4, 3, 2);
    const out = p.apply(img, new Rng(0), {});
    expect(out.data[0]).toBeCloseTo((img.data[0] / 255 - norm.mean[0]) / norm.std[0], 5);
  });
});

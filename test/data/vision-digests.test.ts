/**
 * The fast transform kernels vs torchvision 0.14 / PIL 9.4 on large inputs, bit for bit: SHA-256 of
 * ssl's output against the digest of PIL's (fixtures from tools/vision-digests.py). The colour ops
 * run on the full RGB cube (every 24-bit colour once), the spatial ops on a 375x500 pattern.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RandomHorizontalFlip, RandomResizedCrop } from '../../src/data/pipelines/geometric.js';
import { Compose } from '../../src/data/pipelines/compose.js';
import { Normalize, ToTensor } from '../../src/data/pipelines/tensor.js';
import { Rng } from '../../src/data/rng.js';
import { ColorJitter, type JitterParams } from '../../src/data/pipelines/color.js';
import { useWasmKernels, wasmKernels } from '../../src/data/pipelines/wasm/kernels.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, toGrayscale } from '../../src/data/pipelines/pil-color.js';
import { gaussianBlur } from '../../src/data/pipelines/pil-blur.js';
import type { Image } from '../../src/data/types.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/data/vision-digests.json', import.meta.url)), 'utf8')) as {
  pattern: string;
  colour: Record<string, string>;
  spatial: Record<string, string>;
};
const sha = (img: Image) => createHash('sha256').update(img.data).digest('hex');

function cube(): Image {
  const n = 1 << 24;
  const data = new Uint8Array(n * 3);
  for (let k = 0, o = 0; k < n; k++, o += 3) {
    data[o] = k & 255;
    data[o + 1] = (k >> 8) & 255;
    data[o + 2] = k >> 16;
  }
  return { data, height: 4096, width: 4096, channels: 3 };
}

/** tools/vision-digests.py `pattern`, integer arithmetic only. */
function pattern(h = 375, w = 500): Image {
  const data = new Uint8Array(h * w * 3);
  const clip = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const noise = (c: number) => (x * 31 + y * 17 + c * 7 + ((x * y) % 13) * 5) % 29;
      const disc = (x - 300) ** 2 + (y - 160) ** 2 < 90 ** 2;
      const o = (y * w + x) * 3;
      data[o] = clip((disc ? 220 : Math.floor((x * 255) / (w - 1))) + noise(0) - 14);
      data[o + 1] = clip(Math.floor((y * 200) / (h - 1)) + (Math.floor(x / 9) % 2) * 40 + noise(1) - 14);
      data[o + 2] = clip(128 + ((x + 2 * y) % 97) - 48 + noise(2));
    }
  }
  return { data, height: h, width: w, channels: 3 };
}

const colourOps: Record<string, (img: Image, f: number) => Image> = {
  brightness: adjustBrightness,
  contrast: adjustContrast,
  saturation: adjustSaturation,
  hue: adjustHue,
};

const jitter = new ColorJitter({ brightness: 0.9, contrast: 0.9, saturation: 0.9, hue: 0.5 });

it('has the WebAssembly SIMD kernels on this Node', () => expect(wasmKernels()).not.toBeNull());

describe.each(['js', 'wasm'])('colour ops on the full RGB cube equal PIL bit for bit (%s)', (mode) => {
  const input = cube();
  const before = sha(input);
  beforeAll(() => useWasmKernels(mode === 'wasm'));
  afterAll(() => useWasmKernels(true));
  it.each(Object.keys(fx.colour))('%s', (name) => {
    const [op, factor] = name.split(' ');
    let out: Image;
    if (op === 'grayscale') out = toGrayscale(input);
    else if (mode === 'js') out = colourOps[op](input, Number(factor));
    else {
      // ColorJitter with only this op on (the WebAssembly path runs ColorJitter as a whole).
      const p = { order: [0, 1, 2, 3], brightness: null, contrast: null, saturation: null, hue: null } as JitterParams;
      (p as unknown as Record<string, number>)[op] = Number(factor);
      out = jitter.applyParams(input, p);
    }
    expect(sha(out)).toBe(fx.colour[name]);
  });
  it('leaves its input unchanged', () => expect(sha(input)).toBe(before));
});

describe.each(['js', 'wasm'])('resized crops and blurs of a 375x500 image equal PIL bit for bit (%s)', (mode) => {
  beforeAll(() => useWasmKernels(mode === 'wasm'));
  afterAll(() => useWasmKernels(true));
  const input = pattern();
  it('builds the same input as the fixture script', () => expect(sha(input)).toBe(fx.pattern));
  it.each(Object.keys(fx.spatial))('%s', (name) => {
    const parts = name.split(' ');
    let out: Image;
    if (parts[0] === 'resized_crop') {
      const [i, j, h, w, size] = parts.slice(1, 6).map(Number);
      out = new RandomResizedCrop({ size, interpolation: parts[6] }).applyParams(input, { i, j, h, w });
    } else {
      const view = parts[0] === 'blur-full' ? input : new RandomResizedCrop({ size: 224 }).applyParams(input, { i: 17, j: 41, h: 301, w: 377 });
      out = gaussianBlur(view, Number(parts[1]));
    }
    expect(sha(out)).toBe(fx.spatial[name]);
  });
});

describe('WebAssembly and JS kernels give the same bytes on odd shapes', () => {
  afterAll(() => useWasmKernels(true));
  const noise = (h: number, w: number, c: number, seed: number): Image => {
    let s = seed;
    const data = Uint8Array.from({ length: h * w * c }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
    return { data, height: h, width: w, channels: c };
  };
  const both = (f: () => Image) => {
    useWasmKernels(true);
    const a = f();
    useWasmKernels(false);
    const b = f();
    useWasmKernels(true);
    return [sha(a), sha(b)];
  };
  it.each([
    [1, 1, 3], [3, 5, 1], [7, 17, 3], [31, 9, 1], [40, 33, 3],
  ])('blur and resized crops of %ix%ix%i', (h, w, c) => {
    const img = noise(h, w, c, h * 100 + w);
    for (const sigma of [0.3, 1.7, 6]) {
      const [a, b] = both(() => gaussianBlur(img, sigma));
      expect(a).toBe(b);
    }
    for (const [size, interpolation] of [[5, 'bilinear'], [19, 'bicubic'], [64, 'lanczos']] as const) {
      const [a, b] = both(() => new RandomResizedCrop({ size, interpolation }).applyParams(img, { i: 0, j: Math.floor(w / 4), h, w: w - Math.floor(w / 4) }));
      expect(a).toBe(b);
    }
    for (const p of [0, 1]) {
      const norm = c === 3 ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : { mean: [0.45], std: [0.226] };
      const pipe = new Compose([new RandomHorizontalFlip({ p }), new ToTensor({}), new Normalize(norm)]);
      const [a, b] = both(() => pipe.apply(img, new Rng(0), {}));
      expect(a).toBe(b);
    }
    if (c === 3) {
      const p: JitterParams = { order: [3, 1, 0, 2], brightness: 1.4, contrast: 0.6, saturation: 1.9, hue: -0.31 };
      const [a, b] = both(() => jitter.applyParams(img, p));
      expect(a).toBe(b);
    }
  });
});

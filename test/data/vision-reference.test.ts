/**
 * Transforms vs torchvision 0.14 / PIL 9.4 (fixtures from tools/vision-reference.py): mean absolute
 * difference <= 1 grey level for each deterministic transform and each random one with fixed parameters.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../../src/data/decode.js';
import { CenterCrop, RandomCrop, RandomResizedCrop, Resize, hflip, rotate } from '../../src/data/pipelines/geometric.js';
import { ColorJitter, GaussianBlur, Solarization } from '../../src/data/pipelines/color.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, toGrayscale } from '../../src/data/pipelines/pil-color.js';
import { resizeUint8, type Interpolation } from '../../src/data/pipelines/resample.js';
import { Normalize, ToTensor } from '../../src/data/pipelines/tensor.js';
import { Compose } from '../../src/data/pipelines/compose.js';
import { Rng } from '../../src/data/rng.js';
import { useWasmKernels } from '../../src/data/pipelines/wasm/kernels.js';
import type { Image } from '../../src/data/types.js';

interface Case {
  name: string;
  op: string;
  params: Record<string, any>;
  shape: number[];
  dtype: 'uint8' | 'float32';
  expected: string;
}
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/data/vision-reference.json', import.meta.url)), 'utf8'));
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const input: Image = { data: bytes(fx.input.data), height: fx.input.shape[0], width: fx.input.shape[1], channels: fx.input.shape[2] };

function run(c: Case): Image {
  const p = c.params;
  switch (c.op) {
    case 'resize':
      return resizeUint8(input, p.size[1], p.size[0], p.interpolation as Interpolation);
    case 'Resize':
      return new Resize({ size: p.size, interpolation: p.interpolation }).apply(input);
    case 'CenterCrop':
      return new CenterCrop({ size: p.size }).apply(input);
    case 'RandomResizedCrop':
      return new RandomResizedCrop({ size: p.size, interpolation: p.interpolation }).applyParams(input, p as any);
    case 'RandomCrop': {
      const t = new RandomCrop({ size: p.size, padding: p.padding, fill: p.fill });
      return t.applyParams(t.pad(input), { i: p.i, j: p.j, h: p.size[0], w: p.size[1] });
    }
    case 'RandomHorizontalFlip':
      return hflip(input);
    case 'brightness':
      return adjustBrightness(input, p.factor);
    case 'contrast':
      return adjustContrast(input, p.factor);
    case 'saturation':
      return adjustSaturation(input, p.factor);
    case 'hue':
      return adjustHue(input, p.factor);
    case 'ColorJitter':
      return new ColorJitter({ brightness: 0.9, contrast: 0.9, saturation: 0.9, hue: 0.3 }).applyParams(input, p as any);
    case 'RandomGrayscale':
      return toGrayscale(input);
    case 'GaussianBlur':
      return new GaussianBlur({ sigma_min: 0.1, sigma_max: 2 }).applyParams(input, p.sigma);
    case 'Solarization':
      return new Solarization({ threshold: p.threshold }).applyParams(input);
    case 'RandomRotation':
      return rotate(input, p.angle, p.interpolation);
    case 'ToTensorNormalize': {
      const separate = new Normalize({ mean: p.mean, std: p.std }).apply(new ToTensor({}).apply(input));
      // Compose fuses ToTensor + Normalize into one pass; both must match torchvision.
      const fused = new Compose([new ToTensor({}), new Normalize({ mean: p.mean, std: p.std })]).apply(input, new Rng(0), {});
      expect(meanAbsDiff(fused.data, separate.data)).toBeLessThan(1e-6);
      return fused;
    }
    default:
      throw new Error(`no runner for ${c.op}`);
  }
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

// Each case runs with the WebAssembly SIMD kernels and with the plain JS ones.
describe.each(['wasm', 'js'])(`transforms vs torchvision ${fx.versions.torchvision} / PIL ${fx.versions.PIL} (%s kernels)`, (mode) => {
  beforeAll(() => useWasmKernels(mode === 'wasm'));
  afterAll(() => useWasmKernels(true));
  it.each((fx.cases as Case[]).map((c) => [c.name, c]))('%s', (_name, c) => {
    const out = run(c as Case);
    const cc = c as Case;
    expect([out.height, out.width, out.channels]).toEqual(cc.shape);
    if (cc.dtype === 'uint8') {
      expect(out.data).toBeInstanceOf(Uint8Array);
      const exp = bytes(cc.expected);
      if (process.env.SSL_SHOW_DIFF) console.log(cc.name, meanAbsDiff(out.data, exp).toFixed(4));
      expect(meanAbsDiff(out.data, exp)).toBeLessThanOrEqual(1);
    } else {
      const b = Buffer.from(cc.expected, 'base64');
      const exp = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
      // float32 division and subtraction as torch does them: the same floats, not just close ones.
      expect(Array.from(out.data)).toEqual(Array.from(exp));
    }
  });

  it('decodes JPEG like PIL (within 1 grey level)', async () => {
    const img = await decodeImage(bytes(fx.jpeg.bytes), 'fixture.jpg');
    expect([img.height, img.width, img.channels]).toEqual(fx.jpeg.shape);
    expect(meanAbsDiff(img.data, bytes(fx.jpeg.decoded))).toBeLessThanOrEqual(1);
  });
});

/** The benchmark images of `npm run bench:data` (shared by benchmarks/data.ts and data-profile.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** 16 photo-like 500x375 JPEGs (smooth shading, edges, noise, quality 90) in `root/train/n00000001`; returns that folder. */
export async function makeBenchImages(root: string): Promise<string> {
  const dir = join(root, 'train', 'n00000001');
  mkdirSync(dir, { recursive: true });
  const W = 500;
  const H = 375;
  for (let k = 0; k < 16; k++) {
    const raw = Buffer.alloc(W * H * 3);
    let s = 12345 + k;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        const disc = (x - 250 - 40 * k) ** 2 + (y - 180) ** 2 < 90 ** 2;
        raw[o] = Math.min(255, (disc ? 200 : (x * 255) / W) + rnd() * 20);
        raw[o + 1] = Math.min(255, (y * 255) / H * 0.8 + 30 * Math.sin(x / 17 + k) + 30 + rnd() * 20);
        raw[o + 2] = Math.min(255, 120 + 80 * Math.cos(y / 23) * Math.sin(x / 31) + rnd() * 20);
      }
    }
    writeFileSync(join(dir, `img_${k}.jpg`), await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
  }
  return dir;
}

/** The SimCLR ImageNet pipeline of the benchmark (MMSelfSup 0.x imagenet_simclr plus a flip). */
export const SIMCLR_PIPELINE = [
  { type: 'RandomResizedCrop', size: 224 },
  { type: 'RandomAppliedTrans', transforms: [{ type: 'ColorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 }], p: 0.8 },
  { type: 'RandomGrayscale', p: 0.2 },
  { type: 'GaussianBlur', sigma_min: 0.1, sigma_max: 2.0, p: 0.5 },
  { type: 'RandomHorizontalFlip' },
  { type: 'ToTensor' },
  { type: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
];

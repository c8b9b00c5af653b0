import { SslError } from '../errors.js';
import type { Image } from './types.js';

type SharpFn = typeof import('sharp').default;
let sharpFn: SharpFn | undefined;

async function loadSharp(): Promise<SharpFn> {
  if (!sharpFn) sharpFn = (await import('sharp')).default;
  return sharpFn;
}

/**
 * Decodes JPEG/PNG/WebP/... bytes to HWC uint8: RGB (alpha dropped, palettes and greys expanded)
 * for `colorType 'color'`, one channel for `'grayscale'`. `name` goes into the error message.
 */
export async function decodeImage(bytes: Uint8Array, name: string, colorType: 'color' | 'grayscale' = 'color'): Promise<Image> {
  const sharp = await loadSharp();
  try {
    let s = sharp(bytes, { failOn: 'error' });
    s = colorType === 'grayscale' ? s.grayscale() : s.removeAlpha().toColourspace('srgb');
    const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
    let channels = info.channels;
    let out = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (colorType === 'grayscale' && channels > 1) {
      out = out.filter((_, i) => i % channels === 0);
      channels = 1;
    } else if (colorType === 'color' && channels === 1) {
      const rgb = new Uint8Array(out.length * 3);
      for (let i = 0; i < out.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = out[i];
      out = rgb;
      channels = 3;
    }
    return { data: out, height: info.height, width: info.width, channels };
  } catch (e) {
    throw new SslError(`cannot decode image ${name}: ${(e as Error).message}`, { code: 'CORRUPT_IMAGE', cause: e });
  }
}

/** Encodes an HWC uint8 image as PNG (for `ssl data check` grids). */
export async function encodePng(img: Image): Promise<Buffer> {
  const sharp = await loadSharp();
  const data = img.data instanceof Uint8Array ? img.data : Uint8Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(v))));
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  })
    .png()
    .toBuffer();
}

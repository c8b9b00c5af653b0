import { SslError } from '../errors.js';
import type { Image } from './types.js';

/** A new zeroed uint8 HWC image. */
export function newImage(height: number, width: number, channels: number): Image {
  return { data: new Uint8Array(height * width * channels), height, width, channels };
}

/** Throws unless `img` is uint8 (transforms that work on PIL images must come before ToTensor). */
export function requireUint8(img: Image, type: string): Uint8Array {
  if (!(img.data instanceof Uint8Array)) {
    throw new SslError(`${type} works on uint8 images; put it before ToTensor in the pipeline`);
  }
  return img.data;
}

/** Throws unless `img` is float32 (tensor transforms must come after ToTensor). */
export function requireFloat(img: Image, type: string): Float32Array {
  if (!(img.data instanceof Float32Array)) {
    throw new SslError(`${type} works on tensors; put it after ToTensor in the pipeline`);
  }
  return img.data;
}

/** PIL's RGB -> L conversion (ITU-R 601-2 luma, fixed point with rounding), one value per pixel. */
export function luma(data: Uint8Array, channels: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  if (channels === 1) {
    out.set(data.subarray(0, pixels));
    return out;
  }
  for (let p = 0, i = 0; p < pixels; p++, i += channels) {
    out[p] = (data[i] * 19595 + data[i + 1] * 38470 + data[i + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** Float32 HWC copy of a uint8 image divided by `divisor` (float32 rounding, as torch's div). */
export function toFloat(img: Image, divisor = 1): Image {
  const src = img.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / divisor;
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

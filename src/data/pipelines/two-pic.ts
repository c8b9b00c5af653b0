import { checkArgs } from '../../registry/registry.js';
import { requireUint8, toFloat } from '../image.js';
import type { HostTensor, Image, Random, SampleExtras, Transform } from '../types.js';
import { pairOf } from './args.js';
import { RandomResizedCrop } from './geometric.js';
import { resizedCropUint8, type Interpolation } from './resample.js';

/** The extra that holds the second picture (`[h, w, C]`; uint8 until ToTensor, then float32 in [0, 1]). */
export const SECOND_PIC = 'img_target';

/** MMSelfSup's interpolation_dict: bicubic, lanczos and hamming by name, bilinear for anything else. */
function mmInterpolation(v: unknown): Interpolation {
  return v === 'bicubic' || v === 'lanczos' || v === 'hamming' ? v : 'bilinear';
}

/**
 * MMSelfSup RandomResizedCropAndInterpolationWithTwoPic (BEiT's): one random crop (torchvision's
 * get_params with `scale`, `ratio`) resized to `size` with `interpolation` ('random': bilinear or
 * bicubic per image) and, with `second_size`, the same crop resized to `second_size` with
 * `second_interpolation` — the DALL-E tokenizer's input in CAE, carried as the `img_target` extra.
 */
export class RandomResizedCropAndInterpolationWithTwoPic implements Transform {
  readonly type = 'RandomResizedCropAndInterpolationWithTwoPic';
  readonly secondSize: [number, number] | null;
  readonly interpolation: Interpolation | 'random';
  readonly secondInterpolation: Interpolation;
  private readonly crop: RandomResizedCrop;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['size', 'second_size', 'scale', 'ratio', 'interpolation', 'second_interpolation']);
    this.crop = new RandomResizedCrop({ size: args.size, scale: args.scale ?? [0.08, 1.0], ratio: args.ratio ?? [3 / 4, 4 / 3] });
    this.secondSize = args.second_size === undefined || args.second_size === null ? null : pairOf(this.type, 'second_size', args.second_size);
    this.interpolation = args.interpolation === 'random' ? 'random' : mmInterpolation(args.interpolation ?? 'bilinear');
    this.secondInterpolation = mmInterpolation(args.second_interpolation ?? 'lanczos');
  }

  apply(img: Image, rng: Random, extras: SampleExtras): Image {
    requireUint8(img, this.type);
    const p = this.crop.getParams(img, rng);
    const interp = this.interpolation === 'random' ? (rng.int(2) === 0 ? 'bilinear' : 'bicubic') : this.interpolation;
    const [h, w] = this.crop.size;
    const first = resizedCropUint8(img, p.i, p.j, p.h, p.w, w, h, interp);
    if (this.secondSize) {
      const second = resizedCropUint8(img, p.i, p.j, p.h, p.w, this.secondSize[1], this.secondSize[0], this.secondInterpolation);
      extras[SECOND_PIC] = { data: second.data as Uint8Array, shape: [second.height, second.width, second.channels] };
    }
    return first;
  }
}

/** MMSelfSup's ToTensor maps over both pictures: the second one (when there is one) to float32 in [0, 1]. */
export function secondPicToTensor(extras: SampleExtras | undefined): void {
  const t = extras?.[SECOND_PIC] as HostTensor<Uint8Array | Float32Array> | undefined;
  if (!t || !(t.data instanceof Uint8Array)) return;
  const [height, width, channels] = t.shape;
  extras![SECOND_PIC] = { data: toFloat({ data: t.data, height, width, channels }, 255).data as Float32Array, shape: t.shape };
}

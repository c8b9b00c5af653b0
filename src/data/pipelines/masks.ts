import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import type { Image, Random, SampleExtras, Transform } from '../types.js';
import { pyRound } from './args.js';

/** Inclusive random integer in [lo, hi] (Python random.randint). */
const randint = (rng: Random, lo: number, hi: number) => lo + rng.int(hi - lo + 1);

/**
 * Block-wise masking of BEiT / MaskFeat: rectangles of random area and aspect are added until
 * `count` patches are masked. Returns an h x w uint8 mask (1 = masked). With `exact` (MMSelfSup's
 * BEiTMaskGenerator, whose count CAE's neck relies on) a round that adds nothing is retried;
 * otherwise (MaskFeat's) masking stops there, a few patches short.
 */
function blockMask(rng: Random, h: number, w: number, count: number, minPatches: number, maxPatches: number, logAspect: [number, number], tries: number, exact = false): Uint8Array {
  const mask = new Uint8Array(h * w);
  let masked = 0;
  let idle = 0;
  while (masked < count) {
    const maxMask = Math.min(count - masked, maxPatches);
    let delta = 0;
    for (let t = 0; t < tries && delta === 0; t++) {
      const target = rng.uniform(minPatches, maxMask);
      const aspect = Math.exp(rng.uniform(logAspect[0], logAspect[1]));
      const bh = pyRound(Math.sqrt(target * aspect));
      const bw = pyRound(Math.sqrt(target / aspect));
      if (bw < w && bh < h) {
        const top = randint(rng, 0, h - bh);
        const left = randint(rng, 0, w - bw);
        let already = 0;
        for (let i = top; i < top + bh; i++) for (let j = left; j < left + bw; j++) already += mask[i * w + j];
        const fresh = bh * bw - already;
        if (fresh > 0 && fresh <= maxMask) {
          for (let i = top; i < top + bh; i++) {
            for (let j = left; j < left + bw; j++) {
              if (mask[i * w + j] === 0) {
                mask[i * w + j] = 1;
                delta++;
              }
            }
          }
        }
      }
    }
    if (delta === 0) {
      if (!exact) break;
      if (++idle > 10_000) throw new ConfigError(`BEiTMaskGenerator: cannot place ${count} masked patches in ${h}×${w} with min_num_patches ${minPatches}, max_num_patches ${maxPatches}`);
      continue;
    }
    idle = 0;
    masked += delta;
  }
  return mask;
}

/** Shared by BEiT and MaskFeat: an h x w block mask with their patch-count and aspect arguments. */
abstract class BlockMaskGenerator implements Transform {
  abstract readonly type: string;
  readonly minPatches: number;
  readonly maxPatches: number;
  readonly logAspect: [number, number];

  /** `min_num_patches`, `max_num_patches` (default numMasking), `min_aspect` (0.3), `max_aspect` (1 / min_aspect). */
  constructor(args: Record<string, unknown>, readonly height: number, readonly width: number, readonly numMasking: number, minPatches: number, private readonly tries: number, private readonly exact = false) {
    this.minPatches = (args.min_num_patches as number) ?? minPatches;
    this.maxPatches = (args.max_num_patches as number) ?? numMasking;
    const minA = (args.min_aspect as number) ?? 0.3;
    const maxA = (args.max_aspect as number) ?? 1 / minA;
    this.logAspect = [Math.log(minA), Math.log(maxA)];
  }

  apply(img: Image, rng: Random, extras: SampleExtras): Image {
    const mask = blockMask(rng, this.height, this.width, this.numMasking, this.minPatches, this.maxPatches, this.logAspect, this.tries, this.exact);
    extras.mask = { data: mask, shape: [this.height, this.width] };
    return img;
  }
}

const BLOCK_ARGS = ['min_num_patches', 'max_num_patches', 'min_aspect', 'max_aspect'];

/** MMSelfSup BEiTMaskGenerator(input_size, num_masking_patches, min_num_patches=4, max_num_patches, min_aspect=0.3, max_aspect): adds `mask` [h, w]. */
export class BEiTMaskGenerator extends BlockMaskGenerator {
  readonly type = 'BEiTMaskGenerator';
  constructor(args: Record<string, unknown>) {
    checkArgs('BEiTMaskGenerator', args, ['input_size', 'num_masking_patches', ...BLOCK_ARGS]);
    const s = args.input_size;
    const [h, w] = Array.isArray(s) ? (s as [number, number]) : [s as number, s as number];
    if (!(h > 0 && w > 0)) throw new ConfigError(`BEiTMaskGenerator: input_size must be positive, got ${JSON.stringify(s)}`);
    const count = args.num_masking_patches as number;
    if (!(count >= 0 && count <= h * w)) throw new ConfigError('BEiTMaskGenerator: num_masking_patches must be within [0, input_size^2]');
    super(args, h, w, count, 4, 10, true);
  }
}

/** MMSelfSup MaskFeatMaskGenerator(mask_window_size=14, mask_ratio=0.4, min_num_patches=15, ...): adds `mask`. */
export class MaskFeatMaskGenerator extends BlockMaskGenerator {
  readonly type = 'MaskFeatMaskGenerator';
  constructor(args: Record<string, unknown>) {
    checkArgs('MaskFeatMaskGenerator', args, ['mask_window_size', 'mask_ratio', ...BLOCK_ARGS]);
    const size = (args.mask_window_size as number) ?? 14;
    super(args, size, size, Math.trunc(size * size * ((args.mask_ratio as number) ?? 0.4)), 15, 100);
  }
}

/** MMSelfSup SimMIMMaskGenerator(input_size=192, mask_patch_size=32, model_patch_size=4, mask_ratio=0.6): adds `mask` at model-patch resolution. */
export class SimMIMMaskGenerator implements Transform {
  readonly type = 'SimMIMMaskGenerator';
  readonly randSize: number;
  readonly scale: number;
  readonly maskCount: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['input_size', 'mask_patch_size', 'model_patch_size', 'mask_ratio']);
    const input = (args.input_size as number) ?? 192;
    const maskPatch = (args.mask_patch_size as number) ?? 32;
    const modelPatch = (args.model_patch_size as number) ?? 4;
    const ratio = (args.mask_ratio as number) ?? 0.6;
    if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) throw new ConfigError(`SimMIMMaskGenerator: mask_ratio must be in [0, 1), got ${JSON.stringify(ratio)}`);
    if (input % maskPatch !== 0) throw new ConfigError(`SimMIMMaskGenerator: input_size ${input} must be a multiple of mask_patch_size ${maskPatch}`);
    if (maskPatch % modelPatch !== 0) throw new ConfigError(`SimMIMMaskGenerator: mask_patch_size ${maskPatch} must be a multiple of model_patch_size ${modelPatch}`);
    this.randSize = input / maskPatch;
    this.scale = maskPatch / modelPatch;
    this.maskCount = Math.ceil(this.randSize * this.randSize * ratio);
  }

  apply(img: Image, rng: Random, extras: SampleExtras): Image {
    const tokens = this.randSize * this.randSize;
    const coarse = new Uint8Array(tokens);
    for (const i of rng.permutation(tokens).slice(0, this.maskCount)) coarse[i] = 1;
    const n = this.randSize * this.scale;
    const mask = new Uint8Array(n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) mask[y * n + x] = coarse[Math.floor(y / this.scale) * this.randSize + Math.floor(x / this.scale)];
    extras.mask = { data: mask, shape: [n, n] };
    return img;
  }
}

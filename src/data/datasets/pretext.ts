import { ConfigError } from '../../errors.js';
import { cropUint8 } from '../pipelines/resample.js';
import { randomCropParams } from '../pipelines/geometric.js';
import type { Compose } from '../pipelines/compose.js';
import type { DataSource, Image, Random, Sample, SampleExtras } from '../types.js';
import { SourceDataset, asView, readImage } from './base.js';
import { SingleViewDataset } from './views.js';

/** The four rotations (0, 90, 180, 270 degrees counter-clockwise) of a square HWC image, MMSelfSup `rotate`. */
export function rotations(img: Image): Image[] {
  const { height: H, width: W, channels: C } = img;
  if (H !== W) throw new ConfigError(`RotationPredDataset needs square images after the pipeline, got ${H}x${W}`);
  const src = img.data as Float32Array;
  const out = [0, 1, 2, 3].map(() => new Float32Array(src.length));
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const d = (i * W + j) * C;
      const s0 = d;
      const s1 = (j * W + (W - 1 - i)) * C; // flip(transpose): out[i][j] = img[j][W-1-i]
      const s2 = ((H - 1 - i) * W + (W - 1 - j)) * C;
      const s3 = ((H - 1 - j) * W + i) * C; // transpose(flip): out[i][j] = img[H-1-j][i]
      for (let c = 0; c < C; c++) {
        out[0][d + c] = src[s0 + c];
        out[1][d + c] = src[s1 + c];
        out[2][d + c] = src[s2 + c];
        out[3][d + c] = src[s3 + c];
      }
    }
  }
  return out.map((data) => ({ data, height: H, width: W, channels: C }));
}

/** Stacks k equally shaped images into one view of k*H*W*C (the loader batches them sample-major). */
function stack(imgs: Image[]): Image {
  const n = imgs[0].data.length;
  const data = new Float32Array(n * imgs.length);
  imgs.forEach((im, k) => data.set(im.data, k * n));
  return { data, height: imgs[0].height, width: imgs[0].width, channels: imgs[0].channels };
}

/**
 * MMSelfSup RotationPredDataset(data_source, pipeline): one view holding the 4 rotations
 * (batched as [N*4, H, W, C]) and `rot_label` [0, 1, 2, 3].
 */
export class RotationPredDataset extends SingleViewDataset {
  override readonly type = 'RotationPredDataset';
  override async getItem(idx: number, rng: Random): Promise<Sample> {
    const s = await super.getItem(idx, rng);
    s.extras.rot_label = { data: Int32Array.from([0, 1, 2, 3]), shape: [4] };
    return { ...s, views: [stack(rotations(s.views[0]))], viewBatch: [4] };
  }
}

/**
 * MMSelfSup RelativeLocDataset(data_source, pipeline, format_pipeline): the image is split into a
 * 3x3 grid, each cell randomly cropped (jitter 21 px); each of the 8 outer patches is paired with the
 * centre patch on the channel axis. One view of [N*8, h, w, 2C] and `patch_label` 0..7.
 */
export class RelativeLocDataset extends SourceDataset {
  readonly type = 'RelativeLocDataset';
  constructor(source: DataSource, readonly pipeline: Compose, readonly formatPipeline: Compose, prefetch = false) {
    super(source, prefetch);
  }
  async getItem(idx: number, rng: Random): Promise<Sample> {
    const { img: raw, idx: used } = await readImage(this.source, idx);
    const extras: SampleExtras = {};
    const img = this.pipeline.apply(raw, rng, extras);
    if (!(img.data instanceof Uint8Array)) throw new ConfigError('RelativeLocDataset: `pipeline` must keep uint8 images; put ToTensor/Normalize in format_pipeline');
    // MMSelfSup names PIL's (w, h) as (h, w); the grid follows it.
    const hGrid = Math.floor(img.width / 3);
    const wGrid = Math.floor(img.height / 3);
    const hPatch = hGrid - 21;
    const wPatch = wGrid - 21;
    if (hPatch <= 0 || wPatch <= 0) throw new ConfigError(`RelativeLocDataset: images must be at least 66 px a side after the pipeline, got ${img.height}x${img.width}`);
    const patches: Image[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const cell = cropUint8(img, i * hGrid, j * wGrid, hGrid, wGrid);
        const p = randomCropParams(cell, hPatch, wPatch, rng);
        patches.push(asView(this.formatPipeline.apply(cropUint8(cell, p.i, p.j, p.h, p.w), rng, extras)));
      }
    }
    const centre = patches[4];
    const pairs: Image[] = [];
    for (let k = 0; k < 9; k++) {
      if (k === 4) continue;
      const a = patches[k];
      const C = a.channels;
      const px = a.height * a.width;
      const data = new Float32Array(px * 2 * C);
      for (let q = 0; q < px; q++) {
        for (let c = 0; c < C; c++) {
          data[q * 2 * C + c] = a.data[q * C + c];
          data[q * 2 * C + C + c] = centre.data[q * C + c];
        }
      }
      pairs.push({ data, height: a.height, width: a.width, channels: 2 * C });
    }
    extras.patch_label = { data: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), shape: [8] };
    return { idx, views: [stack(pairs)], viewBatch: [8], label: this.source.getLabel(used), extras };
  }
}

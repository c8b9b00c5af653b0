import { SslError } from '../../errors.js';
import type { Compose } from '../pipelines/compose.js';
import type { DataSource, Dataset, Image, Random, Sample, SampleExtras } from '../types.js';

const warned = new Set<string>();

/** Log function for skipped samples (set by the loader). */
export let dataLog: (msg: string) => void = (m) => console.warn(m);
export function setDataLog(f: (msg: string) => void): void {
  dataLog = f;
}

/**
 * Image `idx` of `source`. With the source's `skip_corrupt: true`, an unreadable image (missing,
 * corrupt) is logged once and the next readable index is used instead; otherwise the error names
 * the file.
 */
export async function readImage(source: DataSource, idx: number): Promise<{ img: Image; idx: number }> {
  let i = idx;
  for (let tries = 0; ; tries++) {
    try {
      return { img: await source.getImage(i), idx: i };
    } catch (e) {
      if (!source.skipCorrupt || !(e instanceof SslError) || tries >= Math.min(source.length, 100)) throw e;
      const key = `${source.type}:${i}`;
      if (!warned.has(key)) {
        warned.add(key);
        dataLog(`skip_corrupt: skipping ${source.describe?.(i) ?? `image ${i}`}: ${e.message}`);
      }
      i = (i + 1) % source.length;
    }
  }
}

/**
 * A pipeline's output as a batchable float view: float images pass through; uint8 images
 * (`prefetch: true`, no ToTensor) become float32 holding 0..255 (MMSelfSup normalises those on the device).
 */
export function asView(img: Image): Image {
  if (img.data instanceof Float32Array) return img;
  return { ...img, data: Float32Array.from(img.data) };
}

/** Runs `pipeline` on `img` with `rng`, collecting side outputs into `extras`. */
export function runPipeline(pipeline: Compose, img: Image, rng: Random, extras: SampleExtras): Image {
  return pipeline.apply(img, rng, extras);
}

/** A dataset over one data source (length and labels are the source's); subclasses make the views. */
export abstract class SourceDataset implements Dataset {
  abstract readonly type: string;
  cfg?: Record<string, unknown>;
  constructor(readonly source: DataSource, readonly prefetch = false) {}
  get length(): number {
    return this.source.length;
  }
  getLabel(idx: number): number {
    return this.source.getLabel(idx);
  }
  abstract getItem(idx: number, rng: Random): Promise<Sample>;
}

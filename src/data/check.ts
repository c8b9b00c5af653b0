import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { encodePng } from './decode.js';
import { buildTrainLoader } from './train-loader.js';
import type { Batch, HostTensor } from './types.js';

/** Options of `checkData` (`ssl data check`). */
export interface CheckDataOptions {
  numBatches?: number;
  workDir: string;
  seed?: number;
  /** Override `data.workers_per_gpu`. */
  workers?: number;
  /** Samples (rows) in the PNG grid. */
  gridRows?: number;
  log?: (msg: string) => void;
}

/** Value statistics of one view over the checked batches. */
export interface ViewStats {
  shape: number[];
  min: number;
  max: number;
  mean: number;
  std: number;
}

/** What `ssl data check` prints. */
export interface CheckDataReport {
  dataset: string;
  samples: number;
  batchesPerEpoch: number;
  batchSize: number;
  workers: number;
  batchesChecked: number;
  views: ViewStats[];
  labels: { min: number; max: number } | null;
  extras: Record<string, number[]>;
  imagesPerSecond: number;
  seconds: number;
  grid: string;
}

function stats(v: HostTensor<Float32Array>, acc?: ViewStats & { n: number; sum: number; sq: number }) {
  const a = acc ?? { shape: v.shape, min: Infinity, max: -Infinity, mean: 0, std: 0, n: 0, sum: 0, sq: 0 };
  for (const x of v.data) {
    if (x < a.min) a.min = x;
    if (x > a.max) a.max = x;
    a.sum += x;
    a.sq += x * x;
  }
  a.n += v.data.length;
  a.mean = a.sum / a.n;
  a.std = Math.sqrt(Math.max(0, a.sq / a.n - a.mean * a.mean));
  return a;
}

/** Normalize (mean, std) of each view's pipeline, from the dataset config, to undo for display. */
function viewNorms(train: Record<string, unknown>): (Record<string, number[]> | undefined)[] {
  const find = (p: unknown) => (Array.isArray(p) ? (p.find((t) => (t as { type?: string }).type === 'Normalize') as Record<string, number[]> | undefined) : undefined);
  if (Array.isArray(train.pipelines) && Array.isArray(train.num_views)) {
    return (train.num_views as number[]).flatMap((n, i) => Array.from({ length: n }, () => find((train.pipelines as unknown[])[i])));
  }
  return [find(train.format_pipeline ?? train.pipeline)];
}

/** One grid of augmented views: a row per sample, a column per image of each view. */
async function writeGrid(batch: Batch, norms: (Record<string, number[]> | undefined)[], rows: number, path: string): Promise<void> {
  const n = Math.min(rows, batch.idx.length);
  const cols: { view: HostTensor<Float32Array>; norm?: Record<string, number[]>; k: number; per: number }[] = [];
  batch.views.forEach((v, i) => {
    const per = v.shape[0] / batch.idx.length;
    for (let k = 0; k < per; k++) cols.push({ view: v, norm: norms[i] ?? norms[0], k, per });
  });
  const cell = Math.max(...batch.views.map((v) => Math.max(v.shape[1], v.shape[2]))) + 2;
  const W = cell * cols.length;
  const H = cell * n;
  const out = new Uint8Array(W * H * 3).fill(40);
  cols.forEach((col, c) => {
    const [, h, w, C] = col.view.shape;
    const mean = col.norm?.mean;
    const std = col.norm?.std;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of col.view.data) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const scale = mean && std ? 255 : hi <= 1.0001 && lo >= -0.0001 ? 255 : hi > 1.5 && lo >= 0 && hi <= 255 ? 1 : 255 / Math.max(1e-6, hi - lo);
    const shift = mean && std ? 0 : scale === 255 / Math.max(1e-6, hi - lo) && !(hi <= 1.0001 && lo >= -0.0001) ? lo : 0;
    for (let s = 0; s < n; s++) {
      const img = (s * col.per + col.k) * h * w * C;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < 3; ch++) {
            const sc = C >= 3 ? ch : 0;
            let v = col.view.data[img + (y * w + x) * C + sc];
            if (mean && std) v = v * (std[sc] ?? std[0]) + (mean[sc] ?? mean[0]);
            out[((s * cell + 1 + y) * W + c * cell + 1 + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round((v - shift) * scale)));
          }
        }
      }
    }
  });
  await writeFile(path, await encodePng({ data: out, height: H, width: W, channels: 3 }));
}

/**
 * Loads `numBatches` batches of `cfg.data.train` as training would, and reports shapes, value ranges
 * and images/s; writes `data_check.png` (augmented views of the first batch) into `workDir`.
 */
export async function checkData(cfg: Record<string, unknown>, o: CheckDataOptions): Promise<CheckDataReport> {
  const data = cfg.data as Record<string, unknown> | undefined;
  if (!data?.train) throw new ConfigError('the config has no data.train to check');
  const cfgData = o.workers === undefined ? cfg : { ...cfg, data: { ...data, workers_per_gpu: o.workers } };
  const loader = await buildTrainLoader(cfgData, { seed: o.seed ?? 0, rank: 0, worldSize: 1, log: o.log });
  const want = Math.min(o.numBatches ?? 3, loader.length);
  const views: ReturnType<typeof stats>[] = [];
  const extras: Record<string, number[]> = {};
  let labels = null as { min: number; max: number } | null;
  let images = 0;
  let firstBatch: Batch | undefined;
  let got = 0;
  const t0 = performance.now();
  try {
    for await (const b of loader.epoch(0)) {
      firstBatch ??= b;
      b.views.forEach((v, i) => (views[i] = stats(v, views[i])));
      images += b.idx.length;
      if (b.labels && b.labels.length > 0) {
        const ls = Array.from(b.labels);
        labels = { min: Math.min(labels?.min ?? Infinity, ...ls), max: Math.max(labels?.max ?? -Infinity, ...ls) };
      }
      for (const [k, v] of Object.entries(b)) {
        if (k === 'views' || k === 'labels' || k === 'idx') continue;
        extras[k] = ArrayBuffer.isView(v) ? [(v as Int32Array).length] : (v as HostTensor<Uint8Array>).shape;
      }
      if (++got >= want) break;
    }
  } finally {
    await loader.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  await mkdir(o.workDir, { recursive: true });
  const grid = join(o.workDir, 'data_check.png');
  await writeGrid(firstBatch!, viewNorms(data.train as Record<string, unknown>), o.gridRows ?? 8, grid);
  return {
    dataset: loader.dataset.type,
    samples: loader.dataset.length,
    batchesPerEpoch: loader.length,
    batchSize: loader.batchSize,
    workers: (cfgData.data as Record<string, unknown>).workers_per_gpu as number ?? 0,
    batchesChecked: got,
    views: views.map(({ shape, min, max, mean, std }) => ({ shape, min, max, mean, std })),
    labels,
    extras,
    imagesPerSecond: images / seconds,
    seconds,
    grid,
  };
}

/** The report as lines of text. */
export function formatCheckReport(r: CheckDataReport): string[] {
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3));
  const lines = [
    `dataset: ${r.dataset}, ${r.samples} samples, ${r.batchesPerEpoch} batches/epoch of ${r.batchSize}, ${r.workers} worker(s)`,
    ...r.views.map((v, i) => `view ${i}: shape [${v.shape.join(', ')}] min ${f(v.min)} max ${f(v.max)} mean ${f(v.mean)} std ${f(v.std)}`),
    `labels: ${r.labels ? `${r.labels.min}..${r.labels.max}` : 'none'}`,
    ...Object.entries(r.extras).map(([k, s]) => `${k}: shape [${s.join(', ')}]`),
    `${r.batchesChecked} batches in ${r.seconds.toFixed(2)} s: ${r.imagesPerSecond.toFixed(1)} images/s (first batches include start-up)`,
    `grid: ${r.grid}`,
  ];
  return lines;
}

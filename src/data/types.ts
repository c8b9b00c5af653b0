/**
 * The data contracts of ssl: data sources, datasets, pipelines and the batches the loader yields.
 * Plain typed arrays only (no TensorFlow.js here): loader workers stay light, and the trainer turns
 * batches into tensors itself. Images are HWC (row-major, channels last), RGB order.
 */

import type { DistributedSampler } from './sampler.js';

/** A host-side array with a shape (row-major). */
export interface HostTensor<A extends Float32Array | Int32Array | Uint8Array = Float32Array> {
  data: A;
  shape: number[];
}

/**
 * An image inside a pipeline: HWC uint8 (0..255) from decoding until `ToTensor`, then HWC float32
 * (`ToTensor` scales to 0..1, `Normalize` standardises). `data.length === height * width * channels`.
 */
export interface Image {
  data: Uint8Array | Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** A uniform [0,1) random generator with helpers; seeded, reproducible (see rng.ts). */
export interface Random {
  /** Uniform in [0, 1). */
  random(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (mean 0, std 1). */
  normal(): number;
  /** A random permutation of 0..n-1. */
  permutation(n: number): number[];
}

/**
 * Per-sample side outputs of pipelines and datasets (MMSelfSup returns these next to `img`):
 * `mask` (BEiT/SimMIM/MaskFeat mask generators), `rot_label`, `patch_label`, `pseudo_label`, ...
 */
export type SampleExtras = Record<string, HostTensor<Float32Array | Int32Array | Uint8Array> | number>;

/**
 * One image transform of a pipeline (MMSelfSup's PIPELINES). `apply` may read and write `extras`
 * (a mask generator adds `mask`). Random transforms draw from `rng` only, so a sample is a pure
 * function of (seed, epoch, index).
 */
export interface Transform {
  readonly type: string;
  apply(img: Image, rng: Random, extras: SampleExtras): Image;
}

/**
 * A data source (MMSelfSup `data_source`): a list of images with optional labels.
 * `getImage` returns HWC uint8 RGB (or 1 channel with `color_type: 'grayscale'`).
 */
export interface DataSource {
  readonly type: string;
  /** Number of images. */
  readonly length: number;
  /** Class names, where the source has them. */
  readonly CLASSES?: readonly string[];
  /** The label of image `idx` (-1 where the source has none). */
  getLabel(idx: number): number;
  /** All labels (MMSelfSup `get_gt_labels`), length `length`. */
  getGtLabels(): Int32Array;
  /** Multi-label sources (ImageNet21k): all labels of image `idx`. */
  getLabels?(idx: number): number[];
  /** The decoded image `idx`, HWC uint8. */
  getImage(idx: number): Promise<Image>;
  /** Reads indexes / annotation files; `buildDataset` awaits it before `length` is used. */
  init?(): Promise<void>;
  /** With `skip_corrupt: true`, unreadable images are logged once and replaced (see datasets/base.ts). */
  readonly skipCorrupt?: boolean;
  /** A short description of image `idx` for error messages (file name, line). */
  describe?(idx: number): string;
}

/** One dataset item: the views (float32 HWC after the pipelines), the label and side outputs. */
export interface Sample {
  /** Index into the dataset. */
  idx: number;
  /**
   * The views. Each has the same shape across samples of a dataset (batchable).
   * RotationPredDataset / RelativeLocDataset give one view holding several images stacked on a
   * leading axis (see `viewBatch`).
   */
  views: Image[];
  /** How many images each view holds (1 for ordinary views; 4 for RotationPred; 8 for RelativeLoc). */
  viewBatch?: number[];
  /** Class label (-1 when none). */
  label: number;
  extras: SampleExtras;
}

/**
 * A dataset (MMSelfSup `DATASETS`): a data source plus pipelines. `getItem` is async (decoding).
 * `cfg` is the plain config that built it; loader workers rebuild the dataset from it.
 */
export interface Dataset {
  readonly type: string;
  readonly length: number;
  readonly source?: DataSource;
  readonly cfg?: Record<string, unknown>;
  /** Item `idx`, random transforms drawn from `rng`. */
  getItem(idx: number, rng: Random): Promise<Sample>;
  /** Label of `idx` without decoding (-1 when none). */
  getLabel(idx: number): number;
}

/**
 * A batch as the loader yields it. Each view is NHWC float32 (`shape [N,H,W,C]`, or `[N*k,H,W,C]`
 * for datasets with k images per view, sample-major). `labels` holds class labels (-1 = none),
 * `idx` the dataset indices. Extras (`mask` [N,h,w] uint8, `rot_label` [N*4], `patch_label` [N*8],
 * `pseudo_label` [N]) are batched on a leading axis.
 */
export interface Batch {
  views: HostTensor<Float32Array>[];
  labels?: Int32Array;
  idx: Int32Array;
  [extra: string]: unknown;
}

/** Options of `buildDataLoader` (MMSelfSup `build_dataloader` arguments in camelCase). */
export interface DataLoaderOptions {
  /** Images per batch on this process (`samples_per_gpu`). */
  samplesPerGpu: number;
  /** Worker threads that decode and augment (`workers_per_gpu`; 0 = in the calling thread). */
  workersPerGpu?: number;
  shuffle?: boolean;
  /** Draw each epoch's indices with replacement (MMSelfSup's `data.sampling_replace`). */
  replace?: boolean;
  dropLast?: boolean;
  seed?: number;
  rank?: number;
  worldSize?: number;
  /** First epoch (`epoch(e)` takes the epoch explicitly too). */
  epoch?: number;
  /** Batches each worker prepares ahead (PyTorch `prefetch_factor`, default 2). */
  prefetchFactor?: number;
  /** Keep workers alive between epochs (default true). */
  persistentWorkers?: boolean;
  /** Log function for skipped samples and warnings (default console.warn). */
  log?: (msg: string) => void;
}

/** A data loader: `length` batches per epoch; the order depends on (seed, epoch, rank) only. */
export interface DataLoader {
  readonly length: number;
  readonly batchSize: number;
  readonly dataset: Dataset;
  /** The index order per epoch (DeepClusterHook replaces it with `setUniformIndices`). */
  readonly sampler?: DistributedSampler;
  /** Batches of epoch `epoch` (0-based). */
  epoch(epoch: number): AsyncIterable<Batch>;
  /** Ends worker threads. */
  close(): Promise<void>;
}

import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { buildDataLoader, buildDataset, DistributedSampler } from '../data/index.js';
import { BatchNorm } from '../engine/layers/batch-norm.js';
import { tf } from '../engine/tf.js';
import { Classification } from '../models/algorithms/classification.js';
import type { DistContext } from '../dist/trainer-context.js';
import type { Batch } from '../models/contracts.js';
import type { TrainLoader } from '../runner/types.js';
import { concatFloat32 } from '../engine/concat-float32.js';

type Cfg = Record<string, unknown>;

/** Transforms that give the same output every epoch (anything else, e.g. RandomResizedCrop, needs the end-to-end path). */
const DETERMINISTIC = new Set(['ToTensor', 'Normalize', 'Resize', 'CenterCrop']);

/**
 * The head inputs of every image of a dataset, in dataset order: one row block per pooled output
 * (ClsHead: one `[C]` vector; MultiClsHead: one pooled map per stage), and the labels.
 */
export interface PooledFeatures {
  n: number;
  /** Per output: the shape of one image's row (e.g. `[2048]` or `[2, 2, 2048]`) and the rows, row-major. */
  outputs: { rowShape: number[]; data: Float32Array }[];
  labels: Int32Array;
}

/**
 * Why the fast path cannot run (undefined when it can): the model must be a `Classification` whose backbone
 * has no trainable parameter and no BatchNorm in training mode, and `data.train`'s pipeline must not change
 * from epoch to epoch.
 */
export function whyNotCacheable(model: unknown, cfg: Cfg): string | undefined {
  if (!(model instanceof Classification)) return 'the model is not a Classification';
  model.train(true);
  if (model.backbone.namedParameters().some(([, v]) => v.trainable)) return 'the backbone has trainable parameters (frozen_stages below its stage count)';
  if (model.backbone.namedModules().some(([, m]) => m instanceof BatchNorm && m.training)) return 'the backbone has BatchNorm layers in training mode';
  const data = (cfg.data ?? {}) as Cfg;
  let train = (data.train ?? {}) as Cfg;
  // a SubsetDataset (evenly spaced images) of a cacheable dataset is cacheable
  while (train.type === 'SubsetDataset') train = (train.dataset ?? {}) as Cfg;
  if (train.type !== undefined && train.type !== 'SingleViewDataset') return `data.train is a ${String(train.type)}, not a SingleViewDataset`;
  const pipeline = (train.pipeline ?? []) as Cfg[];
  const random = pipeline.find((p) => !DETERMINISTIC.has(p.type as string));
  if (random) return `data.train's pipeline has ${String(random.type)}, which changes every epoch`;
  if (!data.val) return 'there is no data.val';
  return undefined;
}

/** Cache key: the backbone's weights as loaded, the head's pooling and the dataset (source + pipeline). */
export function featureCacheKey(model: Classification, headCfg: Cfg, datasetCfg: Cfg): string {
  const h = createHash('sha256');
  for (const [name, t] of model.backbone.stateDict()) {
    h.update(name);
    h.update(new Uint8Array((t.dataSync() as Float32Array).buffer.slice(0)));
  }
  const { num_classes: _n, init_cfg: _i, norm_cfg: _b, ...pooling } = headCfg;
  const dataset = datasetCfg.type === 'SubsetDataset' ? datasetCfg : { source: datasetCfg.data_source, pipeline: datasetCfg.pipeline };
  h.update(JSON.stringify({ pooling, dataset }));
  return h.digest('hex').slice(0, 32);
}

/**
 * Runs the frozen backbone and the head's pooling over `datasetCfg` once (eval mode, dataset order).
 * Each rank extracts every world-size-th image (the unshuffled distributed split) and the ranks' rows
 * are gathered, so every rank ends with all of them.
 */
export async function extractPooled(model: Classification, datasetCfg: Cfg, batchSize: number, dist: DistContext, log: (m: string) => void = () => {}): Promise<PooledFeatures> {
  const dataset = await buildDataset(datasetCfg);
  const n = dataset.length;
  const loader = buildDataLoader(dataset, { samplesPerGpu: batchSize, shuffle: false, dropLast: false, seed: 0, rank: dist.rank, worldSize: dist.worldSize, log });
  const parts: Float32Array[][] = [];
  let rowShapes: number[][] = [];
  const labels: number[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch(0)) {
      if (!batch.labels) throw new ConfigError('linear evaluation needs a labelled data source (the dataset yields no labels)');
      const v = batch.views[0];
      const pooled = tf.tidy(() => model.head.poolFeatures(model.extractFeat(tf.tensor(v.data, [...v.shape], 'float32'))));
      rowShapes = pooled.map((p) => p.shape.slice(1));
      pooled.forEach((p, i) => {
        (parts[i] ??= []).push(p.dataSync() as Float32Array);
        p.dispose();
      });
      labels.push(...batch.labels);
    }
  } finally {
    model.train(wasTraining);
    await loader.close();
  }
  const outputs = rowShapes.map((rowShape, i) => ({ rowShape, data: concatFloat32(parts[i]) }));
  if (dist.worldSize === 1) return { n, outputs: outputs.map((o) => ({ ...o, data: o.data.subarray(0, n * size(o.rowShape)) })), labels: Int32Array.from(labels.slice(0, n)) };
  // rank r holds images r, r + W, ... (padded by repeating the head): interleave the gathered blocks back into order
  const gather = async (rows: Float32Array, width: number): Promise<Float32Array> => {
    const t = tf.tensor2d(rows, [rows.length / width, width]);
    const all = await dist.allGather(t);
    t.dispose();
    const blocks = all.map((b) => b.dataSync() as Float32Array);
    all.forEach((b) => b.dispose());
    const out = new Float32Array(n * width);
    for (let i = 0; i < n; i++) out.set(blocks[i % dist.worldSize].subarray(Math.floor(i / dist.worldSize) * width, (Math.floor(i / dist.worldSize) + 1) * width), i * width);
    return out;
  };
  const gathered = [];
  for (const o of outputs) gathered.push({ rowShape: o.rowShape, data: await gather(o.data, size(o.rowShape)) });
  const lab = await gather(Float32Array.from(labels), 1);
  return { n, outputs: gathered, labels: Int32Array.from(lab) };
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads `<dir>/<key>.feat` (written by {@link writeFeatureCache}); undefined when absent or unreadable. */
export function readFeatureCache(dir: string, key: string): PooledFeatures | undefined {
  const path = join(dir, `${key}.feat`);
  if (!existsSync(path)) return undefined;
  try {
    const buf = readFileSync(path);
    const hlen = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as { n: number; rowShapes: number[][] };
    let off = 4 + hlen;
    off += (4 - (off % 4)) % 4;
    const floats = (count: number) => {
      const a = new Float32Array(count);
      new Uint8Array(a.buffer).set(buf.subarray(off, off + count * 4));
      off += count * 4;
      return a;
    };
    const outputs = header.rowShapes.map((rowShape) => ({ rowShape, data: floats(header.n * size(rowShape)) }));
    const labels = Int32Array.from(floats(header.n));
    if (off !== buf.length) return undefined;
    return { n: header.n, outputs, labels };
  } catch {
    return undefined;
  }
}

/** Writes the features atomically (a temporary file renamed into place). */
export function writeFeatureCache(dir: string, key: string, f: PooledFeatures): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${key}.feat`);
  const tmp = `${path}.tmp-${process.pid}`;
  const header = Buffer.from(JSON.stringify({ n: f.n, rowShapes: f.outputs.map((o) => o.rowShape) }), 'utf8');
  const fd = openSync(tmp, 'w');
  try {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length, 0);
    writeSync(fd, len);
    writeSync(fd, header);
    const pad = (4 - ((4 + header.length) % 4)) % 4;
    if (pad) writeSync(fd, Buffer.alloc(pad));
    for (const o of f.outputs) writeSync(fd, new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength));
    writeSync(fd, new Uint8Array(Float32Array.from(f.labels).buffer));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}

/**
 * A training loader over cached features with the image loader's order: the same DistributedSampler
 * (seed, epoch, rank), batch size and drop_last, so the head sees the same batches as end to end.
 */
export class FeatureLoader implements TrainLoader {
  readonly length: number;
  private readonly sampler: DistributedSampler;

  constructor(
    private readonly f: PooledFeatures,
    readonly batchSize: number,
    o: { shuffle: boolean; dropLast: boolean; seed: number; rank: number; worldSize: number },
  ) {
    this.sampler = new DistributedSampler(f.n, { rank: o.rank, worldSize: o.worldSize, shuffle: o.shuffle, seed: o.seed });
    const per = this.sampler.numSamples;
    this.length = o.dropLast ? Math.floor(per / batchSize) : Math.ceil(per / batchSize);
    if (this.length === 0) throw new ConfigError(`samples_per_gpu ${batchSize} is larger than the ${per} samples per process with drop_last`);
  }

  *epoch(epoch: number): Iterable<Batch> {
    const idx = this.sampler.indices(epoch);
    for (let b = 0; b < this.length; b++) {
      const rows = idx.slice(b * this.batchSize, (b + 1) * this.batchSize);
      const views = this.f.outputs.map((o) => {
        const w = size(o.rowShape);
        const data = new Float32Array(rows.length * w);
        rows.forEach((r, i) => data.set(o.data.subarray(r * w, (r + 1) * w), i * w));
        return { data, shape: [rows.length, ...o.rowShape] };
      });
      yield { views, labels: Int32Array.from(rows, (r) => this.f.labels[r]) };
    }
  }
}

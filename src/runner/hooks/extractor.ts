import { ConfigError } from '../../errors.js';
import { buildDataLoader, buildDataset } from '../../data/index.js';
import type { DistContext } from '../../dist/trainer-context.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { checkArgs } from '../../registry/index.js';
import type { TrainableModel } from '../../models/contracts.js';
import { concatFloat32 } from '../../engine/concat-float32.js';
import { allGatherRows } from '../../dist/gather-rows.js';

/** What the extractor needs of the model: its backbone features and its neck (DeepCluster, ODC). */
interface NeckModel {
  extractFeat(x: Tensor): Tensor[];
  neck: { forward(x: Tensor[]): Tensor[] } | null;
  train(mode?: boolean): unknown;
  eval(): unknown;
  training: boolean;
}

/** Extracted features: `rows` × `cols` float32, row i = data set sample i. */
export interface ExtractedFeatures {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * MMSelfSup's `Extractor` (DeepClusterHook's `extractor=dict(dataset, samples_per_gpu, workers_per_gpu, ...)`):
 * the model in eval mode over `dataset` in order, `neck([backbone(x)[-1]])[0]` flattened per sample;
 * each rank takes its unshuffled share and the rows are gathered, so every rank ends with all of them.
 */
export class Extractor {
  readonly dataset: Record<string, unknown>;
  readonly samplesPerGpu: number;
  readonly workersPerGpu: number;

  /** `owner`: the hook whose config holds it, named in errors. */
  constructor(args: Record<string, unknown>, readonly owner = 'DeepClusterHook') {
    checkArgs(`${owner}.extractor`, args, ['dataset', 'samples_per_gpu', 'imgs_per_gpu', 'workers_per_gpu', 'persistent_workers', 'prefetch', 'img_norm_cfg']);
    if (!args.dataset || typeof args.dataset !== 'object') throw new ConfigError(`${owner}: extractor.dataset is required (the data set features are extracted from)`);
    this.dataset = args.dataset as Record<string, unknown>;
    // mmselfsup: "imgs_per_gpu" is deprecated and wins over samples_per_gpu
    this.samplesPerGpu = (args.imgs_per_gpu as number) ?? (args.samples_per_gpu as number) ?? 32;
    this.workersPerGpu = (args.workers_per_gpu as number) ?? 0;
  }

  async extract(model: TrainableModel, dist: DistContext, log: (m: string) => void): Promise<ExtractedFeatures> {
    const m = model as unknown as NeckModel;
    if (!m.neck) throw new ConfigError(`${this.owner}: the model has no neck; the extractor clusters neck([backbone features])`);
    const dataset = await buildDataset(this.dataset);
    const n = dataset.length;
    const loader = buildDataLoader(dataset, {
      samplesPerGpu: this.samplesPerGpu,
      workersPerGpu: this.workersPerGpu,
      persistentWorkers: false,
      shuffle: false,
      rank: dist.rank,
      worldSize: dist.worldSize,
      log,
    });
    const rows: Float32Array[] = [];
    const idx: number[] = [];
    let cols = 0;
    const wasTraining = m.training;
    m.eval();
    try {
      for await (const batch of loader.epoch(0)) {
        const v = batch.views[0];
        const feat = tf.tidy(() => {
          const x = m.extractFeat(tf.tensor(v.data, [...v.shape], 'float32'));
          const y = m.neck!.forward([x[x.length - 1]])[0];
          return tf.reshape(y, [y.shape[0], -1]);
        });
        cols = feat.shape[1] as number;
        rows.push((await feat.data()) as Float32Array);
        feat.dispose();
        idx.push(...batch.idx);
      }
    } finally {
      m.train(wasTraining);
      await loader.close();
    }
    let local: Float32Array = concatFloat32(rows);
    let order: Float32Array = Float32Array.from(idx);
    if (dist.worldSize > 1) {
      [local, order] = await Promise.all([allGatherRows(dist, local, cols), allGatherRows(dist, order, 1)]);
    }
    // padding repeats the first samples: later copies overwrite earlier ones with the same row
    const data = new Float32Array(n * cols);
    for (let r = 0; r < order.length; r++) data.set(local.subarray(r * cols, (r + 1) * cols), order[r] * cols);
    return { data, rows: n, cols };
  }
}

import { Registry, checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { PIPELINES, buildPipeline } from '../pipelines/index.js';
import { DATASOURCES } from '../sources/index.js';
import type { DataSource, Dataset } from '../types.js';
import { DeepClusterDataset, MultiViewDataset, SingleViewDataset } from './views.js';
import { RelativeLocDataset, RotationPredDataset } from './pretext.js';
import { ConcatDataset, evenlySpaced, RepeatDataset, SubsetDataset } from './wrappers.js';

type AsyncDataset = Promise<Dataset>;

/** MMSelfSup's DATASETS by type name; builders are async (sources read indexes). */
export const DATASETS = new Registry<AsyncDataset>('dataset');

async function buildSource(cfg: unknown, where: string): Promise<DataSource> {
  if (!cfg || typeof cfg !== 'object') throw new ConfigError(`${where}.data_source must be a dict with a type`);
  const src = DATASOURCES.build(cfg as Record<string, unknown>);
  await src.init?.();
  return src;
}

DATASETS.register('SingleViewDataset', async (a) => {
  checkArgs('SingleViewDataset', a, ['data_source', 'pipeline', 'prefetch']);
  return new SingleViewDataset(await buildSource(a.data_source, 'SingleViewDataset'), buildPipeline(PIPELINES, a.pipeline ?? [], 'SingleViewDataset.pipeline'), Boolean(a.prefetch));
});
DATASETS.register('DeepClusterDataset', async (a) => {
  checkArgs('DeepClusterDataset', a, ['data_source', 'pipeline', 'prefetch']);
  return new DeepClusterDataset(await buildSource(a.data_source, 'DeepClusterDataset'), buildPipeline(PIPELINES, a.pipeline ?? [], 'DeepClusterDataset.pipeline'), Boolean(a.prefetch));
});
DATASETS.register('MultiViewDataset', async (a) => {
  checkArgs('MultiViewDataset', a, ['data_source', 'num_views', 'pipelines', 'prefetch']);
  const numViews = a.num_views;
  if (!Array.isArray(numViews) || !numViews.every((n) => Number.isInteger(n) && n >= 0)) throw new ConfigError(`MultiViewDataset: num_views must be a list of counts, got ${JSON.stringify(numViews)}`);
  if (!Array.isArray(a.pipelines)) throw new ConfigError('MultiViewDataset: pipelines must be a list of pipelines');
  const pipes = a.pipelines.map((p, i) => buildPipeline(PIPELINES, p, `MultiViewDataset.pipelines[${i}]`));
  return new MultiViewDataset(await buildSource(a.data_source, 'MultiViewDataset'), numViews as number[], pipes, Boolean(a.prefetch));
});
DATASETS.register('RotationPredDataset', async (a) => {
  checkArgs('RotationPredDataset', a, ['data_source', 'pipeline', 'prefetch']);
  return new RotationPredDataset(await buildSource(a.data_source, 'RotationPredDataset'), buildPipeline(PIPELINES, a.pipeline ?? [], 'RotationPredDataset.pipeline'), Boolean(a.prefetch));
});
DATASETS.register('RelativeLocDataset', async (a) => {
  checkArgs('RelativeLocDataset', a, ['data_source', 'pipeline', 'format_pipeline', 'prefetch']);
  return new RelativeLocDataset(
    await buildSource(a.data_source, 'RelativeLocDataset'),
    buildPipeline(PIPELINES, a.pipeline ?? [], 'RelativeLocDataset.pipeline'),
    buildPipeline(PIPELINES, a.format_pipeline ?? [], 'RelativeLocDataset.format_pipeline'),
    Boolean(a.prefetch),
  );
});
DATASETS.register('ConcatDataset', async (a) => {
  checkArgs('ConcatDataset', a, ['datasets', 'separate_eval']);
  if (!Array.isArray(a.datasets)) throw new ConfigError('ConcatDataset: datasets must be a list');
  return new ConcatDataset(await Promise.all(a.datasets.map((d) => buildDataset(d as Record<string, unknown>))));
});
// an ssl addition (torch's Subset): num_samples images evenly spaced over the dataset, for short benchmark runs
DATASETS.register('SubsetDataset', async (a) => {
  checkArgs('SubsetDataset', a, ['dataset', 'num_samples']);
  const n = a.num_samples as number;
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(`SubsetDataset: num_samples must be a positive integer, got ${JSON.stringify(a.num_samples)}`);
  const d = await buildDataset(a.dataset as Record<string, unknown>);
  return new SubsetDataset(d, evenlySpaced(d.length, n));
});
DATASETS.register('RepeatDataset', async (a) => {
  checkArgs('RepeatDataset', a, ['dataset', 'times']);
  return new RepeatDataset(await buildDataset(a.dataset as Record<string, unknown>), a.times as number);
});

/**
 * Builds a dataset from an MMSelfSup `data.train`-style config (a list means ConcatDataset).
 * Awaits data source indexes. The config is kept on `dataset.cfg` so loader workers can rebuild it.
 * @throws ConfigError for an empty dataset.
 */
export async function buildDataset(cfg: Record<string, unknown> | Record<string, unknown>[]): Promise<Dataset> {
  const plain = Array.isArray(cfg) ? { type: 'ConcatDataset', datasets: cfg } : cfg;
  const ds = await DATASETS.build(plain);
  (ds as { cfg?: Record<string, unknown> }).cfg = plain;
  if (ds.length === 0) {
    const src = (plain as { data_source?: Record<string, unknown> }).data_source;
    throw new ConfigError(`the ${String(plain.type)} dataset is empty${src ? ` (data_source ${String(src.type)}${src.data_prefix ? ` at ${String(src.data_prefix)}` : ''})` : ''}; check data_prefix / ann_file`);
  }
  return ds;
}

export { SingleViewDataset, MultiViewDataset, DeepClusterDataset, RotationPredDataset, RelativeLocDataset, ConcatDataset, RepeatDataset };

import { join } from 'node:path';
import { ConfigError, SslError } from '../../errors.js';
import { buildDataset, type Dataset } from '../../data/index.js';
import { loadEvalModel } from '../../eval/eval-model.js';
import { extractFeatureSets } from '../../eval/extract-features.js';
import { knnDatasets } from '../../eval/knn.js';
import { ProgressBar } from '../../runner/logging/progress.js';
import { renderChart, scatterChart, writeFileAtomically, type Datum } from '../../viz/index.js';
import { multiPooling, type PoolType } from './multi-pooling.js';
import { embed2d, type EmbedMethod } from './embed.js';
import type { TsneSettings } from './optimize.js';

type Cfg = Record<string, unknown>;

export interface VisualizeTsneOptions {
  checkpoint?: string;
  /** Backbone stages: 0 = stem, 1…4 = res layers (MMSelfSup's `--layer-ind`). */
  layerInd: number[];
  poolType: PoolType;
  /** Only images whose label is below this (MMSelfSup's `--max-num-class`, default 20). */
  maxNumClass: number;
  /** At most this many images (the first ones after the class filter; an ssl addition). */
  numSamples?: number;
  method: EmbedMethod;
  tsne: Partial<TsneSettings>;
  /** The dataset to embed (MMSelfSup's `--dataset-config` `data.extract`); default: `data.extract`, else kNN's val set. */
  dataset?: Cfg;
  outDir: string;
  backend?: string;
  seed?: number;
  batchSize?: number;
  log?: (m: string) => void;
  /** Live bars on a terminal (off in tests and pipes). */
  progress?: boolean;
}

export interface StageResult {
  key: string;
  png: string;
  json: string;
  dim: number;
  seconds: number;
  kl?: number;
}

/** The images of `base` at `indices`, in that order. */
function subset(base: Dataset, indices: number[]): Dataset {
  return {
    type: base.type,
    length: indices.length,
    source: base.source,
    getItem: (i, rng) => base.getItem(indices[i], rng),
    getLabel: (i) => base.getLabel(indices[i]),
  };
}

/** Normalised to [0, 1] per axis, as MMSelfSup plots its embeddings. */
function normalise(y: Float64Array, n: number): [number, number][] {
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  for (let i = 0; i < n; i++) for (let a = 0; a < 2; a++) {
    lo[a] = Math.min(lo[a], y[2 * i + a]);
    hi[a] = Math.max(hi[a], y[2 * i + a]);
  }
  return Array.from({ length: n }, (_, i) => [0, 1].map((a) => (y[2 * i + a] - lo[a]) / Math.max(hi[a] - lo[a], 1e-12)) as [number, number]);
}

/**
 * `ssl viz tsne` (MMSelfSup's `tools/analysis_tools/visualize_tsne.py`): features of each requested
 * backbone stage pooled by MultiPooling, embedded in 2-D, one scatter PNG per stage coloured by
 * class (`feat<stage+1>.png`) and the points as JSON (`feat<stage+1>.json`) in `outDir`.
 */
export async function visualizeTsne(cfg: Cfg, opts: VisualizeTsneOptions): Promise<StageResult[]> {
  // the backbone returns its stages in ascending order, whatever order --layer-ind names them in
  const o = { ...opts, layerInd: [...new Set(opts.layerInd)].sort((a, b) => a - b) };
  const log = o.log ?? (() => {});
  for (const l of o.layerInd) if (!(Number.isInteger(l) && l >= 0 && l <= 4)) throw new SslError(`--layer-ind takes stages 0 (stem) to 4, got ${l}`, { code: 'TSNE_LAYER' });
  const model = cfg.model as Cfg | undefined;
  if (!model?.backbone) throw new ConfigError('the config has no model.backbone to extract features from');
  // the backbone returns the requested stages (MMSelfSup sets out_indices from --layer-ind)
  const withStages = { ...cfg, model: { ...model, backbone: { ...(model.backbone as Cfg), out_indices: o.layerInd } } };
  const datasetCfg = o.dataset ?? ((cfg.data as Cfg | undefined)?.extract as Cfg | undefined) ?? knnDatasets(cfg).val;
  const full = await buildDataset(datasetCfg);
  let indices: number[] = [];
  for (let i = 0; i < full.length; i++) if (full.getLabel(i) >= 0 && full.getLabel(i) < o.maxNumClass) indices.push(i);
  if (o.numSamples !== undefined) indices = indices.slice(0, o.numSamples);
  if (indices.length < 2) throw new SslError(`only ${indices.length} labelled image(s) with a class below --max-num-class ${o.maxNumClass}: nothing to embed`, { code: 'TSNE_EMPTY' });
  log(`Apply ${o.method === 'umap' ? 'UMAP' : 't-SNE'} to visualize ${indices.length} samples.`);
  const dataset = subset(full, indices);

  const net = await loadEvalModel(withStages, { checkpoint: o.checkpoint, backend: o.backend, seed: o.seed, log });
  const bar = new ProgressBar('extract features', dataset.length, process.stderr, o.progress);
  const { sets, labels, n } = await extractFeatureSets(net, dataset, (outs) => multiPooling(outs, o.layerInd, o.poolType), {
    batchSize: o.batchSize ?? 256,
    log,
    onProgress: (d) => bar.update(d),
  });
  bar.finish();
  net.dispose();

  const names = full.source?.CLASSES;
  const className = (l: number) => (names?.[l] !== undefined ? `${l} ${names[l]}` : `class ${l}`);
  const present = [...new Set(labels)].sort((a, b) => a - b);
  const results: StageResult[] = [];
  for (let s = 0; s < sets.length; s++) {
    const key = `feat${o.layerInd[s] + 1}`;
    log(`${key}: ${n} x ${sets[s].dim} features; running ${o.method === 'umap' ? 'UMAP' : 't-SNE'}`);
    const t0 = performance.now();
    const e = await embed2d(o.method, sets[s].feats, n, sets[s].dim, o.tsne, `${o.method === 'umap' ? 'UMAP' : 't-SNE'} ${key}`, o.progress);
    const seconds = (performance.now() - t0) / 1000;
    const points = normalise(e.embedding, n);
    const values: Datum[] = points.map(([x, y], i) => ({ x, y, class: className(labels[i]) }));
    const png = await renderChart(
      scatterChart(values, { x: 'x', y: 'y', color: 'class' }, {
        title: `${o.method === 'umap' ? 'UMAP' : 't-SNE'} of ${key} (stage ${o.layerInd[s]}, ${sets[s].dim}-d, ${o.poolType} pooling)`,
        xTitle: null, yTitle: null, width: 560, height: 560, pointSize: 15, colorDomain: present.map(className),
      }),
    );
    const pngPath = join(o.outDir, `${key}.png`);
    const jsonPath = join(o.outDir, `${key}.json`);
    writeFileAtomically(pngPath, png);
    writeFileAtomically(jsonPath, JSON.stringify({
      key, stage: o.layerInd[s], pool_type: o.poolType, method: o.method, dim: sets[s].dim, ...e.info,
      classes: present.map((l) => ({ label: l, name: className(l) })),
      labels: Array.from(labels),
      points: points.map(([x, y]) => [Number(x.toFixed(6)), Number(y.toFixed(6))]),
    }));
    log(`${key}: ${seconds.toFixed(1)} s; saved ${pngPath}`);
    results.push({ key, png: pngPath, json: jsonPath, dim: sets[s].dim, seconds, kl: e.info.kl_divergence as number | undefined });
  }
  return results;
}

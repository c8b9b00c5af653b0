import type { Better } from './types.js';

export interface MetricInfo {
  /** The stage that yields it. */
  stage: string;
  /** Other stages that may yield it (the train stage's online kNN monitor, evaluation = dict(type='knn')). */
  alsoFrom?: string[];
  better: Better;
  unit: string;
  /** Collected when the sweep file lists no metrics. */
  default: boolean;
  description: string;
}

/** Every metric a sweep can collect, by the name sweep files use. */
export const METRICS: Record<string, MetricInfo> = {
  'knn.top1': { stage: 'eval knn', alsoFrom: ['train'], better: 'higher', unit: '%', default: true, description: 'weighted kNN top-1 accuracy (eval knn, else the training run\'s kNN monitor)' },
  'knn.top5': { stage: 'eval knn', alsoFrom: ['train'], better: 'higher', unit: '%', default: false, description: 'weighted kNN top-5 accuracy' },
  'linear.top1': { stage: 'eval linear', better: 'higher', unit: '%', default: true, description: 'linear classification top-1 (the headline head of ssl eval linear)' },
  'linear.top5': { stage: 'eval linear', better: 'higher', unit: '%', default: false, description: 'linear classification top-5' },
  loss: { stage: 'train', better: 'lower', unit: '', default: true, description: 'mean training loss of the last epoch (else the last logged loss)' },
  images_per_s: { stage: 'train', better: 'higher', unit: 'img/s', default: true, description: 'training images per second (effective total batch / median iteration time)' },
  wall_time: { stage: 'train', better: 'lower', unit: 's', default: true, description: 'seconds of all stages of the trial' },
};

export function metricBetter(name: string): Better {
  return METRICS[name]?.better ?? 'higher';
}

/** Registers a metric (a stage file adds its own, e.g. linear.top1). */
export function registerMetric(name: string, info: MetricInfo): void {
  METRICS[name] = info;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  // sample standard deviation (n - 1), as numpy's std(ddof=1)
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

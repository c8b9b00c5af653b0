import { SslError } from '../../errors.js';
import { readJsonLog } from './read-json-log.js';

export interface TrainTime {
  path: string;
  slowestEpoch: number;
  slowestTime: number;
  fastestEpoch: number;
  fastestTime: number;
  /** Population std of the per-epoch mean iteration times (numpy's default). */
  stdOverEpochs: number;
  /** Mean over every iteration time counted (s/iter). */
  averageIterTime: number;
  epochs: number;
  skippedLines: number;
}

/**
 * `ssl logs time` (MMSelfSup's `analyze_logs.py cal_train_time`): per-epoch mean of the logged
 * `time` of training iterations, without each epoch's first (warm-up, data loader start) unless
 * `includeOutliers`; the slowest and fastest epoch, the std over epochs and the overall mean.
 */
export function calTrainTime(pathOrDir: string, includeOutliers = false): TrainTime {
  const log = readJsonLog(pathOrDir);
  const byEpoch = new Map<number, number[]>();
  for (const r of log.records) {
    if (r.mode !== 'train' || typeof r.time !== 'number') continue;
    const list = byEpoch.get(r.epoch) ?? [];
    list.push(r.time);
    byEpoch.set(r.epoch, list);
  }
  const epochs: { epoch: number; mean: number }[] = [];
  const all: number[] = [];
  for (const [epoch, times] of byEpoch) {
    const kept = includeOutliers ? times : times.slice(1);
    if (kept.length === 0) continue;
    all.push(...kept);
    epochs.push({ epoch, mean: kept.reduce((a, b) => a + b, 0) / kept.length });
  }
  if (epochs.length === 0) {
    const why = byEpoch.size === 0 ? 'no training record with a `time`' : 'one timed record per epoch, which is dropped as the warm-up';
    throw new SslError(`${log.path} has ${why}: log more often (log_config.interval)${byEpoch.size > 0 ? ' or pass --include-outliers' : ''}`, { code: 'LOG_NO_TIME' });
  }
  const slowest = epochs.reduce((a, b) => (b.mean > a.mean ? b : a));
  const fastest = epochs.reduce((a, b) => (b.mean < a.mean ? b : a));
  const m = epochs.reduce((a, b) => a + b.mean, 0) / epochs.length;
  const std = Math.sqrt(epochs.reduce((a, b) => a + (b.mean - m) ** 2, 0) / epochs.length);
  return {
    path: log.path,
    slowestEpoch: slowest.epoch,
    slowestTime: slowest.mean,
    fastestEpoch: fastest.epoch,
    fastestTime: fastest.mean,
    stdOverEpochs: std,
    averageIterTime: all.reduce((a, b) => a + b, 0) / all.length,
    epochs: epochs.length,
    skippedLines: log.skippedLines,
  };
}

/** MMSelfSup's printout of `cal_train_time`. */
export function formatTrainTime(t: TrainTime): string {
  return [
    `-----Analyze train time of ${t.path}-----`,
    `slowest epoch ${t.slowestEpoch}, average time is ${t.slowestTime.toFixed(4)}`,
    `fastest epoch ${t.fastestEpoch}, average time is ${t.fastestTime.toFixed(4)}`,
    `time std over epochs is ${t.stdOverEpochs.toFixed(4)}`,
    `average iter time: ${t.averageIterTime.toFixed(4)} s/iter`,
  ].join('\n');
}

import { SslError } from '../../errors.js';
import { numericKeys, type JsonLog, type LogRecord } from './read-json-log.js';

export type XAxis = 'iter' | 'epoch';

export interface CurvePoint {
  x: number;
  y: number;
}

/**
 * Iterations in epoch `e` of a by-epoch run: ssl's `train_epoch` record when the log has one, else
 * MMSelfSup's `plot_curve` rule (the last logged iteration of the first epoch).
 */
function epochLength(log: JsonLog, train: LogRecord[]): (epoch: number) => number {
  const first = train.filter((r) => r.epoch === train[0].epoch).reduce((m, r) => Math.max(m, r.iter), 0);
  return (e) => log.epochLengths.get(e) ?? first;
}

/** Positions of the train records on the x axis: global iteration, or (fractional) epoch. */
function trainPositions(log: JsonLog, train: LogRecord[], xAxis: XAxis): number[] {
  // an IterBasedRunner logs the global iteration (it never goes back); an EpochBasedRunner restarts it each epoch
  const iterBased = train.every((r, i) => i === 0 || r.iter >= train[i - 1].iter);
  if (iterBased) return train.map((r) => (xAxis === 'iter' ? r.iter : r.epoch));
  const len = epochLength(log, train);
  const offsets = new Map<number, number>();
  let acc = 0;
  for (let e = 1; e <= Math.max(...train.map((r) => r.epoch)); e++) {
    offsets.set(e, acc);
    acc += len(e);
  }
  return train.map((r) => (xAxis === 'iter' ? (offsets.get(r.epoch) ?? 0) + r.iter : r.epoch - 1 + r.iter / Math.max(len(r.epoch), 1)));
}

/**
 * The curve of `key` in `log`: from the train records (every logged interval) when they carry it,
 * else from the evaluation records (`mode: val`, e.g. `knn_top1`), placed where the run was when it
 * evaluated (the epoch number on an epoch axis). A key the log lacks is a one-line error listing those it has.
 */
export function curve(log: JsonLog, key: string, xAxis: XAxis): { points: CurvePoint[]; mode: 'train' | 'val' } {
  const train = log.records.filter((r) => r.mode === 'train');
  if (train.length === 0 && log.records.length === 0) {
    throw new SslError(`${log.path} has no training records yet (only the run's meta line): plot it after the first log interval`, { code: 'LOG_EMPTY' });
  }
  const xs = trainPositions(log, train, xAxis);
  if (train.some((r) => typeof r[key] === 'number')) {
    const points: CurvePoint[] = [];
    train.forEach((r, i) => {
      if (typeof r[key] === 'number') points.push({ x: xs[i], y: r[key] as number });
    });
    return { points, mode: 'train' };
  }
  const points: CurvePoint[] = [];
  let lastTrainX = 0;
  let t = 0;
  for (const r of log.records) {
    if (r.mode === 'train') lastTrainX = xs[t++];
    else if (typeof r[key] === 'number') points.push({ x: xAxis === 'epoch' ? r.epoch : lastTrainX, y: r[key] as number });
  }
  if (points.length === 0) {
    const keys = numericKeys(log);
    throw new SslError(`${log.path} has no key '${key}'; its keys: ${keys.length > 0 ? keys.join(', ') : '(none)'}`, { code: 'LOG_KEY' });
  }
  return { points, mode: 'val' };
}

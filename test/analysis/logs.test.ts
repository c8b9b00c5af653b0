import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curve } from '../../src/analysis/logs/curves.js';
import { readJsonLog } from '../../src/analysis/logs/read-json-log.js';
import { calTrainTime } from '../../src/analysis/logs/train-time.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'logs', 'simclr-synthetic-3e.log.json');

function logFile(lines: (object | string)[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-logs-'));
  const path = join(dir, 'run.log.json');
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

// MMSelfSup's own format: meta line without `epoch`, by-epoch train records, an evaluation record
const mmselfsupLog = [
  { env_info: 'sys.platform: linux', seed: 0, exp_name: 'simclr.py' },
  { mode: 'train', epoch: 1, iter: 10, lr: 0.3, memory: 100, data_time: 0.1, loss: 5, time: 10 },
  { mode: 'train', epoch: 1, iter: 20, lr: 0.2, memory: 100, data_time: 0.1, loss: 4, time: 1 },
  { mode: 'train', epoch: 1, iter: 30, lr: 0.1, memory: 100, data_time: 0.1, loss: 3, time: 2 },
  { mode: 'val', epoch: 1, iter: 5, knn_top1: 40 },
  { mode: 'train', epoch: 2, iter: 10, lr: 0.05, memory: 100, data_time: 0.1, loss: 2, time: 10 },
  { mode: 'train', epoch: 2, iter: 20, lr: 0.02, memory: 100, data_time: 0.1, loss: 1.5, time: 3 },
  { mode: 'train', epoch: 2, iter: 30, lr: 0.01, memory: 100, data_time: 0.1, loss: 1, time: 5 },
  { mode: 'val', epoch: 2, iter: 5, knn_top1: 55 },
];

describe('reading JSON logs', () => {
  test("ssl train's log: meta line and train_epoch records are not curve points; iterations count across epochs", () => {
    const log = readJsonLog(FIXTURE);
    expect(log.records).toHaveLength(12);
    expect(log.skippedLines).toBe(0);
    expect([...log.epochLengths.values()]).toEqual([4, 4, 4]);
    const loss = curve(log, 'loss', 'iter').points;
    expect(loss.map((p) => p.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const raw = readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.mode === 'train');
    expect(loss.map((p) => p.y)).toEqual(raw.map((r) => r.loss));
    expect(curve(log, 'lr', 'epoch').points.map((p) => p.x)).toEqual([0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]);
  });

  test("MMSelfSup's log: global iteration = iter + (epoch - 1) x iterations of the first epoch; val keys by epoch", () => {
    const log = readJsonLog(logFile(mmselfsupLog));
    expect(curve(log, 'loss', 'iter').points.map((p) => p.x)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(curve(log, 'knn_top1', 'epoch')).toEqual({ points: [{ x: 1, y: 40 }, { x: 2, y: 55 }], mode: 'val' });
    // on an iteration axis an evaluation sits where training was when it ran
    expect(curve(log, 'knn_top1', 'iter').points.map((p) => p.x)).toEqual([30, 60]);
  });

  test('an IterBasedRunner log keeps its global iterations', () => {
    const log = readJsonLog(logFile([{ mode: 'train', epoch: 1, iter: 50, loss: 2 }, { mode: 'train', epoch: 1, iter: 100, loss: 1 }, { mode: 'train', epoch: 2, iter: 150, loss: 0.5 }]));
    expect(curve(log, 'loss', 'iter').points.map((p) => p.x)).toEqual([50, 100, 150]);
  });

  test('a truncated last line and a stray line are skipped and counted', () => {
    const log = readJsonLog(logFile([...mmselfsupLog.slice(0, 3), 'garbage', '{"mode": "train", "epoch": 1, "iter": 3']));
    expect(log.records).toHaveLength(2);
    expect(log.skippedLines).toBe(2);
  });

  test('a missing key names the keys the log has', () => {
    const log = readJsonLog(logFile(mmselfsupLog));
    expect(() => curve(log, 'loss_cls', 'iter')).toThrow("has no key 'loss_cls'; its keys: lr, memory, data_time, loss, time, knn_top1");
  });

  test('a work dir resolves to its newest <timestamp>.log.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssl-wd-'));
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run', '20260101_000000.log.json'), JSON.stringify(mmselfsupLog[1]) + '\n');
    writeFileSync(join(dir, 'run', '20260102_000000.log.json'), JSON.stringify(mmselfsupLog[5]) + '\n');
    const log = readJsonLog(join(dir, 'run'));
    expect(log.path.endsWith('20260102_000000.log.json')).toBe(true);
    expect(log.name).toBe('run');
    expect(() => readJsonLog(join(dir, 'nope'))).toThrow(/does not exist/);
  });
});

describe('calTrainTime (cal_train_time)', () => {
  test("each epoch's first time is dropped; epoch means 1.5 and 4", () => {
    const t = calTrainTime(logFile(mmselfsupLog));
    expect(t.slowestEpoch).toBe(2);
    expect(t.slowestTime).toBeCloseTo(4, 10);
    expect(t.fastestEpoch).toBe(1);
    expect(t.fastestTime).toBeCloseTo(1.5, 10);
    expect(t.stdOverEpochs).toBeCloseTo(1.25, 10);
    expect(t.averageIterTime).toBeCloseTo((1 + 2 + 3 + 5) / 4, 10);
  });

  test('--include-outliers keeps them', () => {
    const t = calTrainTime(logFile(mmselfsupLog), true);
    expect(t.fastestTime).toBeCloseTo(13 / 3, 10);
    expect(t.slowestTime).toBeCloseTo(6, 10);
    expect(t.averageIterTime).toBeCloseTo(31 / 6, 10);
  });

  test('a log without times is a one-line error', () => {
    expect(() => calTrainTime(logFile([{ mode: 'train', epoch: 1, iter: 1, loss: 1, time: 1 }]))).toThrow(/--include-outliers/);
  });
});

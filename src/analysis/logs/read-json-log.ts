import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SslError } from '../../errors.js';

/** One record of a `*.log.json` (mmcv TextLoggerHook): `mode`, `epoch`, `iter`, then the logged values. */
export interface LogRecord {
  mode: string;
  epoch: number;
  iter: number;
  [key: string]: unknown;
}

export interface JsonLog {
  path: string;
  /** A short name for legends: the work dir's name for `<work_dir>/<timestamp>.log.json`. */
  name: string;
  records: LogRecord[];
  /** Lines that are not JSON objects (a run that crashed mid-write leaves its last line cut). */
  skippedLines: number;
  /** ssl's `train_epoch` records: epoch → the number of iterations in it. */
  epochLengths: Map<number, number>;
}

/** `WORK_DIR` → its newest `<timestamp>.log.json` (mmcv's timestamps sort by time); a file is taken as given. */
export function resolveJsonLog(pathOrDir: string): string {
  if (!existsSync(pathOrDir)) throw new SslError(`${pathOrDir} does not exist: give a work dir or a *.log.json file`, { code: 'LOG_NOT_FOUND' });
  if (!statSync(pathOrDir).isDirectory()) return pathOrDir;
  const logs = readdirSync(pathOrDir).filter((f) => f.endsWith('.log.json')).sort();
  if (logs.length === 0) throw new SslError(`${pathOrDir} holds no *.log.json: give a work dir of \`ssl train\` or the JSON log itself`, { code: 'LOG_NOT_FOUND' });
  return join(pathOrDir, logs[logs.length - 1]);
}

/**
 * Reads a JSON-lines training log as `ssl train` and MMSelfSup write it: the first line is the run's
 * meta (no `epoch`, skipped as MMSelfSup's `load_json_logs` does), then one object per log interval.
 * Lines that do not parse are skipped and counted, so a crashed run's log still plots.
 */
export function readJsonLog(pathOrDir: string): JsonLog {
  const path = resolveJsonLog(pathOrDir);
  const records: LogRecord[] = [];
  const epochLengths = new Map<number, number>();
  let skippedLines = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      skippedLines++;
      continue;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      skippedLines++;
      continue;
    }
    const r = o as Record<string, unknown>;
    if (typeof r.epoch !== 'number') continue;
    if (r.mode === 'train_epoch') {
      if (typeof r.iters === 'number') epochLengths.set(r.epoch, r.iters);
      continue;
    }
    records.push({ ...r, mode: typeof r.mode === 'string' ? r.mode : 'train', epoch: r.epoch, iter: typeof r.iter === 'number' ? r.iter : 0 });
  }
  const file = basename(path);
  const name = /^\d{8}_\d{6}\.log\.json$/.test(file) ? basename(dirname(path)) || file : file.replace(/\.log\.json$|\.json$/, '');
  return { path, name, records, skippedLines, epochLengths };
}

/** Numeric keys a record of `mode` carries (what `--keys` can name). */
export function numericKeys(log: JsonLog, mode?: string): string[] {
  const keys = new Set<string>();
  for (const r of log.records) {
    if (mode !== undefined && r.mode !== mode) continue;
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'epoch' && k !== 'iter') keys.add(k);
  }
  return [...keys];
}

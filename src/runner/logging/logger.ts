import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Python logging's default asctime: `2026-11-28 12:00:00,123` (local time). */
export function asctime(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

/** mmcv's run timestamp `time.strftime('%Y%m%d_%H%M%S')`, used for `<timestamp>.log(.json)`. */
export function runTimestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** This rank's text log in the work dir: rank 0 keeps mmcv's name, the others add their rank. */
export function rankLogName(timestamp: string, rank: number): string {
  return rank === 0 ? `${timestamp}.log` : `${timestamp}.rank${rank}.log`;
}

export type Level = 'INFO' | 'WARNING' | 'ERROR';

/** Something that temporarily owns the terminal's last line (the live progress line). */
export interface StatusLine {
  clear(): void;
  redraw(): void;
}

/**
 * The `mmselfsup` logger: `asctime - mmselfsup - LEVEL - message` lines to `file` (every rank has its
 * own: `<work_dir>/<timestamp>.log` on rank 0, `<timestamp>.rank<N>.log` on the others) and to
 * stdout: everything on rank 0, errors only on the other ranks (mmcv sets their level to ERROR).
 */
export class Logger {
  status: StatusLine | undefined;
  /** Lines waiting for the file (`deferFile`: nothing is written until the run's inputs are checked). */
  private pending: string[] | undefined;

  constructor(
    readonly file: string | undefined,
    readonly rank = 0,
    readonly name = 'mmselfsup',
    readonly write: (line: string) => void = (line) => process.stdout.write(line),
    opts: { deferFile?: boolean } = {},
  ) {
    if (opts.deferFile) this.pending = [];
    else if (file) mkdirSync(dirname(file), { recursive: true });
  }

  /** With `deferFile`: creates the file (and its directory) with the lines logged so far; later lines are appended. */
  openFile(): void {
    if (!this.pending) return;
    const lines = this.pending;
    this.pending = undefined;
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, lines.join(''));
  }

  info(message: string): void {
    this.log('INFO', message);
  }

  warning(message: string): void {
    this.log('WARNING', message);
  }

  error(message: string): void {
    this.log('ERROR', message);
  }

  log(level: Level, message: string): void {
    const line = `${asctime()} - ${this.name} - ${level} - ${message}\n`;
    if (this.rank === 0 || level === 'ERROR') {
      this.status?.clear();
      this.write(line);
      this.status?.redraw();
    }
    if (this.pending) this.pending.push(line);
    else if (this.file) appendFileSync(this.file, line);
  }
}

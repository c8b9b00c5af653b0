import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Trial, TrialState } from './types.js';

interface Running {
  trial: Trial;
  stage: string;
  logPath: string;
  since: number;
}

/** Iteration and ETA of a running stage from the end of its log (mmcv's text log lines). */
export function lastProgress(logPath: string): string {
  if (!existsSync(logPath)) return '';
  const size = statSync(logPath).size;
  const len = Math.min(size, 4096);
  const buf = Buffer.alloc(len);
  const fd = openSync(logPath, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  const epoch = [...text.matchAll(/Epoch \[(\d+)\]\[(\d+)\/(\d+)\][^\n]*?eta: ([\d:]+)/g)].pop();
  if (epoch) return `epoch ${epoch[1]} iter ${epoch[2]}/${epoch[3]} eta ${epoch[4]}`;
  const iter = [...text.matchAll(/Iter \[(\d+)\/(\d+)\][^\n]*?eta: ([\d:]+)/g)].pop();
  if (iter) return `iter ${iter[1]}/${iter[2]} eta ${iter[3]}`;
  return '';
}

/**
 * Progress of a sweep. On a terminal: one live line per running trial (stage, iteration, ETA) under a
 * done/failed count, redrawn in place. Otherwise (CI logs): one timestamped line per state change.
 */
export class SweepProgress {
  private readonly running = new Map<string, Running>();
  private done = 0;
  private failed = 0;
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly total: number,
    private readonly live = Boolean(stream.isTTY),
  ) {
    if (this.live) this.timer = setInterval(() => this.redraw(), 1000).unref();
  }

  private line(text: string): void {
    if (this.live) {
      this.clear();
      this.stream.write(`${text}\n`);
      this.redraw();
    } else {
      this.stream.write(`${new Date().toISOString()} ${text}\n`);
    }
  }

  stage(trial: Trial, stage: string, logPath: string): void {
    this.running.set(trial.id, { trial, stage, logPath, since: Date.now() });
    if (this.live) this.redraw();
    else this.line(`${trial.id} ${stage} started (${trial.label})`);
  }

  skipped(state: TrialState, why: string): void {
    if (state.status === 'done') this.done++;
    else this.failed++;
    this.line(`${state.id} ${why} (${state.label})`);
  }

  ended(state: TrialState): void {
    this.running.delete(state.id);
    if (state.status === 'done') this.done++;
    else this.failed++;
    const detail = state.status === 'done' ? Object.entries(state.metrics).map(([k, v]) => `${k}=${Number.isFinite(v) ? +v.toFixed(3) : v}`).join(' ') : state.error ?? '';
    this.line(`${state.id} ${state.status} ${detail} [${this.done + this.failed}/${this.total}]`);
  }

  note(text: string): void {
    this.line(text);
  }

  private clear(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.live) return;
    this.clear();
    const width = Math.max(40, (this.stream.columns ?? 120) - 1);
    const rows = [...this.running.values()].map((r) => {
      const secs = Math.round((Date.now() - r.since) / 1000);
      return `  ${r.trial.id} ${r.stage} ${lastProgress(r.logPath) || `${secs}s`}  ${r.trial.label}`.slice(0, width);
    });
    rows.push(`  ${this.done} done, ${this.failed} failed, ${this.running.size} running, ${this.total - this.done - this.failed - this.running.size} waiting`);
    this.stream.write(`${rows.join('\n')}\n`);
    this.drawn = rows.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}

import type { BaseRunner } from '../base-runner.js';
import { pyExp, pyTimedelta } from './format.js';

/**
 * A live status line on a terminal (stderr): epoch, iter/total, loss, lr, images/s, ETA.
 * Log lines clear it and redraw it below themselves; without a TTY it is never attached.
 */
export class ProgressLine {
  private text = '';
  private start = 0;
  private startIter = 0;
  private last = 0;

  constructor(
    readonly runner: BaseRunner,
    readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  attach(): void {
    this.runner.logger.status = { clear: () => this.clear(), redraw: () => this.redraw() };
    this.runner.iterListeners.push(() => this.update());
  }

  private update(): void {
    const r = this.runner;
    const now = performance.now();
    if (this.start === 0) {
      this.start = now;
      this.startIter = r.iter - 1;
    }
    if (now - this.last < 200 && r.iter < r.maxIters) return;
    this.last = now;
    const done = r.iter - this.startIter;
    const secPerIter = (now - this.start) / 1000 / Math.max(done, 1);
    const ips = (r.batchSize * r.worldSize) / Math.max(secPerIter, 1e-9);
    const eta = secPerIter * (r.maxIters - r.iter);
    const where = r.byEpoch ? `epoch ${r.epoch + 1}/${r.maxEpochs} iter ${r.innerIter + 1}/${r.epochLength}` : `iter ${r.iter}/${r.maxIters}`;
    const loss = r.logBuffer.valHistory.get('loss')?.at(-1);
    this.clear();
    this.text = `${where}  loss ${loss === undefined ? '-' : loss.toFixed(4)}  lr ${pyExp(r.currentLr()[0])}  ${ips.toFixed(1)} img/s  eta ${pyTimedelta(eta)}`;
    this.redraw();
  }

  clear(): void {
    if (this.text) this.stream.write('\r\x1b[2K');
  }

  redraw(): void {
    if (this.text) this.stream.write(this.text.slice(0, Math.max(20, (this.stream.columns || 120) - 1)));
  }
}

/**
 * A live bar for long work of known size outside the training loop (feature extraction, t-SNE
 * iterations, sweeps): `label [######------] 1200/5000 24%  eta 0:00:31` redrawn on stderr at most
 * every 100 ms. Only on a terminal: under CI, Slurm or a pipe it writes nothing at all.
 */
export class ProgressBar {
  private start = performance.now();
  private last = 0;
  private shown = false;
  readonly enabled: boolean;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly stream: NodeJS.WriteStream = process.stderr,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? (Boolean(stream.isTTY) && !process.env.CI);
  }

  /** `done` of `total` units finished. */
  update(done: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const text = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ${Math.floor(frac * 100)}%  ${Number.isFinite(eta) ? `eta ${pyTimedelta(eta)}` : ''}`;
    this.stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (this.stream.columns || 120) - 1))}`);
    this.shown = true;
  }

  /** Clears the bar (the caller logs its own summary line). */
  finish(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

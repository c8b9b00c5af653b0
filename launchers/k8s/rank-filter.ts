import { Writable } from 'node:stream';

/**
 * A sink for one pod's log that forwards it to `out` without ever ending `out`.
 * With several workers per pod (each line prefixed `[rank N] ` by the agent) and `rank` given,
 * lines of the other local ranks are dropped; unprefixed lines (the agent's own) are kept.
 */
export class RankFilter extends Writable {
  private pending = '';

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly rank?: number,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const text = this.pending + chunk.toString();
    const end = text.lastIndexOf('\n');
    this.pending = end < 0 ? text : text.slice(end + 1);
    if (end >= 0) this.emitLines(text.slice(0, end + 1));
    done();
  }

  override _final(done: (e?: Error | null) => void): void {
    if (this.pending) this.emitLines(this.pending);
    this.pending = '';
    done();
  }

  private emitLines(text: string): void {
    if (this.rank === undefined) {
      this.out.write(text);
      return;
    }
    const kept = text.split(/(?<=\n)/).filter((line) => {
      const m = /^\[rank (\d+)\] /.exec(line);
      return !m || Number(m[1]) === this.rank;
    });
    if (kept.length > 0) this.out.write(kept.join(''));
  }
}

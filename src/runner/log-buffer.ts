/** mmcv `LogBuffer`: per-key value histories with sample counts; `average(n)` fills `output`. */
export class LogBuffer {
  readonly valHistory = new Map<string, number[]>();
  readonly nHistory = new Map<string, number[]>();
  output: Record<string, number> = {};
  ready = false;

  update(vars: Record<string, number>, count = 1): void {
    for (const [key, v] of Object.entries(vars)) {
      if (!this.valHistory.has(key)) {
        this.valHistory.set(key, []);
        this.nHistory.set(key, []);
      }
      this.valHistory.get(key)!.push(v);
      this.nHistory.get(key)!.push(count);
    }
  }

  /** Count-weighted mean of the last `n` values of every key (all when n = 0). */
  average(n = 0): void {
    for (const [key, values] of this.valHistory) {
      const counts = this.nHistory.get(key)!;
      const vs = n > 0 ? values.slice(-n) : values;
      const ns = n > 0 ? counts.slice(-n) : counts;
      let num = 0;
      let den = 0;
      for (let i = 0; i < vs.length; i++) {
        num += vs[i] * ns[i];
        den += ns[i];
      }
      this.output[key] = num / den;
    }
    this.ready = true;
  }

  clear(): void {
    this.valHistory.clear();
    this.nHistory.clear();
    this.clearOutput();
  }

  clearOutput(): void {
    this.output = {};
    this.ready = false;
  }
}

import { ConfigError } from '../../errors.js';
import { nextUint32, uniform01 } from '../../engine/random.js';
import { defineComponent, REQUIRED } from '../../registry/index.js';

/** `F.normalize` of row `r` of `a` (`[rows, d]` row-major) in place: x / max(‖x‖₂, 1e-12). */
export function normalizeRow(a: Float32Array, r: number, d: number): void {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[r * d + j] * a[r * d + j];
  const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
  for (let j = 0; j < d; j++) a[r * d + j] *= inv;
}

/** `n` N(0, 1) draws (Box-Muller over mulberry32 seeded with `seed`). */
function normalFill(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * MMSelfSup `SimpleMemory` (NPID's memory bank): `length` L2-normalised features of `feat_dim`, one per
 * data-set sample, started from normalised N(0, 1) draws; `update` moves the rows of a batch towards
 * its normalised features with `momentum` and re-normalises them. Like MMSelfSup's it is not part of
 * the state dict (checkpoints hold the network only). Negatives are drawn uniformly with replacement
 * (MMSelfSup's `AliasMethod(torch.ones(length))`).
 */
export class SimpleMemory {
  private bank: Float32Array | null = null;
  /** Drawn from the engine generator at build (the same on every rank); the bank is filled on first use. */
  private readonly seed = nextUint32();

  constructor(
    readonly length: number,
    readonly featDim: number,
    readonly momentum: number,
  ) {
    if (!(Number.isInteger(length) && length > 0)) throw new ConfigError(`SimpleMemory: length must be a positive integer (the data set size), got ${String(length)}`);
    if (!(Number.isInteger(featDim) && featDim > 0)) throw new ConfigError(`SimpleMemory: feat_dim must be a positive integer, got ${String(featDim)}`);
  }

  /**
   * The bank, `[length, feat_dim]` row-major. Filled when first used, so that building the model
   * (`ssl model count-params`, a dry run) does not draw and hold length x feat_dim floats.
   */
  get featureBank(): Float32Array {
    if (!this.bank) {
      const bank = normalFill(this.length * this.featDim, this.seed);
      for (let r = 0; r < this.length; r++) normalizeRow(bank, r, this.featDim);
      this.bank = bank;
    }
    return this.bank;
  }

  /** Rows `idx` of the bank, `[idx.length, feat_dim]` row-major (a copy). */
  rows(idx: ArrayLike<number>): Float32Array {
    const d = this.featDim;
    const bank = this.featureBank;
    const out = new Float32Array(idx.length * d);
    for (let i = 0; i < idx.length; i++) out.set(bank.subarray(idx[i] * d, idx[i] * d + d), i * d);
    return out;
  }

  /** `n` indices drawn uniformly from `[0, length)`. */
  draw(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.min(this.length - 1, Math.floor(uniform01() * this.length));
    return out;
  }

  /**
   * MMSelfSup `update(idx, feature)` after the all-gather: row ← normalize((1-m)·row + m·normalize(f)).
   * `feats` is `[idx.length, feat_dim]` row-major.
   */
  update(idx: ArrayLike<number>, feats: Float32Array): void {
    const d = this.featDim;
    const m = this.momentum;
    const bank = this.featureBank;
    const f = Float32Array.from(feats);
    for (let i = 0; i < idx.length; i++) {
      normalizeRow(f, i, d);
      const r = idx[i];
      if (!(r >= 0 && r < this.length)) throw new Error(`SimpleMemory: sample index ${r} is outside the bank of ${this.length}`);
      for (let j = 0; j < d; j++) bank[r * d + j] = (1 - m) * bank[r * d + j] + m * f[i * d + j];
      normalizeRow(bank, r, d);
    }
  }
}

export const simpleMemoryEntry = defineComponent({
  type: 'SimpleMemory',
  args: { length: REQUIRED, feat_dim: REQUIRED, momentum: REQUIRED },
  build: (a) => new SimpleMemory(a.length as unknown as number, a.feat_dim as unknown as number, a.momentum as unknown as number),
});

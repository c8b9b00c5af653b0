import { ConfigError } from '../../errors.js';
import { assignInit, truncNormal } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { biasedDotProductAttention } from '../../engine/layers/attention-core.js';
import { DropPath } from '../../engine/layers/dropout.js';
import { Linear } from '../../engine/layers/linear.js';
import { roll } from '../../engine/ops/roll.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D, type Variable } from '../../engine/tf.js';

/**
 * mmcls's relative_position_index for a Wh×Ww window: entry (a, b) indexes the
 * `(2Wh−1)(2Ww−1)` bias table by the offset between window tokens a and b
 * (double_step_seq(2Ww−1, Wh, 1, Ww) summed with its transpose, then flipped along b).
 */
export function relativePositionIndex(wh: number, ww: number): Int32Array {
  const n = wh * ww;
  const coords = Array.from({ length: n }, (_, t) => Math.floor(t / ww) * (2 * ww - 1) + (t % ww));
  const out = new Int32Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out[a * n + b] = coords[a] + coords[n - 1 - b];
  return out;
}

/**
 * The shifted-window mask of mmcls's ShiftWindowMSA.get_attn_mask, `[nW, ws², ws²]`: 0 between
 * tokens of the same region of the rolled map, −100 across regions.
 */
export function shiftedWindowMask(hp: number, wp: number, ws: number, shift: number): Float32Array {
  const region = (i: number, size: number) => (i < size - ws ? 0 : i < size - shift ? 1 : 2);
  const nWh = hp / ws;
  const nWw = wp / ws;
  const n = ws * ws;
  const out = new Float32Array(nWh * nWw * n * n);
  const label = new Int32Array(n);
  for (let wy = 0; wy < nWh; wy++) {
    for (let wx = 0; wx < nWw; wx++) {
      for (let t = 0; t < n; t++) label[t] = region(wy * ws + Math.floor(t / ws), hp) * 3 + region(wx * ws + (t % ws), wp);
      const base = (wy * nWw + wx) * n * n;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out[base + a * n + b] = label[a] === label[b] ? 0 : -100;
    }
  }
  return out;
}

export interface WindowMSAArgs {
  qkvBias?: boolean;
  qkScale?: number | null;
}

/**
 * mmcls WindowMSA: multi-head self-attention inside ws×ws windows with a learned relative
 * position bias (`relative_position_bias_table` `[(2ws−1)², heads]`, indexed by the buffer
 * `relative_position_index` `[ws², ws²]`). x `[B·nW, ws², C]`, mask `[nW, ws², ws²]`.
 */
export class WindowMSA extends Module {
  readonly relativePositionBiasTable: Variable;
  readonly relativePositionIndex: Variable;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDims: number;
  readonly scale: number;

  constructor(
    readonly embedDims: number,
    readonly windowSize: number,
    readonly numHeads: number,
    args: WindowMSAArgs = {},
  ) {
    super();
    if (embedDims % numHeads !== 0) throw new ConfigError(`SwinTransformer: embed_dims ${embedDims} is not divisible by num_heads ${numHeads}`);
    this.headDims = embedDims / numHeads;
    this.scale = args.qkScale ?? this.headDims ** -0.5;
    const ws = windowSize;
    this.relativePositionBiasTable = this.registerParameter('relative_position_bias_table', truncNormal([(2 * ws - 1) * (2 * ws - 1), numHeads], 0, 0.02));
    this.relativePositionIndex = this.registerBuffer('relative_position_index', tf.tensor2d(relativePositionIndex(ws, ws), [ws * ws, ws * ws], 'int32'));
    this.qkv = this.registerModule('qkv', new Linear(embedDims, embedDims * 3, { bias: args.qkvBias ?? true }));
    this.proj = this.registerModule('proj', new Linear(embedDims, embedDims));
  }

  /** `[heads, ws², ws²]`: the table gathered by the index (differentiable in the table). */
  relativePositionBias(): Tensor3D {
    const n = this.windowSize * this.windowSize;
    const flat = tf.gather(this.relativePositionBiasTable, tf.reshape(this.relativePositionIndex, [n * n]));
    return tf.transpose(tf.reshape(flat, [n, n, this.numHeads]), [2, 0, 1]) as Tensor3D;
  }

  forward(x: Tensor3D, mask?: Tensor): Tensor3D {
    const [b, n, c] = x.shape;
    const h = this.numHeads;
    const hd = this.headDims;
    const qkv = tf.transpose(tf.reshape(this.qkv.forward(x), [b, n, 3, h, hd]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0).map((t) => tf.reshape(t, [b * h, n, hd]) as Tensor3D);
    let bias: Tensor = this.relativePositionBias();
    // one bias per (window, head): the mask repeats over heads, the relative bias over windows
    if (mask) bias = tf.reshape(tf.add(tf.expandDims(mask, 1), bias), [mask.shape[0] * h, n, n]);
    const attended = biasedDotProductAttention(tf.mul(q, this.scale) as Tensor3D, k, v, bias as Tensor3D);
    const out = tf.reshape(tf.transpose(tf.reshape(attended, [b, h, n, hd]), [0, 2, 1, 3]), [b, n, c]);
    return this.proj.forward(out) as Tensor3D;
  }
}

/** `[B, H, W, C]` -> `[B·(H/ws)·(W/ws), ws², C]` (mmcls window_partition, batch outermost). */
export function windowPartition(x: Tensor4D, ws: number): Tensor3D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [b, h / ws, ws, w / ws, ws, c]), [0, 1, 3, 2, 4, 5]), [-1, ws * ws, c]) as Tensor3D;
}

/** The inverse of `windowPartition`. */
export function windowReverse(windows: Tensor3D, h: number, w: number, ws: number): Tensor4D {
  const c = windows.shape[2];
  const b = windows.shape[0] / ((h / ws) * (w / ws));
  return tf.reshape(tf.transpose(tf.reshape(windows, [b, h / ws, w / ws, ws, ws, c]), [0, 1, 3, 2, 4, 5]), [b, h, w, c]) as Tensor4D;
}

// A handful of constant masks per process (one per map size, window and shift), shared by every block.
const MASKS = new Map<string, Tensor>();
function maskFor(hp: number, wp: number, ws: number, shift: number): Tensor {
  const key = `${tf.getBackend()}:${hp}x${wp}/${ws}/${shift}`;
  let m = MASKS.get(key);
  if (!m || m.isDisposed) {
    m = tf.keep(tf.tensor3d(shiftedWindowMask(hp, wp, ws, shift), [(hp / ws) * (wp / ws), ws * ws, ws * ws]));
    MASKS.set(key, m);
  }
  return m;
}

export interface ShiftWindowMSAArgs extends WindowMSAArgs {
  shiftSize: number;
  dropPath: number;
  padSmallMap: boolean;
}

/**
 * mmcls ShiftWindowMSA (the version with `pad_small_map`): pads the map to whole windows, rolls it
 * by −shift (SW-MSA), attends within windows with the region mask, rolls back, crops; DropPath on
 * the output. A map as small as the window is not shifted (unless pad_small_map); a smaller one
 * needs pad_small_map. x `[B, H·W, C]`.
 */
export class ShiftWindowMSA extends Module {
  readonly wMsa: WindowMSA;
  readonly drop: DropPath;

  constructor(
    embedDims: number,
    numHeads: number,
    readonly windowSize: number,
    readonly args: ShiftWindowMSAArgs,
  ) {
    super();
    if (!(args.shiftSize >= 0 && args.shiftSize < windowSize)) throw new ConfigError(`SwinTransformer: shift_size ${args.shiftSize} must be in [0, window_size ${windowSize})`);
    this.wMsa = this.registerModule('w_msa', new WindowMSA(embedDims, windowSize, numHeads, args));
    this.drop = this.registerModule('drop', new DropPath(args.dropPath));
  }

  forward(query: Tensor3D, hw: [number, number]): Tensor3D {
    const [b, l, c] = query.shape;
    const [h, w] = hw;
    if (l !== h * w) throw new Error(`ShiftWindowMSA: ${l} tokens do not make a ${h}×${w} map`);
    const ws = this.windowSize;
    let shift = this.args.shiftSize;
    if (Math.min(h, w) === ws) shift = this.args.padSmallMap ? shift : 0;
    else if (Math.min(h, w) < ws && !this.args.padSmallMap) {
      throw new ConfigError(`SwinTransformer: a ${h}×${w} feature map is smaller than window_size ${ws}; decrease the window_size (stage_cfgs.block_cfgs.window_size), enlarge img_size or set pad_small_map=True`);
    }
    const padR = (ws - (w % ws)) % ws;
    const padB = (ws - (h % ws)) % ws;
    let x = tf.reshape(query, [b, h, w, c]) as Tensor4D;
    if (padR || padB) x = tf.pad(x, [[0, 0], [0, padB], [0, padR], [0, 0]]);
    const [hp, wp] = [h + padB, w + padR];
    if (shift > 0) x = roll(x, [-shift, -shift], [1, 2]);
    const attended = this.wMsa.forward(windowPartition(x, ws), shift > 0 ? maskFor(hp, wp, ws, shift) : undefined);
    let y = windowReverse(attended, hp, wp, ws);
    if (shift > 0) y = roll(y, [shift, shift], [1, 2]);
    if (padR || padB) y = tf.slice(y, [0, 0, 0, 0], [b, h, w, c]);
    return this.drop.forward(tf.reshape(y, [b, h * w, c])) as Tensor3D;
  }
}

/** Re-initialises every bias table as mmcls's WindowMSA.init_weights does (trunc normal, std 0.02). */
export function initRelativePositionBias(root: Module): void {
  for (const [, m] of root.namedModules()) {
    if (m instanceof WindowMSA) assignInit(m.relativePositionBiasTable, truncNormal(m.relativePositionBiasTable.shape, 0, 0.02));
  }
}

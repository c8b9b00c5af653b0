/**
 * Convolution gradients expressed as forward convolutions, for backends whose backprop kernels
 * are missing or slow (wasm: no Conv2DBackpropFilter, a naive Conv2DBackpropInput). Forward
 * convolutions run in XNNPACK, so these are 5-20× faster there. All tensors NHWC / HWIO.
 *
 *   filter grad: dW[kh,kw,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+kh·d, ow·s+kw·d, ci] · dy[n,oh,ow,co]
 *                = conv(x as [ci, H, W, n], dy as [OH, OW, n, co], stride d, dilation s)
 *   input grad:  dx = conv(zero-dilate_s(dy), reverse_hw(W) with in/out swapped, dilation d)
 */
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';

export interface ConvGeometry {
  strides: [number, number];
  dilations: [number, number];
  pad: { top: number; bottom: number; left: number; right: number };
  filterShape: [number, number, number, number];
  inShape: [number, number, number, number];
  outShape: [number, number, number, number];
}

/** Geometry of an NHWC conv2d as tfjs computes it (handles 'same', 'valid', numeric and explicit pads). */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number] | undefined,
  pad: unknown,
  dimRoundingMode: unknown,
  depthwise = false,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad as 'same',
    dimRoundingMode as 'floor' | undefined,
    depthwise,
  );
  return {
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: { top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right },
    filterShape: filterShape as [number, number, number, number],
    inShape: xShape as [number, number, number, number],
    outShape: info.outShape as [number, number, number, number],
  };
}

/** True when a forward conv can express the gradients (tfjs convs need stride 1 or dilation 1). */
export function canUseForwardConvGrads(g: ConvGeometry): boolean {
  const oneH = g.strides[0] === 1 || g.dilations[0] === 1;
  const oneW = g.strides[1] === 1 || g.dilations[1] === 1;
  return oneH && oneW;
}

/** dW `[kh, kw, Cin, Cout]` of a regular conv, from x `[N, H, W, Cin]` and dy `[N, OH, OW, Cout]`. */
export function convFilterGrad(x: Tensor4D, dy: Tensor4D, g: ConvGeometry): Tensor4D {
  const [kh, kw] = g.filterShape;
  const [, oh, ow] = dy.shape;
  // Rows/columns past the last one any tap reads are cut, so the output is exactly kh × kw.
  const needH = (kh - 1) * g.dilations[0] + (oh - 1) * g.strides[0] + 1;
  const needW = (kw - 1) * g.dilations[1] + (ow - 1) * g.strides[1] + 1;
  const { top, left } = g.pad;
  const bottom = needH - top - x.shape[1];
  const right = needW - left - x.shape[2];
  let xt = tf.transpose(x, [3, 1, 2, 0]) as Tensor4D; // [Cin, H, W, N]
  let pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [top, bottom], [left, right], [0, 0]];
  if (Math.min(top, bottom, left, right) < 0) {
    xt = padOrCrop(xt, top, bottom, left, right);
    pads = [[0, 0], [0, 0], [0, 0], [0, 0]];
  }
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as Tensor4D; // [OH, OW, N, Cout]
  const out = tf.conv2d(xt, dyt, g.dilations, pads, 'NHWC', g.strides); // [Cin, kh, kw, Cout]
  const cropped = out.shape[1] === kh && out.shape[2] === kw ? out : tf.slice(out, [0, 0, 0, 0], [-1, kh, kw, -1]);
  return tf.transpose(cropped, [1, 2, 0, 3]);
}

/** dx `[N, H, W, Cin]` of a regular conv, from dy `[N, OH, OW, Cout]` and W `[kh, kw, Cin, Cout]`. */
export function convInputGrad(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  if ((g.strides[0] > 1 || g.strides[1] > 1) && g.dilations[0] === 1 && g.dilations[1] === 1) return stridedConvInputGrad(dy, filter, g);
  const flipped = flipSwapFilter(filter); // [kh, kw, Cout, Cin]
  const padded = dilateAndPad(dy, g);
  return tf.conv2d(padded, flipped, 1, 'valid', 'NHWC', g.dilations);
}

/**
 * Input gradient of a strided conv without multiplying zeros (sub-pixel decomposition): padded
 * input row p = q·s + r only receives taps kh ≡ r (mod s), so each residue class (ry, rx) is a
 * stride-1 'full' correlation of dy with the sub-filter W[ry::s, rx::s]; the s² results are
 * interleaved and the padding cropped. Same FLOPs as the forward conv (the zero-dilated
 * formulation costs s² times more).
 */
function stridedConvInputGrad(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  const [sh, sw] = g.strides;
  const [kh, kw, cin] = g.filterShape;
  const [n, h, w] = g.inShape;
  const [, oh, ow] = dy.shape;
  const hp = h + g.pad.top + g.pad.bottom;
  const wp = w + g.pad.left + g.pad.right;
  const qh = Math.ceil(hp / sh);
  const qw = Math.ceil(wp / sw);
  const host = tf.getBackend() === 'wasm' ? (filter.dataSync() as Float32Array) : null;
  const phases: Tensor4D[] = [];
  for (let ry = 0; ry < sh; ry++) {
    for (let rx = 0; rx < sw; rx++) {
      const jh = ry < kh ? Math.ceil((kh - ry) / sh) : 0;
      const jw = rx < kw ? Math.ceil((kw - rx) / sw) : 0;
      if (jh === 0 || jw === 0) {
        phases.push(tf.zeros([n, qh, qw, cin]));
        continue;
      }
      const sub = subFilterFlipSwap(filter, host, ry, rx, sh, sw, jh, jw); // [jh, jw, Cout, Cin]
      const padded = padOrCrop(dy, jh - 1, qh - oh, jw - 1, qw - ow);
      phases.push(tf.conv2d(padded, sub, 1, 'valid'));
    }
  }
  if (host) return interleaveOnHost(phases, g, qh, qw);
  // [sh·sw, N, qh, qw, C] -> [N, qh, sh, qw, sw, C] -> [N, qh·sh, qw·sw, C]
  const stacked = tf.reshape(tf.stack(phases), [sh, sw, n, qh, qw, cin]);
  const full = tf.reshape(tf.transpose(stacked, [2, 3, 0, 4, 1, 5]), [n, qh * sh, qw * sw, cin]);
  return tf.slice(full, [0, g.pad.top, g.pad.left, 0], [n, h, w, cin]) as Tensor4D;
}

/**
 * dx[n, y, x] = phase[(y+top) mod sh, (x+left) mod sw][n, (y+top) div sh, (x+left) div sw], copied
 * row by row on the host (wasm's rank-6 Transpose is ~10× slower than this copy).
 */
function interleaveOnHost(phases: Tensor4D[], g: ConvGeometry, qh: number, qw: number): Tensor4D {
  const [sh, sw] = g.strides;
  const [n, h, w, c] = g.inShape;
  const data = phases.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const p = y + g.pad.top;
      const ry = p % sh;
      const qy = (p - ry) / sh;
      for (let x = 0; x < w; x++) {
        const q = x + g.pad.left;
        const rx = q % sw;
        const qx = (q - rx) / sw;
        const src = ((b * qh + qy) * qw + qx) * c;
        out.set(data[ry * sw + rx].subarray(src, src + c), ((b * h + y) * w + x) * c);
      }
    }
  }
  for (const t of phases) t.dispose();
  return tf.tensor4d(out, [n, h, w, c]);
}

/** Taps W[ry + j·sh, rx + i·sw] flipped in (j, i) with in/out swapped: `[jh, jw, Cout, Cin]`. */
function subFilterFlipSwap(filter: Tensor4D, host: Float32Array | null, ry: number, rx: number, sh: number, sw: number, jh: number, jw: number): Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  if (!host) {
    const taps = tf.stridedSlice(filter, [ry, rx, 0, 0], [kh, kw, ci, co], [sh, sw, 1, 1]) as Tensor4D;
    return tf.transpose(tf.reverse(taps, [0, 1]), [0, 1, 3, 2]) as Tensor4D;
  }
  const out = new Float32Array(jh * jw * co * ci);
  for (let a = 0; a < jh; a++) {
    for (let b = 0; b < jw; b++) {
      const from = ((ry + (jh - 1 - a) * sh) * kw + (rx + (jw - 1 - b) * sw)) * ci * co;
      const to = (a * jw + b) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[to + o * ci + i] = host[from + i * co + o];
    }
  }
  return tf.tensor4d(out, [jh, jw, co, ci]);
}

/** dW `[kh, kw, C, m]` of a depthwise conv with channel multiplier m. */
export function depthwiseFilterGrad(x: Tensor4D, dy: Tensor4D, g: ConvGeometry): Tensor4D {
  const [kh, kw, c, m] = g.filterShape;
  const [n, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  // Fold the batch into channels: channel (n, c) of one image, its own filter from dy.
  const xf = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]) as Tensor4D;
  const dyf = tf.reshape(tf.transpose(tf.reshape(dy, [n, oh, ow, c, m]), [1, 2, 0, 3, 4]), [oh, ow, n * c, m]) as Tensor4D;
  const { top, bottom, left, right } = g.pad;
  const out = tf.depthwiseConv2d(
    xf,
    dyf,
    g.dilations,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    'NHWC',
    g.strides,
  ); // [1, >=kh, >=kw, n*c*m]
  const cropped = tf.slice(out, [0, 0, 0, 0], [1, kh, kw, -1]);
  return tf.sum(tf.reshape(cropped, [kh, kw, n, c, m]), 2) as Tensor4D;
}

/** dx `[N, H, W, C]` of a depthwise conv with channel multiplier m. */
export function depthwiseInputGrad(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  const [kh, kw, c, m] = g.filterShape;
  const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as Tensor4D;
  const padded = dilateAndPad(dy, g);
  const out = tf.depthwiseConv2d(padded, flipped, 1, 'valid', 'NHWC', g.dilations); // [N, H, W, C*m]
  if (m === 1) return out;
  const [n, h, w] = out.shape;
  return tf.sum(tf.reshape(out, [n, h, w, c, m]), 4) as Tensor4D;
}

/**
 * W `[kh, kw, I, O]` -> W' `[kh, kw, O, I]` with W'[a, b, o, i] = W[kh-1-a, kw-1-b, i, o].
 * On wasm the Reverse kernel is slow (tens of ms for a 3×3×512×512 filter), so the (small)
 * filter is rearranged on the host; data stays synchronous there. Not differentiable (gradients of
 * gradients are not needed).
 */
function flipSwapFilter(filter: Tensor4D): Tensor4D {
  if (tf.getBackend() !== 'wasm') return tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as Tensor4D;
  const [kh, kw, ci, co] = filter.shape;
  const src = filter.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      const to = (a * kw + b) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[to + o * ci + i] = src[from + i * co + o];
    }
  }
  return tf.tensor4d(out, [kh, kw, co, ci]);
}

/**
 * Inserts (stride-1) zeros between dy's rows/columns and pads (or crops) it so that a stride-1
 * 'valid' conv with the flipped filter yields exactly the input's spatial size.
 */
function dilateAndPad(dy: Tensor4D, g: ConvGeometry): Tensor4D {
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const [kh, kw] = g.filterShape;
  const [, h, w] = g.inShape;
  const [n, oh, ow, c] = dy.shape;
  let dilated: Tensor4D = dy;
  if (sh > 1 || sw > 1) {
    const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    dilated = tf.reshape(spread, [n, oh * sh, ow * sw, c]) as Tensor4D; // (s-1) trailing zeros, handled below
  }
  const top = (kh - 1) * dh - g.pad.top;
  const left = (kw - 1) * dw - g.pad.left;
  const bottom = h + (kh - 1) * dh - top - dilated.shape[1];
  const right = w + (kw - 1) * dw - left - dilated.shape[2];
  return padOrCrop(dilated, top, bottom, left, right);
}

/** Pads (positive) or crops (negative) each spatial side. */
function padOrCrop(x: Tensor4D, top: number, bottom: number, left: number, right: number): Tensor4D {
  const [, h, w] = x.shape;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const cropBottom = Math.max(0, -bottom);
  const cropRight = Math.max(0, -right);
  let y = x;
  if (cropTop || cropLeft || cropBottom || cropRight) {
    y = tf.slice(x, [0, cropTop, cropLeft, 0], [-1, h - cropTop - cropBottom, w - cropLeft - cropRight, -1]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt || pb || pl || pr) {
    y = tf.pad(y, [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ]);
  }
  return y;
}

import { tf, type Tensor4D } from '../tf.js';

/** PyTorch-style padding: symmetric pixels per side (int or [h, w]), or 'same'/'valid'. */
export type Padding = number | [number, number] | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: Padding;
  dilation?: number | [number, number];
  groups?: number;
}

export function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** tfjs padding argument for PyTorch padding. */
export function tfPadding(padding: Padding): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (padding === 'same' || padding === 'valid') return padding;
  const [ph, pw] = pair(padding);
  if (ph === 0 && pw === 0) return 'valid';
  return [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];
}

/**
 * 2-D convolution with PyTorch semantics on NHWC input.
 * @param x `[N, H, W, Cin]`
 * @param w `[kh, kw, Cin/groups, Cout]` (HWIO; output channel o belongs to group floor(o / (Cout/groups)) as in PyTorch)
 * @returns `[N, Ho, Wo, Cout]`
 */
export function conv2d(x: Tensor4D, w: Tensor4D, o: Conv2dOptions = {}): Tensor4D {
  const stride = pair(o.stride ?? 1);
  const dilation = pair(o.dilation ?? 1);
  const pad = tfPadding(o.padding ?? 0);
  const groups = o.groups ?? 1;
  if (groups === 1) return tf.conv2d(x, w, stride, pad, 'NHWC', dilation);
  const cin = x.shape[3];
  const [kh, kw, cinPerGroup, cout] = w.shape;
  if (cin !== cinPerGroup * groups) throw new Error(`conv2d: input has ${cin} channels, weight expects ${cinPerGroup}×${groups} groups`);
  if (cinPerGroup === 1) {
    // Depthwise (with channel multiplier): HWIO [kh,kw,1,Cin*m] -> [kh,kw,Cin,m] keeps PyTorch's channel order.
    const filter = tf.reshape(w, [kh, kw, cin, cout / cin]) as Tensor4D;
    return tf.depthwiseConv2d(x, filter, stride, pad, 'NHWC', dilation);
  }
  const xs = tf.split(x, groups, 3) as Tensor4D[];
  const ws = tf.split(w, groups, 3) as Tensor4D[];
  const ys = xs.map((xi, g) => tf.conv2d(xi, ws[g], stride, pad, 'NHWC', dilation));
  return tf.concat(ys, 3) as Tensor4D;
}

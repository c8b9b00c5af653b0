import { SslError } from '../../errors.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';

export type PoolType = 'specified' | 'adaptive';

/**
 * MMSelfSup's `MultiPooling` for ResNet-50 stages 0 (stem) … 4: `specified` = AvgPool2d windows
 * sized for 224-px inputs, `adaptive` = AdaptiveAvgPool2d to a fixed grid (any input size).
 */
const POOL_PARAMS = [
  { kernel: 10, stride: 10, padding: 4 },
  { kernel: 16, stride: 8, padding: 0 },
  { kernel: 13, stride: 5, padding: 0 },
  { kernel: 8, stride: 3, padding: 0 },
  { kernel: 6, stride: 1, padding: 0 },
];
const POOL_SIZES = [12, 6, 4, 3, 2];

/** PyTorch's adaptive-pooling averaging matrix `[out, len]`: row i averages [⌊i·len/out⌋, ⌈(i+1)·len/out⌉). */
function adaptiveMatrix(len: number, out: number): Tensor {
  const m = new Float32Array(out * len);
  for (let i = 0; i < out; i++) {
    const a = Math.floor((i * len) / out);
    const b = Math.ceil(((i + 1) * len) / out);
    for (let j = a; j < b; j++) m[i * len + j] = 1 / (b - a);
  }
  return tf.tensor2d(m, [out, len]);
}

/** AdaptiveAvgPool2d(size) on NHWC `x`. */
export function adaptiveAvgPool(x: Tensor4D, size: number): Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    // rows: [h, n*w*c] → [size, n*w*c]
    const rows = tf.matMul(adaptiveMatrix(h, size), tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]));
    const byRows = tf.transpose(tf.reshape(rows, [size, n, w, c]), [2, 1, 0, 3]); // [w, n, size, c]
    const cols = tf.matMul(adaptiveMatrix(w, size), tf.reshape(byRows, [w, n * size * c]));
    return tf.transpose(tf.reshape(cols, [size, n, size, c]), [1, 2, 0, 3]) as Tensor4D; // [n, size(h), size(w), c]
  });
}

/** AvgPool2d(kernel, stride, padding) with PyTorch's count_include_pad=True (zeros count). */
export function specifiedAvgPool(x: Tensor4D, stage: number): Tensor4D {
  const { kernel, stride, padding } = POOL_PARAMS[stage];
  const [, h, w] = x.shape;
  if (h + 2 * padding < kernel || w + 2 * padding < kernel) {
    throw new SslError(
      `stage ${stage}'s feature map is ${h}x${w}, smaller than the ${kernel}x${kernel} window of MMSelfSup's specified pooling (made for ResNet-50 at 224 px): use --pool-type adaptive`,
      { code: 'TSNE_POOL' },
    );
  }
  return tf.tidy(() => {
    const padded = padding > 0 ? tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : x;
    return tf.avgPool(padded, kernel, stride, 'valid');
  });
}

/**
 * Pools each backbone output of stage `stages[i]` and flattens it in PyTorch's NCHW order
 * (`view(N, -1)`), as MMSelfSup's `ExtractProcess` does: one `[N, C·h·w]` tensor per stage.
 */
export function multiPooling(outs: Tensor[], stages: number[], type: PoolType): Tensor[] {
  return outs.map((o, i) => {
    if (o.rank !== 4) throw new SslError(`t-SNE pools 4-D feature maps of ResNet-style backbones; stage ${stages[i]} gave shape [${o.shape.join(', ')}]`, { code: 'TSNE_POOL' });
    const pooled = type === 'adaptive' ? adaptiveAvgPool(o as Tensor4D, POOL_SIZES[stages[i]]) : specifiedAvgPool(o as Tensor4D, stages[i]);
    const nchw = tf.transpose(pooled, [0, 3, 1, 2]);
    return tf.reshape(nchw, [o.shape[0], -1]);
  });
}

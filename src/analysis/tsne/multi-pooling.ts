import { SslError } from '../../errors.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';
import { MultiPooling } from '../../models/heads/multi-pooling.js';

export type PoolType = 'specified' | 'adaptive';

/** MMSelfSup's specified windows are made for 224-px ResNet-50 maps: a smaller map is a one-line error. */
function checkSpecifiedFits(x: Tensor4D, stage: number): void {
  const { kernel_size: kernel, padding } = MultiPooling.POOL_PARAMS.resnet50[stage];
  const [, h, w] = x.shape;
  if (h + 2 * padding < kernel || w + 2 * padding < kernel) {
    throw new SslError(
      `stage ${stage}'s feature map is ${h}x${w}, smaller than the ${kernel}x${kernel} window of MMSelfSup's specified pooling (made for ResNet-50 at 224 px): use --pool-type adaptive`,
      { code: 'TSNE_POOL' },
    );
  }
}

/**
 * Pools each backbone output of stage `stages[i]` and flattens it in PyTorch's NCHW order
 * (`view(N, -1)`), as MMSelfSup's `ExtractProcess` does: one `[N, C·h·w]` tensor per stage.
 * The pools are the model zoo's `MultiPooling` (src/models/heads/multi-pooling.ts), built per call.
 */
export function multiPooling(outs: Tensor[], stages: number[], type: PoolType): Tensor[] {
  outs.forEach((o, i) => {
    if (o.rank !== 4) throw new SslError(`t-SNE pools 4-D feature maps of ResNet-style backbones; stage ${stages[i]} gave shape [${o.shape.join(', ')}]`, { code: 'TSNE_POOL' });
    if (type === 'specified') checkSpecifiedFits(o as Tensor4D, stages[i]);
  });
  const pooled = new MultiPooling(type, stages).forward(outs as Tensor4D[]);
  return pooled.map((p, i) => tf.reshape(tf.transpose(p, [0, 3, 1, 2]), [outs[i].shape[0], -1]));
}

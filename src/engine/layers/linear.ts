import { torchDefaultBias, torchDefaultWeight } from '../init.js';
import { Module } from '../module.js';
import { tf, type Tensor, type Variable } from '../tf.js';

/**
 * torch.nn.Linear. Parameters: `weight` `[in, out]` (out×in in PyTorch files), `bias` `[out]`.
 * Applies to the last axis of any-rank input `[..., in]` -> `[..., out]`.
 */
export class Linear extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    args: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', torchDefaultWeight([inFeatures, outFeatures], 'linear'), { layout: 'linear' });
    this.bias = args.bias === false ? null : this.registerParameter('bias', torchDefaultBias(outFeatures, inFeatures));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** x `[..., in]` · w `[in, out]` (+ b `[out]`) -> `[..., out]`. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]]);
  let y: Tensor = b ? tf.fused.matMul({ a: x2 as never, b: w as never, bias: b }) : tf.matMul(x2 as never, w as never);
  if (x.rank !== 2) y = tf.reshape(y, [...lead, w.shape[1] as number]);
  return y;
}

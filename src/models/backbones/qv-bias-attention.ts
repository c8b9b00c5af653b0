import { linear } from '../../engine/layers/linear.js';
import { MultiheadAttention } from '../../engine/layers/attention.js';
import { tf, type Tensor, type Tensor3D, type Variable } from '../../engine/tf.js';

/**
 * MMSelfSup 0.x `MultiheadAttention` (models/utils/transformer_blocks.py, used by CAE/BEiT-style
 * layers): with `qkv_bias=False` the `qkv` Linear has no bias and the layer learns `q_bias` and
 * `v_bias` instead (the key bias is fixed at 0); with `qkv_bias=True` it is mmcls's attention.
 */
export class QVBiasAttention extends MultiheadAttention {
  readonly qBias: Variable | null = null;
  readonly vBias: Variable | null = null;

  constructor(embedDims: number, numHeads: number, args: { qkvBias: boolean; attnDrop?: number; projDrop?: number }) {
    super(embedDims, numHeads, { ...args, qkvBias: args.qkvBias });
    if (!args.qkvBias) {
      this.qBias = this.registerParameter('q_bias', tf.zeros([embedDims]));
      this.vBias = this.registerParameter('v_bias', tf.zeros([embedDims]));
    }
  }

  protected override projectQKV(x: Tensor3D): Tensor {
    if (!this.qBias || !this.vBias) return super.projectQKV(x);
    return linear(x, this.qkv.weight, tf.concat([this.qBias, tf.zerosLike(this.vBias), this.vBias]));
  }
}

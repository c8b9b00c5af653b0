import { ConfigError } from '../../errors.js';
import { checkArgs, defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import type { BatchNorm } from '../../engine/layers/batch-norm.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { buildNorm1d, type NormCfg } from '../norm.js';
import { globalAvgPool } from '../ops.js';
import { constantBnInit } from './init.js';

export const NON_LINEAR_NECK_ARGS = [
  'in_channels', 'hid_channels', 'out_channels', 'num_layers', 'with_bias', 'with_last_bn', 'with_last_bn_affine',
  'with_last_bias', 'with_avg_pool', 'vit_backbone', 'norm_cfg', 'init_cfg',
] as const;

/**
 * MMSelfSup `NonLinearNeck` (SimCLR/BYOL/SimSiam/MoCo v3 projector and predictor):
 * [avgpool] -> fc0 -> bn0 -> (relu -> fc_i -> [bn_i]) for i = 1..num_layers-1.
 * Input: backbone outputs (last one used), `[N, H, W, C]` or `[N, C]`, or with `vit_backbone` a ViT's
 * `[patch tokens, class token]` (the class token is used); output `[[N, out_channels]]`.
 * Parameter names: `fc0.weight`, `bn0.weight`, ..., as PyTorch.
 */
export class NonLinearNeck extends Module {
  private readonly fcs: Linear[] = [];
  private readonly bns: (BatchNorm | null)[] = [];
  readonly withAvgPool: boolean;
  readonly vitBackbone: boolean;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('NonLinearNeck', args, NON_LINEAR_NECK_ARGS);
    const inC = args.in_channels as number;
    const hid = args.hid_channels as number;
    const out = args.out_channels as number;
    const numLayers = (args.num_layers as number) ?? 2;
    const withBias = (args.with_bias as boolean) ?? false;
    const withLastBn = (args.with_last_bn as boolean) ?? true;
    const withLastBnAffine = (args.with_last_bn_affine as boolean) ?? true;
    const withLastBias = (args.with_last_bias as boolean) ?? false;
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    this.vitBackbone = (args.vit_backbone as boolean) ?? false;
    const norm = args.norm_cfg as NormCfg | undefined;
    this.fcs.push(this.registerModule('fc0', new Linear(inC, hid, { bias: withBias })));
    this.bns.push(this.registerModule('bn0', buildNorm1d(norm, hid)));
    for (let i = 1; i < numLayers; i++) {
      const last = i === numLayers - 1;
      const ch = last ? out : hid;
      this.fcs.push(this.registerModule(`fc${i}`, new Linear(hid, ch, { bias: last ? withLastBias : withBias })));
      if (!last) this.bns.push(this.registerModule(`bn${i}`, buildNorm1d(norm, ch)));
      else this.bns.push(withLastBn ? this.registerModule(`bn${i}`, buildNorm1d(norm, ch, { affine: withLastBnAffine })) : null);
    }
    constantBnInit(this);
  }

  forward(inputs: Tensor[]): Tensor[] {
    // a ViT's output is [patch tokens, class token]: vit_backbone=True takes the class token
    const last = inputs[inputs.length - 1] as Tensor | Tensor[];
    if (Array.isArray(last) !== this.vitBackbone) {
      throw new ConfigError(
        this.vitBackbone ? 'NonLinearNeck: vit_backbone=True needs a ViT backbone with output_cls_token=True' : 'NonLinearNeck: a ViT backbone gives [patch tokens, class token]; set vit_backbone=True',
      );
    }
    let x = Array.isArray(last) ? last[last.length - 1] : last;
    if (this.withAvgPool) x = globalAvgPool(x);
    x = tf.reshape(x, [x.shape[0], -1]);
    x = this.bns[0]!.forward(this.fcs[0].forward(x));
    for (let i = 1; i < this.fcs.length; i++) {
      x = this.fcs[i].forward(tf.relu(x));
      const bn = this.bns[i];
      if (bn) x = bn.forward(x);
    }
    return [x];
  }
}

export const nonLinearNeckEntry = defineComponent({ type: 'NonLinearNeck', build: (a) => new NonLinearNeck(a) as unknown as ListModule });

import { ConfigError } from '../../errors.js';
import { checkArgs, defineComponent } from '../../registry/index.js';
import { NECKS } from '../registries.js';
import { Module } from '../../engine/module.js';
import { BatchNorm } from '../../engine/layers/batch-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { contrastiveLoss } from '../losses/contrastive.js';
import { crossCorrelationLoss, crossEntropy, negativeCosineLoss, topkAccuracy, weightedCrossEntropy } from '../losses/similarity.js';
import { applyLinearInitCfg } from '../necks/init.js';

/** ClsHead's default init_cfg: Normal(std=0.01) on Linear, Constant(1) on norms. */
const CLS_HEAD_INIT = [{ type: 'Normal', std: 0.01, layer: 'Linear' }, { type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] }];
import { globalAvgPool, stopGradient } from '../ops.js';

/** Builds a neck from its config (heads that hold a predictor need it). */
export type NeckBuilder = (cfg: Record<string, unknown>) => Module & { forward(x: Tensor[]): Tensor[] };

/** MMSelfSup `ContrastiveHead`: InfoNCE over `[pos, neg] / temperature` (no parameters). */
export class ContrastiveHead extends Module {
  readonly temperature: number;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('ContrastiveHead', args, ['temperature']);
    this.temperature = (args.temperature as number) ?? 0.1;
    if (!(this.temperature > 0)) throw new ConfigError(`ContrastiveHead: temperature must be > 0, got ${String(args.temperature)}`);
  }

  /** pos `[N, 1]`, neg `[N, K]` -> `{loss}`. */
  forward(pos: Tensor, neg: Tensor): Record<string, Tensor> {
    return { loss: contrastiveLoss(pos, neg, this.temperature) };
  }
}

/** MMSelfSup `LatentPredictHead`: predictor neck on `input`, negative cosine to the detached `target`. */
export class LatentPredictHead extends Module {
  readonly predictor: Module & { forward(x: Tensor[]): Tensor[] };

  constructor(args: Record<string, unknown>, buildNeck: NeckBuilder) {
    super();
    checkArgs('LatentPredictHead', args, ['predictor', 'init_cfg']);
    if (!args.predictor) throw new ConfigError('LatentPredictHead needs a "predictor" (a neck config)');
    this.predictor = this.registerModule('predictor', buildNeck(args.predictor as Record<string, unknown>));
  }

  /** input `[N, C]`, target `[N, C]` -> `{loss}`. */
  forward(input: Tensor, target: Tensor): Record<string, Tensor> {
    const pred = this.predictor.forward([input])[0];
    return { loss: negativeCosineLoss(pred, stopGradient(target)) };
  }
}

/** MMSelfSup `LatentCrossCorrelationHead` (Barlow Twins): BN without affine, then the cross-correlation loss. */
export class LatentCrossCorrelationHead extends Module {
  readonly lambd: number;
  readonly bn: BatchNorm;
  worldSize = 1;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('LatentCrossCorrelationHead', args, ['in_channels', 'lambd']);
    this.lambd = (args.lambd as number) ?? 0.0051;
    this.bn = this.registerModule('bn', new BatchNorm(args.in_channels as number, { affine: false }));
  }

  /** input `[N, C]`, target `[N, C]` -> `{loss}`. */
  forward(input: Tensor, target: Tensor): Record<string, Tensor> {
    const n = input.shape[0] * this.worldSize;
    return { loss: crossCorrelationLoss(this.bn.forward(input), this.bn.forward(target), this.lambd, n) };
  }
}

/** MMSelfSup `ClsHead`: [avgpool] -> `fc_cls`; loss = cross-entropy, plus `acc` (top-1, %). */
export class ClsHead extends Module {
  readonly withAvgPool: boolean;
  readonly vitBackbone: boolean;
  readonly numClasses: number;
  readonly fcCls: Linear;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('ClsHead', args, ['with_avg_pool', 'in_channels', 'num_classes', 'vit_backbone', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? false;
    this.vitBackbone = (args.vit_backbone as boolean) ?? false;
    this.numClasses = (args.num_classes as number) ?? 1000;
    this.fcCls = this.registerModule('fc_cls', new Linear((args.in_channels as number) ?? 2048, this.numClasses));
    this.initCfg = args.init_cfg ?? CLS_HEAD_INIT;
    this.initWeights();
  }

  private readonly initCfg: unknown;

  /** mmcv `init_weights` from the head's `init_cfg` (DeepClusterHook re-initialises the classifier after each clustering). */
  initWeights(): void {
    applyLinearInitCfg(this, this.initCfg, 'ClsHead');
  }

  /** The parameter-free part (cached by linear evaluation's fast path): the last backbone output, average-pooled with `with_avg_pool`. */
  poolFeatures(inputs: Tensor[]): Tensor[] {
    // a ViT's output is [patch tokens, class token]: vit_backbone=True takes the class token
    const last = inputs[inputs.length - 1] as Tensor | Tensor[];
    if (this.vitBackbone && !Array.isArray(last)) throw new ConfigError('ClsHead: vit_backbone=True needs a ViT backbone with output_cls_token=True');
    const x = Array.isArray(last) ? last[this.vitBackbone ? 1 : 0] : last;
    return [this.withAvgPool ? globalAvgPool(x) : x];
  }

  /** Pooled features -> `[[N, num_classes]]` scores. */
  forwardPooled(pooled: Tensor[]): Tensor[] {
    const x = pooled[0];
    return [this.fcCls.forward(tf.reshape(x, [x.shape[0], -1]))];
  }

  /** backbone outputs (last used) -> `[[N, num_classes]]` scores. */
  forward(inputs: Tensor[]): Tensor[] {
    return this.forwardPooled(this.poolFeatures(inputs));
  }

  /** Class weights of the loss (`criterion = nn.CrossEntropyLoss(weight=...)`, DeepCluster/ODC's re-weighting); null = unweighted. */
  classWeight: Tensor | null = null;

  loss(scores: Tensor[], labels: Tensor): Record<string, Tensor> {
    const loss = this.classWeight ? weightedCrossEntropy(scores[0], labels, this.classWeight) : crossEntropy(scores[0], labels);
    return { loss, acc: topkAccuracy(scores[0], labels, 1) };
  }
}

export const contrastiveHeadEntry = defineComponent({ type: 'ContrastiveHead', build: (a) => new ContrastiveHead(a) });
export const latentPredictHeadEntry = defineComponent({ type: 'LatentPredictHead', build: (a) => new LatentPredictHead(a, (c) => NECKS.build(c)) });
export const latentCrossCorrelationHeadEntry = defineComponent({ type: 'LatentCrossCorrelationHead', build: (a) => new LatentCrossCorrelationHead(a) });
export const clsHeadEntry = defineComponent({ type: 'ClsHead', build: (a) => new ClsHead(a) });

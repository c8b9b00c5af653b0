import { ConfigError } from '../../errors.js';
import { checkArgs, defineComponent } from '../../registry/index.js';
import { Module } from '../../engine/module.js';
import { ModuleList } from '../../engine/layers/container.js';
import { Linear } from '../../engine/layers/linear.js';
import { buildNorm, type NormCfg } from '../../engine/layers/norm.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';
import { crossEntropy, topkAccuracy } from '../losses/similarity.js';
import { constantBnInit, normalLinearInit } from '../necks/init.js';
import { MultiPooling } from './multi-pooling.js';

const FEAT_CHANNELS: Record<string, number[]> = { resnet50: [64, 256, 512, 1024, 2048] };
const FEAT_LAST_UNPOOL: Record<string, number> = { resnet50: 2048 * 7 * 7 };

/** NHWC `[N, H, W, C]` -> `[N, C·H·W]` in PyTorch's `x.view(N, -1)` order of an NCHW tensor (so fc weights match PyTorch's). */
export function flattenChw(x: Tensor): Tensor {
  if (x.rank !== 4) return tf.reshape(x, [x.shape[0], -1]);
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]);
}

/**
 * MMSelfSup 0.x `MultiClsHead` (multi-stage linear probes): `MultiPooling` of each stage's feature map,
 * a BatchNorm per stage (`norm_cfg`, e.g. SyncBN without affine; type 'null' for none), and a linear
 * classifier per stage; with `with_last_layer_unpool` one more classifier on the unpooled last map.
 * Loss: cross-entropy per classifier, `loss.<k>` and `acc.<k>` (k = 1, 2, ...), summed by the model.
 */
export class MultiClsHead extends Module {
  readonly inIndices: number[];
  readonly withNorm: boolean;
  readonly withLastLayerUnpool: boolean;
  readonly multiPooling: MultiPooling;
  readonly norms: Module[] = [];
  readonly fcs: Linear[] = [];

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('MultiClsHead', args, ['pool_type', 'in_indices', 'with_last_layer_unpool', 'backbone', 'norm_cfg', 'num_classes', 'init_cfg']);
    const backbone = (args.backbone as string) ?? 'resnet50';
    this.inIndices = (args.in_indices as number[]) ?? [0];
    const normCfg = (args.norm_cfg as NormCfg) ?? { type: 'BN' };
    if (!['BN', 'SyncBN', 'GN', 'null'].includes(normCfg.type)) throw new ConfigError(`MultiClsHead: norm_cfg.type must be BN, SyncBN or null, got ${JSON.stringify(normCfg.type)}`);
    if (normCfg.type === 'GN') throw new ConfigError('MultiClsHead: norm_cfg GN is not supported; use BN, SyncBN or null');
    this.withNorm = normCfg.type !== 'null';
    this.withLastLayerUnpool = (args.with_last_layer_unpool as boolean) ?? false;
    const numClasses = (args.num_classes as number) ?? 1000;
    this.multiPooling = new MultiPooling((args.pool_type as string) ?? 'adaptive', this.inIndices, backbone);
    const container = (name: string, items: Module[]) => this.registerModule(name, new ModuleList(items));
    if (this.withNorm) {
      this.norms.push(...this.inIndices.map((i) => buildNorm(normCfg, FEAT_CHANNELS[backbone][i]).layer));
      container('norms', this.norms);
    }
    this.fcs.push(...this.inIndices.map((i) => new Linear(MultiPooling.POOL_DIMS[backbone][i], numClasses)));
    if (this.withLastLayerUnpool) this.fcs.push(new Linear(FEAT_LAST_UNPOOL[backbone], numClasses));
    container('fcs', this.fcs);
    normalLinearInit(this, 0.01);
    constantBnInit(this);
  }

  /** The parameter-free part: pooled maps (plus the unpooled last map with `with_last_layer_unpool`). */
  poolFeatures(feats: Tensor[]): Tensor[] {
    const pooled: Tensor[] = this.multiPooling.forward(feats as Tensor4D[]);
    if (this.withLastLayerUnpool) pooled.push(feats[feats.length - 1]);
    return pooled;
  }

  /** Pooled maps -> one `[N, num_classes]` score tensor per classifier. */
  forwardPooled(pooled: Tensor[]): Tensor[] {
    const n = this.inIndices.length;
    return pooled.map((x, k) => {
      const y = this.withNorm && k < n ? (this.norms[k] as unknown as { forward(t: Tensor): Tensor }).forward(x) : x;
      return this.fcs[k].forward(flattenChw(y));
    });
  }

  /** Backbone maps (out_indices order) -> scores per classifier. */
  forward(feats: Tensor[]): Tensor[] {
    return this.forwardPooled(this.poolFeatures(feats));
  }

  loss(scores: Tensor[], labels: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    scores.forEach((s, i) => {
      out[`loss.${i + 1}`] = crossEntropy(s, labels);
      out[`acc.${i + 1}`] = topkAccuracy(s, labels, 1);
    });
    return out;
  }
}

export const multiClsHeadEntry = defineComponent({ type: 'MultiClsHead', build: (a) => new MultiClsHead(a) });

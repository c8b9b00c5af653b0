import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext } from '../contracts.js';
import type { ClsHead } from '../heads/heads.js';
import { Sobel, checkSobelChannels } from '../sobel.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, batchInts } from './base.js';
import { clusterClassWeights } from './cluster-reweight.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `DeepCluster` (Caron et al. 2018, https://arxiv.org/abs/1807.05520): [Sobel] -> backbone
 * -> [neck] -> `ClsHead` against the `pseudo_label` of each sample (`DeepClusterDataset`, the cluster
 * assignments of the last clustering). `setReweight` weights the loss by inverse cluster size.
 */
export class DeepCluster extends BaseAlgorithm {
  readonly sobelLayer: Sobel | null;
  /** MMSelfSup's `loss_weight` (uniform until `setReweight`); not in the state dict, as in MMSelfSup. */
  lossWeight: Float32Array;

  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule | null,
    readonly head: ClsHead,
    readonly withSobel = true,
    private readonly backboneCfg: unknown = {},
  ) {
    super();
    this.sobelLayer = withSobel ? this.registerModule('sobel_layer', new Sobel()) : null;
    this.registerModule('backbone', backbone);
    if (neck) this.registerModule('neck', neck);
    this.registerModule('head', head);
    this.lossWeight = new Float32Array(head.numClasses).fill(1 / head.numClasses);
  }

  /**
   * MMSelfSup builds a Sobel model over a 3-channel backbone (its own deepcluster_resnet50 config) and
   * fails at the first forward; here training stops first, in one line (count-params still builds it).
   */
  override checkDataset(_length: number): void {
    checkSobelChannels('DeepCluster', this.withSobel, this.backboneCfg);
  }

  override extractFeat(x: Tensor): Tensor[] {
    return this.backbone.forward(this.sobelLayer ? this.sobelLayer.forward(x) : x);
  }

  protected override async beforeStep(_views: Tensor[], _ctx: StepContext, batch?: Batch): Promise<void> {
    const pseudo = batch?.pseudo_label as ArrayLike<number> | undefined;
    if (pseudo && Array.prototype.some.call(pseudo, (l: number) => l < 0)) {
      throw new ConfigError('DeepCluster: a sample has no pseudo label yet (-1): DeepClusterHook assigns them before the first epoch with initial=True (add it to custom_hooks)');
    }
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const pseudo = batchInts(batch, 'pseudo_label', 'DeepCluster');
    let x = this.extractFeat(views[0]);
    if (this.neck) x = this.neck.forward(x);
    return this.head.loss(this.head.forward(x), pseudo);
  }

  /** MMSelfSup `set_reweight`: class weights ∝ (count + 1e-10)^-pow, normalised to sum 1, into the head's loss. */
  setReweight(labels: ArrayLike<number>, reweightPow = 0.5): void {
    this.lossWeight = clusterClassWeights(labels, this.head.numClasses, reweightPow);
    this.head.classWeight?.dispose();
    this.head.classWeight = tf.tensor1d(this.lossWeight);
  }
}

export const deepClusterEntry = defineComponent({
  type: 'DeepCluster',
  args: { backbone: REQUIRED, with_sobel: true, neck: undefined, head: REQUIRED, init_cfg: undefined },
  build: (a) => {
    return new DeepCluster(
      buildBackbone('DeepCluster', a.backbone),
      a.neck ? buildNeck('DeepCluster', a.neck) : null,
      buildHead<ClsHead>('DeepCluster', a.head),
      Boolean(a.with_sobel),
      a.backbone,
    );
  },
});

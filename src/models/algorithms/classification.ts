import type { Module } from '../../engine/module.js';
import type { Tensor, Tensor4D } from '../../engine/tf.js';
import type { LossDict, ListModule } from './base.js';
import { Sobel, checkSobelChannels } from '../sobel.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { Augments } from '../augments/batch-mix.js';
import { buildBackbone, buildHead } from '../registries.js';

/** What `Classification` needs of its head (`ClsHead`, `MultiClsHead`): a parameter-free pooling, then the classifiers. */
export type ClassificationHead = Module & {
  poolFeatures(feats: Tensor[]): Tensor[];
  forwardPooled(pooled: Tensor[]): Tensor[];
  forward(feats: Tensor[]): Tensor[];
  loss(scores: Tensor[], labels: Tensor): Record<string, Tensor>;
};

/**
 * MMSelfSup `Classification`: backbone + `ClsHead`/`MultiClsHead`/`MAEFinetuneHead` (linear evaluation, fine-tuning),
 * with mmcls batch augments (`train_cfg.augments`: BatchMixup/BatchCutMix) before the backbone in training.
 * With `pooledInputs` set (linear evaluation's feature cache) a batch's views are the head's pooled
 * features, not images: the frozen backbone and the pooling already ran once, when the cache was written.
 */
export class Classification extends BaseAlgorithm {
  pooledInputs = false;

  /** MMSelfSup's `sobel_layer` (`with_sobel`, DeepCluster's benchmarks): images -> Sobel edges before the backbone. */
  readonly sobelLayer: Sobel | null;

  constructor(
    readonly backbone: ListModule,
    readonly head: ClassificationHead,
    readonly augments: Augments | null = null,
    withSobel = false,
    private readonly backboneCfg: unknown = {},
  ) {
    super();
    this.sobelLayer = withSobel ? this.registerModule('sobel_layer', new Sobel()) : null;
    this.registerModule('backbone', backbone);
    this.registerModule('head', head);
  }

  /** with_sobel over a 3-channel backbone fails at the first forward in MMSelfSup; here before training, in one line. */
  override checkDataset(_length: number): void {
    if (this.sobelLayer) checkSobelChannels('Classification', true, this.backboneCfg);
  }

  override extractFeat(x: Tensor): Tensor[] {
    return this.backbone.forward(this.sobelLayer ? this.sobelLayer.forward(x) : x);
  }

  /** The head's scores of a batch (images, or pooled features with `pooledInputs`). */
  scores(views: Tensor[]): Tensor[] {
    return this.pooledInputs ? this.head.forwardPooled(views) : this.head.forward(this.extractFeat(views[0]));
  }

  forwardTrain(views: Tensor[], labels?: Tensor): LossDict {
    if (!labels) throw new Error('Classification needs labels in the batch (a labelled data source)');
    if (this.augments && this.training && !this.pooledInputs) {
      const mixed = this.augments.apply(views[0] as Tensor4D, labels);
      return this.head.loss(this.head.forward(this.extractFeat(mixed.img)), mixed.label);
    }
    return this.head.loss(this.scores(views), labels);
  }

  /** MMSelfSup `forward_test`: scores keyed `head<i>` by the backbone's out_indices (`head4` for a ResNet's last stage). */
  forwardTest(views: Tensor[]): Record<string, Tensor> {
    const outs = this.scores(views);
    const indices = (this.backbone as unknown as { outIndices?: number[] }).outIndices ?? outs.map((_, i) => i);
    // MultiClsHead with in_indices shorter than out_indices gives fewer outputs: zip, as MMSelfSup does
    return Object.fromEntries(outs.slice(0, indices.length).map((o, i) => [`head${indices[i]}`, o]));
  }
}

export const classificationEntry = defineComponent({
  type: 'Classification',
  args: { backbone: REQUIRED, head: REQUIRED, with_sobel: false, train_cfg: undefined as unknown, init_cfg: undefined },
  build: (a) => {
    const trainCfg = (a.train_cfg ?? {}) as Record<string, unknown>;
    const augments = trainCfg.augments ? new Augments(trainCfg.augments) : null;
    return new Classification(buildBackbone('Classification', a.backbone), buildHead<ClassificationHead>('Classification', a.head), augments, Boolean(a.with_sobel), a.backbone);
  },
});

import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext, StepOutputs } from '../contracts.js';
import type { ClsHead } from '../heads/heads.js';
import type { ODCMemory } from '../memories/odc-memory.js';
import { Sobel, checkSobelChannels } from '../sobel.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { clusterClassWeights } from './cluster-reweight.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildMemory, buildNeck } from '../registries.js';
import { gatherMemoryRows } from '../memories/gather-rows.js';

/**
 * MMSelfSup `ODC` (Zhan et al. 2020, https://arxiv.org/abs/2006.10645): [Sobel] -> backbone -> neck
 * (`ODCNeck`) -> `ClsHead` against each sample's label in the memory (`memory_bank.label_bank[idx]`);
 * after the step the neck features of all ranks update the samples memory, which re-labels them
 * (`change_ratio` is logged). ODCHook updates centroids, small clusters and the loss weights.
 */
export class ODC extends BaseAlgorithm {
  readonly sobelLayer: Sobel | null;
  /** MMSelfSup's `loss_weight` (uniform until `setReweight`). */
  lossWeight: Float32Array;
  private labels: Tensor | null = null;
  private feature: Tensor | null = null;
  private changeRatio = 0;

  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule | null,
    readonly head: ClsHead,
    readonly memoryBank: ODCMemory,
    readonly withSobel = false,
    private readonly backboneCfg: unknown = {},
  ) {
    super();
    this.sobelLayer = withSobel ? this.registerModule('sobel_layer', new Sobel()) : null;
    this.registerModule('backbone', backbone);
    if (neck) this.registerModule('neck', neck);
    this.registerModule('head', head);
    this.registerModule('memory_bank', memoryBank);
    this.lossWeight = new Float32Array(head.numClasses).fill(1 / head.numClasses);
    if (memoryBank.numClasses !== head.numClasses) {
      throw new ConfigError(`ODC: memory_bank.num_classes (${memoryBank.numClasses}) differs from head.num_classes (${head.numClasses}); make them equal`);
    }
  }

  override checkDataset(length: number): void {
    checkSobelChannels('ODC', this.withSobel, this.backboneCfg);
    if (length !== this.memoryBank.length) {
      throw new ConfigError(`ODC: model.memory_bank.length is ${this.memoryBank.length} but the training data set has ${length} samples; set model.memory_bank.length=${length}`);
    }
  }

  override extractFeat(x: Tensor): Tensor[] {
    return this.backbone.forward(this.sobelLayer ? this.sobelLayer.forward(x) : x);
  }

  protected override async beforeStep(_views: Tensor[], _ctx: StepContext, batch?: Batch): Promise<void> {
    const idx = batch?.idx;
    if (!idx) throw new Error('ODC needs the dataset indices of the batch (batch.idx)');
    if (!this.memoryBank.initialized) throw new ConfigError('ODC: the memory bank is not initialised; add DeepClusterHook with init_memory=True and initial=True to custom_hooks');
    this.labels = tf.tensor1d(Int32Array.from(idx, (i) => this.memoryBank.labelBank[i]), 'int32');
  }

  forwardTrain(views: Tensor[]): LossDict {
    let x = this.extractFeat(views[0]);
    if (this.neck) x = this.neck.forward(x);
    this.feature = tf.keep(x[0]);
    return this.head.loss(this.head.forward(x), this.labels as Tensor);
  }

  protected override async afterStep(ctx: StepContext, batch?: Batch): Promise<void> {
    this.labels?.dispose();
    this.labels = null;
    const local = this.feature as Tensor;
    this.feature = null;
    // every rank's rows, so that every rank's memory takes the same update
    const { idx, feats } = await gatherMemoryRows(ctx, local, batch!.idx!);
    this.changeRatio = this.memoryBank.updateSamplesMemory(idx, feats);
  }

  override async trainStep(batch: Batch, ctx: StepContext): Promise<StepOutputs> {
    const out = await super.trainStep(batch, ctx);
    out.logVars.change_ratio = this.changeRatio;
    return out;
  }

  /** MMSelfSup `set_reweight`: weights ∝ (cluster size + 1e-10)^-pow of `labels` (default: the memory's labels), normalised. */
  setReweight(labels: ArrayLike<number> = this.memoryBank.labelBank, reweightPow = 0.5): void {
    this.lossWeight = clusterClassWeights(labels, this.head.numClasses, reweightPow);
    this.head.classWeight?.dispose();
    this.head.classWeight = tf.tensor1d(this.lossWeight);
  }
}

export const odcEntry = defineComponent({
  type: 'ODC',
  args: { backbone: REQUIRED, with_sobel: false, neck: undefined, head: REQUIRED, memory_bank: REQUIRED, init_cfg: undefined },
  build: (a) =>
    new ODC(
      buildBackbone('ODC', a.backbone),
      a.neck ? buildNeck('ODC', a.neck) : null,
      buildHead<ClsHead>('ODC', a.head),
      buildMemory<ODCMemory>('ODC', a.memory_bank),
      Boolean(a.with_sobel),
      a.backbone,
    ),
});

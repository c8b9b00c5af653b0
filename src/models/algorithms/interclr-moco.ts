import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext, StepOutputs } from '../contracts.js';
import type { ContrastiveHead } from '../heads/heads.js';
import { mocoLogits } from '../losses/contrastive.js';
import type { InterCLRMemory } from '../memories/interclr-memory.js';
import { l2Normalize } from '../ops.js';
import type { LossDict, ListModule } from './base.js';
import { copyParams, emaParams } from './base.js';
import { checkSampling, sampleNegatives, samplePositives, type InterSamplingOptions, type NegSampling } from './interclr-sampling.js';
import { MoCo } from './moco.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildMemory, buildNeck } from '../registries.js';
import { gatherMemoryRows } from '../memories/gather-rows.js';

/** A positive-logit margin: `cos` subtracts `margin` from the cosine, `arc` adds it to the angle (ArcFace). */
export interface Margins {
  cos: boolean;
  cosMargin: number;
  arc: boolean;
  arcMargin: number;
}

export interface InterCLROptions extends InterSamplingOptions {
  queueLen: number;
  featDim: number;
  momentum: number;
  onlineLabels: boolean;
  intra: Margins;
  inter: Margins;
  intraLossWeight: number;
  interLossWeight: number;
  shareNeck: boolean;
  numClasses: number;
}

/** MMSelfSup's margin on the positive logits `[N, 1]` (`intra/inter_cos_marign_loss`, `..._arc_marign_loss`). */
export function applyMargins(pos: Tensor, m: Margins): Tensor {
  let p = pos;
  if (m.cos) p = tf.sub(p, m.cosMargin);
  if (m.arc) {
    const a = m.arcMargin;
    const cosine = p;
    const sine = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(cosine)), 0, 1));
    const phi = tf.sub(tf.mul(cosine, Math.cos(a)), tf.mul(sine, Math.sin(a)));
    p = a < 0
      ? tf.where(tf.less(cosine, Math.cos(a)), phi, tf.add(cosine, Math.sin(a) * a))
      : tf.where(tf.greater(cosine, Math.cos(Math.PI - a)), phi, tf.sub(cosine, Math.sin(Math.PI - a) * a));
  }
  return p;
}

/**
 * MMSelfSup `InterCLRMoCo` (Xie et al., https://arxiv.org/abs/2008.11702): MoCo v2's intra-image
 * contrast (queue of keys) plus an inter-image contrast against `InterCLRMemory`: the positive is a
 * random sample of the query's cluster, the negatives `neg_num` samples of other clusters drawn by
 * `neg_sampling`. Loss = `intra_loss_weight`·intra + `inter_loss_weight`·inter (`InterCLRHook` sets the
 * weights to 1/0 during `warmup_epochs`). With `share_neck=False` the inter branch has its own neck
 * (`inter_neck_q`, momentum copy `inter_neck_k`). After the step the keys update the memory: with
 * `online_labels` each updated sample takes its nearest centroid's label (`change_ratio` is logged).
 */
export class InterCLRMoCo extends MoCo {
  readonly interNeckQ: ListModule | null = null;
  readonly interNeckK: ListModule | null = null;
  intraLossWeight: number;
  interLossWeight: number;
  private interKeys: Tensor | null = null;
  private changeRatio: number | null = null;

  constructor(
    makeBackbone: () => ListModule,
    makeNeck: () => ListModule,
    head: ContrastiveHead,
    readonly memoryBank: InterCLRMemory,
    readonly o: InterCLROptions,
  ) {
    super(makeBackbone, makeNeck, head, o.queueLen, o.featDim, o.momentum);
    if (!o.shareNeck) {
      this.interNeckQ = this.registerModule('inter_neck_q', makeNeck());
      this.interNeckK = this.registerModule('inter_neck_k', makeNeck());
      copyParams(this.interNeckQ, this.interNeckK);
      this.interNeckK.requiresGrad(false);
    }
    this.intraLossWeight = o.intraLossWeight;
    this.interLossWeight = o.interLossWeight;
    checkSampling(o, memoryBank.length);
    if (memoryBank.featDim !== o.featDim) throw new ConfigError(`InterCLRMoCo: memory_bank.feat_dim (${memoryBank.featDim}) must equal feat_dim (${o.featDim})`);
    if (memoryBank.numClasses !== o.numClasses) throw new ConfigError(`InterCLRMoCo: num_classes (${o.numClasses}) must equal memory_bank.num_classes (${memoryBank.numClasses})`);
  }

  override checkDataset(length: number): void {
    if (length !== this.memoryBank.length) {
      throw new ConfigError(`InterCLRMoCo: model.memory_bank.length is ${this.memoryBank.length} but the training data set has ${length} samples; set model.memory_bank.length=${length}`);
    }
  }

  override afterInitWeights(): void {
    super.afterInitWeights();
    if (this.interNeckQ && this.interNeckK) copyParams(this.interNeckQ, this.interNeckK);
  }

  /** The inter branch's positives `[bs]` and negatives `[bs * neg_num]` for normalised queries `featNorm` (replaceable in tests). */
  drawInterSamples(featNorm: Float32Array, idx: Int32Array): { pos: Int32Array; neg: Int32Array } {
    return { pos: samplePositives(this.memoryBank, idx), neg: sampleNegatives(this.memoryBank, featNorm, idx, this.o) };
  }

  protected override async beforeStep(views: Tensor[], ctx: StepContext, batch?: Batch): Promise<void> {
    if (!batch?.idx) throw new Error('InterCLRMoCo needs the dataset indices of the batch (batch.idx)');
    if (!this.memoryBank.initialized) throw new ConfigError('InterCLRMoCo: the memory bank is not initialised; add InterCLRHook (init_memory=True) to custom_hooks');
    emaParams(this.encoderQ, this.encoderK, this.momentum);
    if (this.interNeckQ && this.interNeckK) emaParams(this.interNeckQ, this.interNeckK, this.momentum);
    const d = ctx.dist;
    const shuffle = d.worldSize > 1 && d.batchShuffle && d.batchUnshuffle;
    const backboneK = this.encoderK.at(0) as ListModule;
    const neckK = this.encoderK.at(1) as ListModule;
    const keys = tf.tidy(() => {
      const { x, idxUnshuffle } = shuffle ? d.batchShuffle!(views[1]) : { x: views[1], idxUnshuffle: null };
      const kb = backboneK.forward(x);
      const out = [neckK.forward(kb)[0]];
      if (this.interNeckK) out.push(this.interNeckK.forward(kb)[0]);
      return idxUnshuffle ? out.map((t) => d.batchUnshuffle!(t, idxUnshuffle)) : out;
    });
    this.keys = tf.tidy(() => l2Normalize(keys[0]));
    this.interKeys = keys[1] ?? tf.clone(keys[0]);
    keys[0].dispose();
  }

  override forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const qb = this.backbone.forward(views[0]);
    const q = l2Normalize(this.neck.forward(qb)[0]);
    const { pos, neg } = mocoLogits(q, this.keys as Tensor, this.queue);
    const intra = this.head.forward(applyMargins(pos, this.o.intra), neg).loss;
    const featNorm = this.interNeckQ ? l2Normalize(this.interNeckQ.forward(qb)[0]) : q;
    const idx = batch!.idx as Int32Array;
    const samples = this.drawInterSamples(featNorm.dataSync() as Float32Array, idx);
    const bs = idx.length;
    const c = this.memoryBank.featDim;
    const posFeat = tf.tensor2d(this.memoryBank.rows(samples.pos), [bs, c]);
    const negFeat = tf.tensor3d(this.memoryBank.rows(samples.neg), [bs, this.o.negNum, c]);
    const interPos = tf.sum(tf.mul(posFeat, featNorm), 1, true);
    const interNeg = tf.squeeze(tf.matMul(negFeat, tf.expandDims(featNorm, 2)), [2]);
    const inter = this.head.forward(applyMargins(interPos, this.o.inter), interNeg).loss;
    return { intra_loss: tf.mul(intra, this.intraLossWeight), inter_loss: tf.mul(inter, this.interLossWeight) };
  }

  override async trainStep(batch: Batch, ctx: StepContext): Promise<StepOutputs> {
    const out = await super.trainStep(batch, ctx);
    if (this.changeRatio === null) return out;
    // MMSelfSup's order: the model's outputs (intra_loss, inter_loss, change_ratio), then their sum
    const { loss, ...outputs } = out.logVars;
    return { ...out, logVars: { ...outputs, change_ratio: this.changeRatio, loss } };
  }

  protected override async afterStep(ctx: StepContext, batch?: Batch): Promise<void> {
    const local = this.interKeys as Tensor;
    this.interKeys = null;
    await super.afterStep(ctx);
    // every rank's rows, so that every rank's memory takes the same update
    const { idx, feats } = await gatherMemoryRows(ctx, local, batch!.idx!);
    if (this.o.onlineLabels) this.changeRatio = this.memoryBank.updateSamplesMemory(idx, feats);
    else this.memoryBank.updateSimpleMemory(idx, feats);
  }
}

export const interCLRMoCoEntry = defineComponent({
  type: 'InterCLRMoCo',
  args: {
    backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, queue_len: 65536, feat_dim: 128, momentum: 0.999, memory_bank: REQUIRED,
    online_labels: true, neg_num: 16384, neg_sampling: 'semihard', semihard_neg_pool_num: 128000, semieasy_neg_pool_num: 128000,
    // MMSelfSup's argument names, misspelling ("marign") included
    intra_cos_marign_loss: false, intra_cos_margin: 0, intra_arc_marign_loss: false, intra_arc_margin: 0,
    inter_cos_marign_loss: true, inter_cos_margin: -0.5, inter_arc_marign_loss: false, inter_arc_margin: 0,
    intra_loss_weight: 0.75, inter_loss_weight: 0.25, share_neck: true, num_classes: 10000, init_cfg: undefined,
  },
  build: (a) =>
    new InterCLRMoCo(
      () => buildBackbone('InterCLRMoCo', a.backbone),
      () => buildNeck('InterCLRMoCo', a.neck),
      buildHead<ContrastiveHead>('InterCLRMoCo', a.head),
      buildMemory<InterCLRMemory>('InterCLRMoCo', a.memory_bank),
      {
        queueLen: a.queue_len, featDim: a.feat_dim, momentum: a.momentum, onlineLabels: a.online_labels,
        negNum: a.neg_num, negSampling: a.neg_sampling as NegSampling, semihardNegPoolNum: a.semihard_neg_pool_num, semieasyNegPoolNum: a.semieasy_neg_pool_num,
        intra: { cos: a.intra_cos_marign_loss, cosMargin: a.intra_cos_margin, arc: a.intra_arc_marign_loss, arcMargin: a.intra_arc_margin },
        inter: { cos: a.inter_cos_marign_loss, cosMargin: a.inter_cos_margin, arc: a.inter_arc_marign_loss, arcMargin: a.inter_arc_margin },
        intraLossWeight: a.intra_loss_weight, interLossWeight: a.inter_loss_weight, shareNeck: a.share_neck, numClasses: a.num_classes,
      },
    ),
});

import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext } from '../contracts.js';
import type { ContrastiveHead } from '../heads/heads.js';
import type { SimpleMemory } from '../memories/simple-memory.js';
import { l2Normalize } from '../ops.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildMemory, buildNeck } from '../registries.js';
import { gatherMemoryRows } from '../memories/gather-rows.js';

/**
 * MMSelfSup `NPID` (Wu et al. 2018, https://arxiv.org/abs/1805.01978): L2-normalised features `f`
 * `[N, D]`; the positive logit is `f · bank[idx]`, the negatives `f · bank[j]` for `neg_num` indices
 * drawn uniformly per sample (`ensure_neg`: redrawn until none is the sample itself); `ContrastiveHead`
 * gives the NCE-style loss. After the step the batch's features (gathered over ranks) update the bank.
 */
export class NPID extends BaseAlgorithm {
  private posFeat: Tensor | null = null;
  private negFeat: Tensor | null = null;
  private feature: Tensor | null = null;

  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule | null,
    readonly head: ContrastiveHead,
    readonly memoryBank: SimpleMemory,
    readonly negNum = 65536,
    readonly ensureNeg = false,
  ) {
    super();
    this.registerModule('backbone', backbone);
    if (neck) this.registerModule('neck', neck);
    this.registerModule('head', head);
    if (!(Number.isInteger(negNum) && negNum > 0)) throw new ConfigError(`NPID: neg_num must be a positive integer, got ${String(negNum)}`);
    if (negNum >= memoryBank.length) {
      throw new ConfigError(`NPID: neg_num (${negNum}) must be smaller than memory_bank.length (${memoryBank.length}, the data set size); lower model.neg_num`);
    }
  }

  override checkDataset(length: number): void {
    if (length !== this.memoryBank.length) {
      throw new ConfigError(`NPID: model.memory_bank.length is ${this.memoryBank.length} but the training data set has ${length} samples; set model.memory_bank.length=${length}`);
    }
  }

  /** MMSelfSup's `multinomial.draw(bs * neg_num)` (+ the `ensure_neg` redraw), `[bs * neg_num]`. */
  drawNegatives(idx: Int32Array): Int32Array {
    const k = this.negNum;
    const neg = this.memoryBank.draw(idx.length * k);
    if (this.ensureNeg) {
      for (;;) {
        const wrong: number[] = [];
        for (let i = 0; i < neg.length; i++) if (neg[i] === idx[Math.floor(i / k)]) wrong.push(i);
        if (wrong.length === 0) break;
        const redraw = this.memoryBank.draw(wrong.length);
        wrong.forEach((p, j) => (neg[p] = redraw[j]));
      }
    }
    return neg;
  }

  protected override async beforeStep(_views: Tensor[], _ctx: StepContext, batch?: Batch): Promise<void> {
    const idx = batch?.idx;
    if (!idx) throw new Error('NPID needs the dataset indices of the batch (batch.idx)');
    const d = this.memoryBank.featDim;
    const neg = this.drawNegatives(idx);
    this.posFeat = tf.tensor2d(this.memoryBank.rows(idx), [idx.length, d]);
    this.negFeat = tf.tensor3d(this.memoryBank.rows(neg), [idx.length, this.negNum, d]);
  }

  forwardTrain(views: Tensor[]): LossDict {
    let x = this.extractFeat(views[0]);
    if (this.neck) x = this.neck.forward(x);
    const feature = l2Normalize(x[0]);
    this.feature = tf.keep(feature);
    const pos = tf.sum(tf.mul(this.posFeat as Tensor, feature), 1, true);
    const neg = tf.squeeze(tf.matMul(this.negFeat as Tensor, tf.expandDims(feature, 2)), [2]);
    return this.head.forward(pos, neg);
  }

  protected override async afterStep(ctx: StepContext, batch?: Batch): Promise<void> {
    this.posFeat?.dispose();
    this.negFeat?.dispose();
    this.posFeat = this.negFeat = null;
    const local = this.feature as Tensor;
    this.feature = null;
    // every rank's rows, so that every rank's memory takes the same update
    const { idx, feats } = await gatherMemoryRows(ctx, local, batch!.idx!);
    this.memoryBank.update(idx, feats);
  }
}

export const npidEntry = defineComponent({
  type: 'NPID',
  args: { backbone: REQUIRED, neck: undefined, head: REQUIRED, memory_bank: REQUIRED, neg_num: 65536, ensure_neg: false, init_cfg: undefined },
  build: (a) =>
    new NPID(
      buildBackbone('NPID', a.backbone),
      a.neck ? buildNeck('NPID', a.neck) : null,
      buildHead<ContrastiveHead>('NPID', a.head),
      buildMemory<SimpleMemory>('NPID', a.memory_bank),
      a.neg_num as number,
      a.ensure_neg as boolean,
    ),
});

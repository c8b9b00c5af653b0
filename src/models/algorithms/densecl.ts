import { ConfigError } from '../../errors.js';
import { tf, type Tensor, type Variable } from '../../engine/tf.js';
import type { StepContext } from '../contracts.js';
import type { ContrastiveHead } from '../heads/heads.js';
import { mocoLogits } from '../losses/contrastive.js';
import { l2Normalize, stopGradient } from '../ops.js';
import type { LossDict, ListModule } from './base.js';
import { emaParams } from './base.js';
import { MoCo, randomQueue } from './moco.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/** The key encoder's outputs of one step (no gradient), in this rank's batch order. */
interface DenseKeys {
  /** global keys `[N, D]`, L2-normalised */
  k: Tensor;
  /** pooled dense keys `[N, D]` (what queue2 holds), L2-normalised */
  k2: Tensor;
  /** dense keys `[N, S², D]`, L2-normalised per position */
  kGrid: Tensor;
  /** backbone features `[N, S², C]`, L2-normalised per position */
  kB: Tensor;
}

/** `[N, H, W, C]` -> `[N, H·W, C]` (positions row-major, as PyTorch's `view(N, C, -1)` transposed). */
const positions = (x: Tensor) => tf.reshape(x, [x.shape[0], -1, x.shape[x.rank - 1]]);

/**
 * MMSelfSup `DenseCL` (Wang et al. 2021, https://arxiv.org/abs/2011.09157): MoCo v2 plus a dense
 * contrastive loss. `DenseCLNeck` gives global, dense and pooled-dense projections; each query
 * position is matched to the key position whose backbone feature is most similar (argmax of
 * cosine similarity) and contrasted against a second queue (`queue2`) of pooled dense keys.
 * Loss: `loss_single·(1 − loss_lambda) + loss_dense·loss_lambda` (`DenseCLHook` sets loss_lambda to
 * 0 for the first `start_iters` iterations). State dict: MoCo's plus `queue2`, `queue2_ptr`.
 */
export class DenseCL extends MoCo {
  readonly queue2: Variable;
  readonly queue2Ptr: Variable;
  private denseKeys: DenseKeys | null = null;

  constructor(
    makeBackbone: () => ListModule,
    makeNeck: () => ListModule,
    head: ContrastiveHead,
    queueLen = 65536,
    featDim = 128,
    momentum = 0.999,
    public lossLambda = 0.5,
  ) {
    super(makeBackbone, makeNeck, head, queueLen, featDim, momentum);
    this.queue2 = this.registerBuffer('queue2', randomQueue(featDim, queueLen));
    this.queue2Ptr = this.registerBuffer('queue2_ptr', tf.tensor1d([0], 'int32'));
  }

  override stateDictAliases(): Record<string, string> {
    return { backbone: 'encoder_q.0' };
  }

  protected override async beforeStep(views: Tensor[], ctx: StepContext): Promise<void> {
    if (views.length !== 2) throw new ConfigError(`DenseCL needs 2 views per image, got ${views.length}`);
    emaParams(this.encoderQ, this.encoderK, this.momentum);
    const d = ctx.dist;
    const shuffle = d.worldSize > 1 && d.batchShuffle && d.batchUnshuffle;
    const [backboneK, neckK] = [this.encoderK.at(0) as ListModule, this.encoderK.at(1) as ListModule];
    this.denseKeys = tf.tidy(() => {
      // shuffled BN across ranks (batch_shuffle_ddp), then every key back to this rank's order
      const s = shuffle ? d.batchShuffle!(views[1]) : null;
      const feats = backboneK.forward(s ? s.x : views[1]);
      const [k, kGrid, k2] = neckK.forward(feats);
      const keys = { k: l2Normalize(k), k2: l2Normalize(k2), kGrid: l2Normalize(kGrid), kB: l2Normalize(positions(feats[0])) };
      if (!s) return keys;
      const un = (t: Tensor) => d.batchUnshuffle!(t, s.idxUnshuffle);
      return { k: un(keys.k), k2: un(keys.k2), kGrid: un(keys.kGrid), kB: un(keys.kB) };
    }) as unknown as DenseKeys;
  }

  override forwardTrain(views: Tensor[]): LossDict {
    const keys = this.denseKeys as DenseKeys;
    const feats = this.backbone.forward(views[0]);
    const [q0, qGrid0] = this.neck.forward(feats);
    const q = l2Normalize(q0);
    const qGrid = l2Normalize(qGrid0);
    const [n, s2, dim] = qGrid.shape;
    if (keys.kB.shape[1] !== s2) {
      throw new ConfigError(`DenseCL: the neck gives ${s2} dense positions (num_grid) but the backbone map has ${keys.kB.shape[1]}; set neck.num_grid to the map's side or None`);
    }
    // dense correspondence: for each query position the key position most similar in backbone
    // features; read back as plain indices so the tape does not differentiate through them
    const qB = l2Normalize(positions(stopGradient(feats[0])));
    const match = tf.argMax(tf.matMul(qB, keys.kB, false, true), 2).dataSync() as Int32Array;
    const rows = tf.tensor1d(match.map((j, r) => j + Math.floor(r / s2) * s2), 'int32');
    const matchedK = tf.gather(tf.reshape(keys.kGrid, [n * s2, dim]), rows);
    const qFlat = tf.reshape(qGrid, [n * s2, dim]);
    const single = mocoLogits(q, keys.k, this.queue);
    const dense = { pos: tf.sum(tf.mul(qFlat, matchedK), 1, true), neg: tf.matMul(qFlat, this.queue2) };
    const head = this.head as ContrastiveHead;
    return {
      loss_single: tf.mul(head.forward(single.pos, single.neg).loss, 1 - this.lossLambda),
      loss_dense: tf.mul(head.forward(dense.pos, dense.neg).loss, this.lossLambda),
    };
  }

  protected override async afterStep(ctx: StepContext): Promise<void> {
    const keys = this.denseKeys as DenseKeys;
    this.denseKeys = null;
    keys.kGrid.dispose();
    keys.kB.dispose();
    await this.enqueue(this.queue, this.queuePtr, keys.k, ctx);
    await this.enqueue(this.queue2, this.queue2Ptr, keys.k2, ctx);
  }
}

export const denseCLEntry = defineComponent({
  type: 'DenseCL',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, queue_len: 65536, feat_dim: 128, momentum: 0.999, loss_lambda: 0.5, init_cfg: undefined },
  build: (a) =>
    new DenseCL(
      () => buildBackbone('DenseCL', a.backbone),
      () => buildNeck('DenseCL', a.neck),
      buildHead<ContrastiveHead>('DenseCL', a.head),
      a.queue_len as number,
      a.feat_dim as number,
      a.momentum as number,
      a.loss_lambda as number,
    ),
});

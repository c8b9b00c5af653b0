import { Sequential } from '../../engine/layers/container.js';
import { normalArray } from '../../engine/random.js';
import { tf, type Tensor, type Variable } from '../../engine/tf.js';
import type { StepContext } from '../contracts.js';
import type { ContrastiveHead } from '../heads/heads.js';
import { mocoLogits } from '../losses/contrastive.js';
import { l2Normalize } from '../ops.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, copyParams, emaParams } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `MoCo` v1/v2 (He et al. 2020, https://arxiv.org/abs/1911.05722): query encoder
 * `encoder_q = [backbone, neck]`, momentum key encoder `encoder_k` (EMA, `momentum`), a queue
 * `[feat_dim, queue_len]` of L2-normalised keys. Batch shuffle across processes is the dist seam.
 */
export class MoCo extends BaseAlgorithm {
  readonly backbone: ListModule;
  readonly neck: ListModule;
  readonly encoderQ: Sequential;
  readonly encoderK: Sequential;
  readonly queue: Variable;
  readonly queuePtr: Variable;
  protected keys: Tensor | null = null;

  constructor(
    makeBackbone: () => ListModule,
    makeNeck: () => ListModule,
    readonly head: ContrastiveHead,
    readonly queueLen = 65536,
    readonly featDim = 128,
    public momentum = 0.999,
  ) {
    super();
    this.backbone = makeBackbone();
    this.neck = makeNeck();
    this.encoderQ = this.registerModule('encoder_q', new Sequential(this.backbone, this.neck));
    this.encoderK = this.registerModule('encoder_k', new Sequential(makeBackbone(), makeNeck()));
    copyParams(this.encoderQ, this.encoderK);
    this.encoderK.requiresGrad(false);
    this.registerModule('head', head);
    this.queue = this.registerBuffer('queue', randomQueue(featDim, queueLen));
    this.queuePtr = this.registerBuffer('queue_ptr', tf.tensor1d([0], 'int32'));
  }

  protected override async beforeStep(views: Tensor[], ctx: StepContext): Promise<void> {
    emaParams(this.encoderQ, this.encoderK, this.momentum);
    const d = ctx.dist;
    const shuffle = d.worldSize > 1 && d.batchShuffle && d.batchUnshuffle;
    this.keys = tf.tidy(() => {
      if (!shuffle) return l2Normalize((this.encoderK.forward(views[1]) as Tensor[])[0]);
      // shuffled BN across ranks (MoCo's batch_shuffle_ddp), then back to this rank's order
      const { x, idxUnshuffle } = d.batchShuffle!(views[1]);
      const k = l2Normalize((this.encoderK.forward(x) as Tensor[])[0]);
      return d.batchUnshuffle!(k, idxUnshuffle);
    });
  }

  override afterInitWeights(): void {
    copyParams(this.encoderQ, this.encoderK);
  }

  override stateDictAliases(): Record<string, string> {
    return { backbone: 'encoder_q.0', neck: 'encoder_q.1' };
  }

  forwardTrain(views: Tensor[]): LossDict {
    const q = l2Normalize(this.neck.forward(this.backbone.forward(views[0]))[0]);
    const { pos, neg } = mocoLogits(q, this.keys as Tensor, this.queue);
    return this.head.forward(pos, neg);
  }

  protected override async afterStep(ctx: StepContext): Promise<void> {
    const keys = this.keys as Tensor;
    this.keys = null;
    await this.enqueue(this.queue, this.queuePtr, keys, ctx);
  }

  /**
   * MoCo's `_dequeue_and_enqueue`: the keys `[n, C]` of every rank (all-gathered, rank order) replace
   * the queue's columns at the pointer, which then moves on modulo `queue_len`. Disposes `local`.
   */
  protected async enqueue(queue: Variable, queuePtr: Variable, local: Tensor, ctx: StepContext): Promise<void> {
    let keys = local;
    if (ctx.dist.worldSize > 1) {
      const all = await ctx.dist.allGather(local);
      keys = tf.concat(all, 0);
      for (const t of all) t.dispose();
      local.dispose();
    }
    const n = keys.shape[0];
    const ptr = (await queuePtr.data())[0];
    if (this.queueLen % n !== 0) {
      keys.dispose();
      throw new Error(`${this.constructor.name}: queue_len ${this.queueLen} must be a multiple of the total batch ${n}`);
    }
    tf.tidy(() => {
      const kT = tf.transpose(keys);
      const parts: Tensor[] = [];
      if (ptr > 0) parts.push(tf.slice(queue, [0, 0], [-1, ptr]));
      parts.push(kT);
      if (ptr + n < this.queueLen) parts.push(tf.slice(queue, [0, ptr + n], [-1, -1]));
      queue.assign(tf.concat(parts, 1));
      queuePtr.assign(tf.tensor1d([(ptr + n) % this.queueLen], 'int32'));
    });
    keys.dispose();
  }
}

/** A queue `[feat_dim, queue_len]` of random unit columns (`normalize(randn(feat_dim, queue_len), dim=0)`). */
export function randomQueue(featDim: number, queueLen: number): Tensor {
  const q = tf.tensor2d(normalArray(featDim * queueLen, 0, 1), [featDim, queueLen]);
  const qn = tf.tidy(() => tf.div(q, tf.maximum(tf.norm(q, 2, 0, true), 1e-12)));
  q.dispose();
  return qn;
}

export const mocoEntry = defineComponent({
  type: 'MoCo',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, queue_len: 65536, feat_dim: 128, momentum: 0.999, init_cfg: undefined },
  build: (a) =>
    new MoCo(
      () => buildBackbone('MoCo', a.backbone),
      () => buildNeck('MoCo', a.neck),
      buildHead<ContrastiveHead>('MoCo', a.head),
      a.queue_len as number,
      a.feat_dim as number,
      a.momentum as number,
    ),
});

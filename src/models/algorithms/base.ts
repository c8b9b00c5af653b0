import type { Scalar } from '@tensorflow/tfjs-core';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Variable } from '../../engine/tf.js';
import type { Batch, StepContext, StepOutputs, TrainableModel } from '../contracts.js';

/** A module taking/returning lists of tensors (backbones, necks). */
export type ListModule = Module & { forward(x: Tensor | Tensor[]): Tensor[] };

/** Losses and logged scalars of one forward pass; every key containing "loss" is summed. */
export type LossDict = Record<string, Tensor>;

/**
 * MMSelfSup's `BaseModel` for TF.js: `forwardTrain(views, labels)` returns the loss dict inside a
 * gradient tape; `trainStep` runs it under `tf.variableGrads` over the trainable parameters and
 * returns the summed loss, the logged scalars and the gradients by parameter name.
 * `beforeStep`/`afterStep` hold what runs outside the tape (momentum encoders, queues).
 */
export abstract class BaseAlgorithm extends Module implements TrainableModel {
  /** The backbone features are extracted from (`extract_feat`, kNN). */
  abstract readonly backbone: ListModule;

  /**
   * Losses of one batch; views are NHWC `[N, H, W, C]`. Called inside the gradient tape. `batch` is
   * the loader's batch (dataset indices, `rot_label`, ...) for algorithms that need more than views.
   */
  abstract forwardTrain(views: Tensor[], labels?: Tensor, ctx?: StepContext, batch?: Batch): LossDict;

  /**
   * Extra state-dict prefixes PyTorch would also save because one module is reachable under two
   * attributes (MoCo's `self.backbone = self.encoder_q[0]`): alias -> target prefix. Checkpoints write
   * both names, as MMSelfSup's do (so `backbone.*` extraction works); loading reads the target.
   */
  stateDictAliases(): Record<string, string> {
    return {};
  }

  /** Checks the training data set against the model (memory banks hold one row per sample); throws ConfigError. */
  checkDataset(_length: number): void {}

  /** After Pretrained weights were loaded (mmcv `init_weights`): momentum encoders copy the online ones. */
  afterInitWeights(): void {}

  forward(x: Tensor): Tensor[] {
    return this.extractFeat(x);
  }

  /** Backbone outputs of NHWC `x`. */
  extractFeat(x: Tensor): Tensor[] {
    return this.backbone.forward(x);
  }

  /** Work before the tape (e.g. MoCo's key encoder); returns tensors `forwardTrain` may read. */
  protected async beforeStep(_views: Tensor[], _ctx: StepContext, _batch?: Batch): Promise<void> {}

  /** Work after the gradients (e.g. MoCo's enqueue). */
  protected async afterStep(_ctx: StepContext, _batch?: Batch): Promise<void> {}

  async trainStep(batch: Batch, ctx: StepContext): Promise<StepOutputs> {
    const views = batch.views.map((v) => tf.tensor(v.data, [...v.shape], 'float32'));
    const labels = batch.labels ? tf.tensor1d(batch.labels, 'int32') : undefined;
    try {
      await this.beforeStep(views, ctx, batch);
      const params = this.namedParameters().filter(([, v]) => v.trainable);
      const nameOf = new Map<string, string>(params.map(([n, v]) => [v.name, n]));
      const logged: Record<string, Tensor> = {};
      const { value, grads } = tf.variableGrads(() => {
        const losses = this.forwardTrain(views, labels, ctx, batch);
        let total: Tensor | null = null;
        for (const [k, t] of Object.entries(losses)) {
          logged[k] = tf.keep(tf.mean(t));
          if (k.includes('loss')) total = total ? tf.add(total, tf.mean(t)) : tf.mean(t);
        }
        if (!total) throw new Error(`${this.constructor.name}.forwardTrain returned no key containing "loss"`);
        return total as Scalar;
      }, params.map(([, v]) => v as Variable));
      const out = new Map<string, Tensor>();
      for (const [vname, g] of Object.entries(grads)) out.set(nameOf.get(vname) ?? vname, g);
      const loss = (await value.data())[0];
      value.dispose();
      const logVars: Record<string, number> = {};
      for (const [k, t] of Object.entries(logged)) {
        logVars[k] = (await t.data())[0];
        t.dispose();
      }
      logVars.loss = loss;
      await this.afterStep(ctx, batch);
      // averaged over ranks by the runner, riding in the gradient all-reduce
      return { loss, logVars, numSamples: batch.views[0].shape[0], grads: out };
    } finally {
      for (const v of views) v.dispose();
      labels?.dispose();
    }
  }

  /**
   * MMSelfSup's `val_step`: the training forward (losses, no gradients) on a batch, for a `('val', n)`
   * workflow entry; the runner has put the model in eval mode.
   */
  async valStep(batch: Batch, ctx: StepContext): Promise<{ logVars: Record<string, number>; numSamples: number }> {
    const views = batch.views.map((v) => tf.tensor(v.data, [...v.shape], 'float32'));
    const labels = batch.labels ? tf.tensor1d(batch.labels, 'int32') : undefined;
    try {
      await this.beforeStep(views, ctx, batch);
      const logged = tf.tidy(() => {
        const losses = this.forwardTrain(views, labels, ctx, batch);
        const out: Record<string, Tensor> = {};
        let total: Tensor | null = null;
        for (const [k, t] of Object.entries(losses)) {
          out[k] = tf.keep(tf.mean(t));
          if (k.includes('loss')) total = total ? tf.add(total, tf.mean(t)) : tf.mean(t);
        }
        if (total) out.loss = tf.keep(total);
        return out;
      });
      const logVars: Record<string, number> = {};
      for (const [k, t] of Object.entries(logged)) {
        logVars[k] = (await t.data())[0];
        t.dispose();
      }
      await this.afterStep(ctx, batch);
      return { logVars, numSamples: batch.views[0].shape[0] };
    } finally {
      for (const v of views) v.dispose();
      labels?.dispose();
    }
  }
}

/** Copies every parameter of `src` into `dst` (same structure), e.g. a momentum encoder at init. */
export function copyParams(src: Module, dst: Module): void {
  const d = dst.namedParameters();
  src.namedParameters().forEach(([, v], i) => d[i][1].assign(v));
}

/** EMA of parameters: `dst = m·dst + (1-m)·src` (MMSelfSup `momentum_update`). */
export function emaParams(src: Module, dst: Module, m: number): void {
  const d = dst.namedParameters();
  tf.tidy(() => {
    src.namedParameters().forEach(([, v], i) => d[i][1].assign(tf.add(tf.mul(d[i][1], m), tf.mul(v, 1 - m))));
  });
}

/** An integer side output of the batch (`rot_label`, `patch_label`, `pseudo_label`, `idx`) as an int32 `[M]` tensor. */
export function batchInts(batch: Batch | undefined, key: string, owner: string): Tensor {
  const v = batch?.[key] as Int32Array | { data: ArrayLike<number> } | undefined;
  if (!v) throw new Error(`${owner} needs "${key}" in the batch (use the dataset its config names)`);
  const data = ArrayBuffer.isView(v) ? (v as Int32Array) : Int32Array.from((v as { data: ArrayLike<number> }).data);
  return tf.tensor1d(data, 'int32');
}

/** Contracts between models and the runner (the runner calls them; models implement them). */
import type { Tensor, Variable } from '../engine/tf.js';
import type { DistContext } from '../dist/trainer-context.js';

/** One view of a batch: NHWC float32 pixels. */
export interface BatchView {
  data: Float32Array;
  shape: readonly number[];
}

/** A batch as the data loader yields it: one entry per view (2 for two-view SSL), optional labels. */
export interface Batch {
  views: BatchView[];
  labels?: Int32Array;
  /** Dataset indices of the samples (NPID/ODC memories are indexed by them). */
  idx?: Int32Array;
  /** Dataset side outputs batched on a leading axis (`rot_label` [N*4], `patch_label` [N*8], `pseudo_label` [N]). */
  [extra: string]: unknown;
}


/** What an algorithm's train step gives the runner (mmcv `train_step` outputs). */
export interface StepOutputs {
  /** Sum of the loss terms (for logging / NaN checks). */
  loss: number;
  /** Scalars to log (`loss`, and e.g. `acc`). */
  logVars: Record<string, number>;
  /** Images in the batch on this process. */
  numSamples: number;
  /** Gradients by parameter name; owned by the runner's optimizer hook (disposed after the step). */
  grads: Map<string, Tensor>;
}

/** What a training step may use besides the batch. */
export interface StepContext {
  dist: DistContext;
}

/** The model interface the runner needs (algorithms implement it). */
export interface TrainableModel {
  train(mode?: boolean): unknown;
  eval(): unknown;
  namedParameters(): [string, Variable][];
  namedBuffers(): [string, Variable][];
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>, options?: { strict?: boolean }): unknown;
  trainStep(batch: Batch, ctx: StepContext): Promise<StepOutputs>;
  /** Throws a ConfigError when the model cannot train on a data set of `length` samples (memory banks). */
  checkDataset?(length: number): void;
  /** Reads files the model needs besides its weights (CAE's DALL-E tokenizer); the runner awaits it once at start-up. */
  loadAuxiliaryFiles?(): Promise<void>;
  /** Losses without gradients (a `val` workflow entry). */
  valStep?(batch: Batch, ctx: StepContext): Promise<{ logVars: Record<string, number>; numSamples: number }>;
}

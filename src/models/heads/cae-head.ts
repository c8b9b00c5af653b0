import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, SslError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { isPthTensor, readPth } from '../../engine/pth/read-pth.js';
import { PyDict } from '../../engine/pth/unpickler.js';
import { decodeSafetensors, tensorFromRaw, type RawTensor } from '../../engine/safetensors.js';
import { loadTorchStateDict } from '../../engine/torch-layout.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';
import { gatherTokens } from '../tokens.js';
import { DalleEncoder } from '../targets/dalle-encoder.js';

const DALLE_URL = 'https://download.openmmlab.com/mmselfsup/cae/dalle_encoder.pth';

/** A DALL-E encoder state dict from a `.pth` (torch.save of the dict) or `.safetensors` file, PyTorch names and layouts. */
export async function readTokenizerFile(path: string): Promise<Map<string, RawTensor>> {
  if (!existsSync(path)) {
    throw new ConfigError(`CAEHead: tokenizer_path ${path} does not exist; CAE needs the DALL-E encoder weights there (MMSelfSup's: ${DALLE_URL})`);
  }
  if (path.endsWith('.safetensors')) return decodeSafetensors(readFileSync(path)).tensors;
  const root = await readPth(path);
  const dict = root instanceof PyDict && root.get('state_dict') instanceof PyDict ? (root.get('state_dict') as PyDict) : root;
  if (!(dict instanceof PyDict)) throw new ConfigError(`CAEHead: tokenizer_path ${path} holds no state dict (a dict of tensors)`);
  const out = new Map<string, RawTensor>();
  for (const [k, v] of dict) if (typeof k === 'string' && isPthTensor(v)) out.set(k, v);
  return out;
}

/**
 * MMSelfSup 0.x CAEHead: the DALL-E encoder (`encoder`, read from `tokenizer_path` at start-up, its
 * architecture taken from the file) turns the second picture into one token per patch; the loss is
 * the cross-entropy of the decoder's logits on the masked patches' tokens (`main`) plus `lambd` ×
 * the mean squared error between the regressor's latent prediction and the teacher's encoding (`align`).
 */
export class CAEHead extends Module {
  encoder: DalleEncoder | null = null;

  constructor(
    readonly tokenizerPath: string,
    readonly lambd: number,
  ) {
    super();
  }

  /** Reads `tokenizer_path` and builds the encoder from it (the runner calls this once, before training). */
  async loadTokenizer(): Promise<void> {
    const raw = await readTokenizerFile(this.tokenizerPath);
    const state = new Map<string, Tensor>();
    for (const [k, r] of raw) state.set(k, tensorFromRaw(r));
    try {
      this.useTokenizer(state);
    } finally {
      state.forEach((t) => t.dispose());
    }
  }

  /** Builds the DALL-E encoder of `state`'s architecture and loads it (PyTorch names and layouts). */
  useTokenizer(state: Map<string, Tensor>): void {
    const where = `CAEHead: tokenizer_path ${this.tokenizerPath}`;
    const encoder = this.encoder ?? new DalleEncoder(DalleEncoder.argsOf(state, where));
    try {
      loadTorchStateDict(encoder, state, { strict: true });
    } catch (e) {
      if (!this.encoder) encoder.dispose();
      if (e instanceof SslError) throw new ConfigError(`${where}: ${e.message}`);
      throw e;
    }
    if (!this.encoder) this.encoder = this.registerModule('encoder', encoder);
  }

  /** img `[N, H, W, 3]` (already mapped to [0.1, 0.9]) -> the DALL-E token of each cell, `[N, H/8 · W/8]` int32. */
  tokens(img: Tensor4D): Tensor2D {
    if (!this.encoder) throw new ConfigError(`CAEHead: the DALL-E tokenizer is not loaded (tokenizer_path ${this.tokenizerPath})`);
    return tf.tidy(() => {
      const logits = this.encoder!.forward(img);
      return tf.reshape(tf.argMax(logits, -1), [img.shape[0], -1]) as Tensor2D;
    });
  }

  /**
   * imgTarget NHWC (the tokenizer's picture), logits `[N, M, C]`, latent prediction and target
   * `[N, M, D]`, masked `[N, M]` int32 (the masked patch indices) -> `{loss, main, align}`.
   */
  forward(imgTarget: Tensor4D, logits: Tensor3D, latentPred: Tensor3D, latentTarget: Tensor3D, masked: Tensor): Record<string, Tensor> {
    const [n, m, c] = logits.shape;
    const vocab = this.encoder?.args.vocab_size;
    if (vocab !== undefined && vocab !== c) throw new ConfigError(`CAE: model.neck.num_classes ${c} must equal the tokenizer's vocabulary size ${vocab}`);
    const tokens = this.tokens(imgTarget);
    const target = tf.tidy(() => tf.reshape(gatherTokens(tf.expandDims(tokens, 2) as Tensor3D, masked), [n * m]));
    tokens.dispose();
    const flat = tf.reshape(logits, [n * m, c]);
    const picked = tf.sum(tf.mul(flat, tf.oneHot(tf.cast(target, 'int32'), c)), -1);
    const main = tf.mean(tf.sub(tf.logSumExp(flat, -1), picked));
    const align = tf.mul(tf.mean(tf.squaredDifference(latentPred, latentTarget)), this.lambd);
    return { loss: tf.add(main, align), main, align };
  }
}

export const caeHeadEntry = defineComponent({
  type: 'CAEHead',
  args: { tokenizer_path: '', lambd: 2, init_cfg: undefined as unknown },
  build: (a) => {
    if (typeof a.tokenizer_path !== 'string' || a.tokenizer_path === '') throw new ConfigError(`CAEHead: tokenizer_path must name the DALL-E encoder file (MMSelfSup's: ${DALLE_URL})`);
    if (typeof a.lambd !== 'number' || !(a.lambd >= 0)) throw new ConfigError(`CAEHead: lambd must be a number >= 0, got ${JSON.stringify(a.lambd)}`);
    return new CAEHead(a.tokenizer_path, a.lambd);
  },
});

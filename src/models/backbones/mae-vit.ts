import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant, normal, xavierUniform } from '../../engine/init.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { nextSeed } from '../../engine/random.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { gatherTokens } from '../tokens.js';
import { VIT_ARG_NAMES, VisionTransformer, type ViTArgs } from './vit.js';

/** What MAE's encoder returns for a batch: visible tokens, which patches were masked, how to unshuffle. */
export interface MaskedEncoding {
  /** `[N, 1 + L_keep, D]`: cls token then the kept patch tokens, after the final norm. */
  latent: Tensor3D;
  /** `[N, L]`: 1 = masked (removed), 0 = kept, in the original patch order. */
  mask: Tensor2D;
  /** `[N, L]` int32: position of each original patch in the shuffled order. */
  idsRestore: Tensor2D;
}

/** Checks MAE's `mask_ratio` (one line naming the key and value). */
export function checkMaskRatio(type: string, ratio: unknown): number {
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
    throw new ConfigError(`${type}: mask_ratio must be in [0, 1), got ${JSON.stringify(ratio)}`);
  }
  return ratio;
}

/**
 * MMSelfSup 0.x MAEViT: the VisionTransformer encoder of MAE, which keeps a random
 * (1 - mask_ratio) share of the patches per image (`forwardMasked`), with fixed sin-cos position
 * embedding, xavier-uniform linears and cls_token ~ N(0, 0.02²). `forward` is the plain ViT.
 */
export class MAEViT extends VisionTransformer {
  readonly maskRatio: number;

  constructor(args: ViTArgs & { mask_ratio?: number }) {
    const { mask_ratio: maskRatio, ...vitArgs } = args;
    super(vitArgs, { typeName: 'MAEViT' });
    this.maskRatio = checkMaskRatio('MAEViT', maskRatio ?? 0.75);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        assignInit(m.weight, xavierUniform(m.weight.shape, 'linear'));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
    assignInit(this.clsToken, normal(this.clsToken.shape, 0, 0.02));
  }

  get numPatches(): number {
    return this.patchResolution[0] * this.patchResolution[1];
  }

  /**
   * x `[N, H, W, C]` -> the encoding of a random (1 - mask_ratio) share of its patches (MAE's `forward`).
   * `noise` `[N, L]` (uniform in [0, 1)) decides which patches are kept, as torch.rand does in
   * MMSelfSup's random_masking; drawn here when not given.
   */
  forwardMasked(x: Tensor4D, noise?: Tensor): MaskedEncoding {
    const [n] = x.shape;
    const l = this.numPatches;
    const d = this.embedDims;
    const keep = Math.floor(l * (1 - this.maskRatio));
    const pos = this.posEmbed as unknown as Tensor3D;
    const patches = tf.add(tf.reshape(this.patchEmbed.projection.forward(x), [n, l, d]), tf.slice(pos, [0, 1, 0], [1, l, d])) as Tensor3D;
    const { idsKeep, idsRestore, mask } = tf.tidy(() => {
      const u = noise ?? tf.randomUniform([n, l], 0, 1, 'float32', nextSeed());
      // argsort(noise) and argsort(ids_shuffle): top-k of the negated values (ascending order)
      const idsShuffle = tf.topk(tf.neg(u), l).indices;
      const restore = tf.topk(tf.neg(tf.cast(idsShuffle, 'float32')), l).indices as Tensor2D;
      const ordered = tf.concat([tf.zeros([n, keep]), tf.ones([n, l - keep])], 1);
      return { idsKeep: tf.slice(idsShuffle, [0, 0], [n, keep]) as Tensor2D, idsRestore: restore, mask: tf.squeeze(gatherTokens(tf.expandDims(ordered, 2) as Tensor3D, restore), [2]) as Tensor2D };
    });
    const kept = gatherTokens(patches, idsKeep);
    const cls = tf.tile(tf.add(this.clsToken, tf.slice(pos, [0, 0, 0], [1, 1, d])), [n, 1, 1]);
    let y = this.dropAfterPos.forward(tf.concat([cls, kept], 1)) as Tensor3D;
    for (let i = 0; i < this.numLayers; i++) y = this.layers.at(i).forward(y);
    if (this.ln1) y = this.ln1.forward(y) as Tensor3D;
    return { latent: y, mask, idsRestore };
  }
}

export function buildMAEViT(args: Record<string, unknown>): MAEViT {
  checkArgs('MAEViT', args, [...VIT_ARG_NAMES, 'mask_ratio']);
  return new MAEViT(args as ViTArgs & { mask_ratio?: number });
}

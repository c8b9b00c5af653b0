import { ConfigError } from '../../errors.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { Batch, StepContext } from '../contracts.js';
import { CAEViT, maskedIndices } from '../backbones/cae-vit.js';
import { CAEHead } from '../heads/cae-head.js';
import { CAENeck } from '../necks/cae-neck.js';
import { stopGradient } from '../ops.js';
import { buildBackbone, buildHead, buildNeck, subConfig } from '../registries.js';
import { batchMask } from './maskfeat.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, copyParams, emaParams } from './base.js';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * MMSelfSup 0.x `CAE` (Context Autoencoder): the CAEViT encodes the visible patches of the
 * ImageNet-normalised image; a teacher copy (EMA of the encoder with `base_momentum`, updated right
 * after it encodes) encodes the masked ones as the alignment target; the CAENeck predicts the masked
 * patches' latents and DALL-E tokens, which the CAEHead scores against the tokenizer's tokens of the
 * second picture (`img_target`, mapped to 0.8·x + 0.1).
 */
export class CAE extends BaseAlgorithm {
  private latentTarget: Tensor3D | null = null;

  constructor(
    readonly backbone: CAEViT & ListModule,
    readonly teacher: CAEViT,
    readonly neck: CAENeck,
    readonly head: CAEHead,
    readonly momentum: number,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('teacher', teacher);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
    copyParams(backbone, teacher);
    teacher.requiresGrad(false);
  }

  override afterInitWeights(): void {
    copyParams(this.backbone, this.teacher);
  }

  async loadAuxiliaryFiles(): Promise<void> {
    await this.head.loadTokenizer();
  }

  /** torchvision Normalize with ImageNet's mean and std on a [0, 1] NHWC image. */
  private normalize(img: Tensor4D): Tensor4D {
    return tf.div(tf.sub(img, tf.tensor1d(MEAN)), tf.tensor1d(STD)) as Tensor4D;
  }

  /** The teacher's encoding of the masked patches (`[N, M, D]`, no gradient): MMSelfSup's `latent_target`. */
  teacherTarget(img: Tensor4D, mask: Tensor): Tensor3D {
    return tf.tidy(() => {
      const masked = maskedIndices(mask, 1, 'CAE');
      const out = this.teacher.forwardVisible(this.normalize(img), masked);
      return tf.slice(out, [0, 1, 0], [-1, -1, -1]) as Tensor3D;
    });
  }

  /** teacher = momentum · teacher + (1 − momentum) · backbone, every parameter (MMSelfSup's momentum_update). */
  momentumUpdate(): void {
    emaParams(this.backbone, this.teacher, this.momentum);
  }

  /**
   * MMSelfSup's forward_train: img NHWC in [0, 1], imgTarget the tokenizer's picture NHWC in [0, 1],
   * mask `[N, h, w]` (1 = masked), latentTarget the teacher's output (computed here when not given).
   */
  lossOf(img: Tensor4D, imgTarget: Tensor4D, mask: Tensor, latentTarget?: Tensor3D): LossDict {
    const x = this.normalize(img);
    const keep = maskedIndices(mask, 0, 'CAE');
    const masked = maskedIndices(mask, 1, 'CAE');
    const unmasked = this.backbone.forwardVisible(x, keep);
    const target = latentTarget ?? this.teacherTarget(img, mask);
    const { logits, latentPred } = this.neck.forward(
      tf.slice(unmasked, [0, 1, 0], [-1, -1, -1]) as Tensor3D,
      this.backbone.patchPosEmbed(masked),
      this.backbone.patchPosEmbed(keep),
    );
    const grid = this.backbone.patchResolution;
    const [th, tw] = [imgTarget.shape[1] / 8, imgTarget.shape[2] / 8];
    if (th !== grid[0] || tw !== grid[1]) {
      throw new ConfigError(`CAE: the tokenizer's picture is ${imgTarget.shape[1]}×${imgTarget.shape[2]}, giving ${th}×${tw} tokens for ${grid[0]}×${grid[1]} patches; set the crop's second_size to 8 × img_size / patch_size = ${8 * grid[0]}`);
    }
    return this.head.forward(tf.add(tf.mul(imgTarget, 0.8), 0.1) as Tensor4D, logits, latentPred, stopGradient(target), masked);
  }

  protected override async beforeStep(views: Tensor[], _ctx: StepContext, batch?: Batch): Promise<void> {
    const mask = batchMask(batch, 'CAE');
    this.latentTarget?.dispose(); // left by a step that failed before afterStep
    try {
      this.latentTarget = this.teacherTarget(views[0] as Tensor4D, mask);
    } finally {
      mask.dispose();
    }
    this.momentumUpdate();
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const t = batch?.img_target as { data: ArrayLike<number>; shape: number[] } | undefined;
    if (!t) throw new ConfigError('CAE needs the tokenizer\'s picture in the batch: use RandomResizedCropAndInterpolationWithTwoPic with second_size in data.train.pipeline');
    const imgTarget = tf.tensor4d(Float32Array.from(t.data), t.shape as [number, number, number, number]);
    return this.lossOf(views[0] as Tensor4D, imgTarget, batchMask(batch, 'CAE'), this.latentTarget ?? undefined);
  }

  protected override async afterStep(): Promise<void> {
    this.latentTarget?.dispose();
    this.latentTarget = null;
  }
}

export const caeEntry = defineComponent({
  type: 'CAE',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, base_momentum: 0, init_cfg: undefined },
  build: (a) => {
    const backbone = buildBackbone('CAE', a.backbone);
    if (!(backbone instanceof CAEViT)) throw new ConfigError(`CAE: model.backbone must be a CAEViT, got ${String((a.backbone as unknown as Record<string, unknown>).type)}`);
    const teacher = buildBackbone('CAE', a.backbone) as unknown as CAEViT;
    const neck = buildNeck('CAE', subConfig('CAE', 'neck', a.neck)) as unknown as CAENeck;
    if (!(neck instanceof CAENeck)) throw new ConfigError(`CAE: model.neck must be a CAENeck, got ${String((a.neck as unknown as Record<string, unknown>).type)}`);
    const head = buildHead<CAEHead>('CAE', a.head);
    if (!(head instanceof CAEHead)) throw new ConfigError(`CAE: model.head must be a CAEHead, got ${String((a.head as unknown as Record<string, unknown>).type)}`);
    if (neck.args.embed_dims !== backbone.embedDims) throw new ConfigError(`CAE: model.neck.embed_dims ${neck.args.embed_dims} must equal the backbone's embed_dims ${backbone.embedDims}`);
    if (neck.args.patch_size !== backbone.patchSize) throw new ConfigError(`CAE: model.neck.patch_size ${neck.args.patch_size} must equal model.backbone.patch_size ${backbone.patchSize}`);
    if (neck.args.mask_tokens_num > backbone.numPatches) throw new ConfigError(`CAE: model.neck.mask_tokens_num ${neck.args.mask_tokens_num} exceeds the ${backbone.numPatches} patches of the backbone`);
    const m = a.base_momentum;
    if (typeof m !== 'number' || !(m >= 0 && m <= 1)) throw new ConfigError(`CAE: base_momentum must be in [0, 1], got ${JSON.stringify(m)}`);
    return new CAE(backbone as CAEViT & ListModule, teacher, neck, head, m);
  },
});

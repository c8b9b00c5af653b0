import { Sequential } from '../../engine/layers/container.js';
import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { StepContext } from '../contracts.js';
import type { MoCoV3Head } from '../heads/mocov3-head.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, copyParams, emaParams } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `MoCoV3` (Chen et al. 2021, https://arxiv.org/abs/2104.02057): `base_encoder =
 * [backbone, neck]` and a `momentum_encoder` copy; loss `head(q1, k2) + head(q2, k1)` (symmetric),
 * with `MoCoV3Head` holding the predictor. The momentum encoder is updated after each iteration by
 * `MomentumUpdateHook` (cosine schedule from `base_momentum` to 1), not inside the step.
 */
export class MoCoV3 extends BaseAlgorithm {
  readonly backbone: ListModule;
  readonly neck: ListModule;
  readonly baseEncoder: Sequential;
  readonly momentumEncoder: Sequential;
  momentum: number;
  /** The momentum encoder's outputs of both views, gathered over ranks (no gradient). */
  private keys: Tensor[] = [];

  constructor(
    makeBackbone: () => ListModule,
    makeNeck: () => ListModule,
    readonly head: MoCoV3Head,
    readonly baseMomentum = 0.99,
  ) {
    super();
    this.momentum = baseMomentum;
    this.backbone = makeBackbone();
    this.neck = makeNeck();
    this.baseEncoder = this.registerModule('base_encoder', new Sequential(this.backbone, this.neck));
    this.momentumEncoder = this.registerModule('momentum_encoder', new Sequential(makeBackbone(), makeNeck()));
    copyParams(this.baseEncoder, this.momentumEncoder);
    this.momentumEncoder.requiresGrad(false);
    this.registerModule('head', head);
  }

  /** momentum_encoder = m·momentum_encoder + (1-m)·base_encoder (MomentumUpdateHook, after each iteration). */
  momentumUpdate(): void {
    emaParams(this.baseEncoder, this.momentumEncoder, this.momentum);
  }

  override afterInitWeights(): void {
    copyParams(this.baseEncoder, this.momentumEncoder);
  }

  override stateDictAliases(): Record<string, string> {
    return { backbone: 'base_encoder.0', neck: 'base_encoder.1' };
  }

  protected override async beforeStep(views: Tensor[], ctx: StepContext): Promise<void> {
    if (views.length !== 2) throw new ConfigError(`MoCoV3 needs 2 views per image, got ${views.length}`);
    const local = views.map((v) => tf.tidy(() => (this.momentumEncoder.forward(v) as Tensor[])[0]));
    if (ctx.dist.worldSize === 1) {
      this.keys = local;
      return;
    }
    for (const k of local) {
      const all = await ctx.dist.allGather(k);
      this.keys.push(tf.concat(all, 0));
      for (const t of all) t.dispose();
      k.dispose();
    }
  }

  protected override async afterStep(): Promise<void> {
    for (const k of this.keys) k.dispose();
    this.keys = [];
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, ctx?: StepContext): LossDict {
    const rank = ctx?.dist.rank ?? 0;
    const [q1, q2] = views.map((v) => (this.baseEncoder.forward(v) as Tensor[])[0]);
    const [k1, k2] = this.keys;
    return { loss: tf.add(this.head.forward(q1, k2, rank).loss, this.head.forward(q2, k1, rank).loss) };
  }
}

export const moCoV3Entry = defineComponent({
  type: 'MoCoV3',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, base_momentum: 0.99, init_cfg: undefined },
  build: (a) =>
    new MoCoV3(() => buildBackbone('MoCoV3', a.backbone), () => buildNeck('MoCoV3', a.neck), buildHead<MoCoV3Head>('MoCoV3', a.head), a.base_momentum as number),
});

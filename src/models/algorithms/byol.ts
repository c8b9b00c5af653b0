import { Sequential } from '../../engine/layers/container.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { LatentPredictHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, copyParams, emaParams } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `BYOL` (Grill et al. 2020, https://arxiv.org/abs/2006.07733): online net
 * `[backbone, neck]` + predictor head, target net updated by EMA (`momentum`, scheduled by
 * `BYOLHook`/`MomentumUpdateHook` from `base_momentum`). Loss = 2·(head(v1→t2) + head(v2→t1)), as
 * MMSelfSup 0.x writes it (the symmetrised 2 − 2·cos form, up to a constant; range [−4, 4]).
 */
export class BYOL extends BaseAlgorithm {
  readonly backbone: ListModule;
  readonly neck: ListModule;
  readonly onlineNet: Sequential;
  readonly targetNet: Sequential;
  momentum: number;
  private targets: Tensor[] = [];

  constructor(
    makeBackbone: () => ListModule,
    makeNeck: () => ListModule,
    readonly head: LatentPredictHead,
    readonly baseMomentum = 0.996,
  ) {
    super();
    this.momentum = baseMomentum;
    this.backbone = makeBackbone();
    this.neck = makeNeck();
    this.onlineNet = this.registerModule('online_net', new Sequential(this.backbone, this.neck));
    this.targetNet = this.registerModule('target_net', new Sequential(makeBackbone(), makeNeck()));
    copyParams(this.onlineNet, this.targetNet);
    this.targetNet.requiresGrad(false);
    this.registerModule('head', head);
  }

  /** target = m·target + (1-m)·online (called by the momentum hook after each iteration). */
  momentumUpdate(): void {
    emaParams(this.onlineNet, this.targetNet, this.momentum);
  }

  protected override async beforeStep(views: Tensor[]): Promise<void> {
    this.targets = views.map((v) => tf.tidy(() => (this.targetNet.forward(v) as Tensor[])[0]));
  }

  protected override async afterStep(): Promise<void> {
    for (const t of this.targets) t.dispose();
    this.targets = [];
  }

  override afterInitWeights(): void {
    copyParams(this.onlineNet, this.targetNet);
  }

  override stateDictAliases(): Record<string, string> {
    return { backbone: 'online_net.0', neck: 'online_net.1' };
  }

  forwardTrain(views: Tensor[]): LossDict {
    const [p1, p2] = views.map((v) => (this.onlineNet.forward(v) as Tensor[])[0]);
    const [t1, t2] = this.targets;
    return { loss: tf.mul(tf.add(this.head.forward(p1, t2).loss, this.head.forward(p2, t1).loss), 2) };
  }
}

export const byolEntry = defineComponent({
  type: 'BYOL',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, base_momentum: 0.996, init_cfg: undefined },
  build: (a) =>
    new BYOL(() => buildBackbone('BYOL', a.backbone), () => buildNeck('BYOL', a.neck), buildHead<LatentPredictHead>('BYOL', a.head), a.base_momentum as number),
});

import { Sequential } from '../../engine/layers/container.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { LatentPredictHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `SimSiam` (Chen & He 2021, https://arxiv.org/abs/2011.10566): `encoder = [backbone, neck]`,
 * predictor in the head, loss = ½(head(z1, z2) + head(z2, z1)) with stop-gradient targets.
 */
export class SimSiam extends BaseAlgorithm {
  readonly encoder: Sequential;

  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule,
    readonly head: LatentPredictHead,
  ) {
    super();
    this.encoder = this.registerModule('encoder', new Sequential(backbone, neck));
    this.registerModule('head', head);
  }

  override stateDictAliases(): Record<string, string> {
    return { backbone: 'encoder.0', neck: 'encoder.1' };
  }

  forwardTrain(views: Tensor[]): LossDict {
    const [z1, z2] = views.map((v) => (this.encoder.forward(v) as Tensor[])[0]);
    const l1 = this.head.forward(z1, z2).loss;
    const l2 = this.head.forward(z2, z1).loss;
    return { loss: tf.mul(tf.add(l1, l2), 0.5) };
  }
}

export const simsiamEntry = defineComponent({
  type: 'SimSiam',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => new SimSiam(buildBackbone('SimSiam', a.backbone), buildNeck('SimSiam', a.neck), buildHead<LatentPredictHead>('SimSiam', a.head)),
});

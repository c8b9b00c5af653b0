import { ConfigError } from '../../errors.js';
import { assignInit, constant, truncNormal } from '../../engine/init.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import type { Tensor } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { Augments } from '../augments/batch-mix.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';
import type { ListModule } from './base.js';
import { Classification, type ClassificationHead } from './classification.js';

/**
 * MMSelfSup 0.x `MMClsImageClassifierWrapper` (its Swin fine-tuning configs): an mmcls image
 * classifier, backbone -> neck -> head, with mmcls batch augments (`train_cfg.augments`) in training.
 */
export class MMClsImageClassifierWrapper extends Classification {
  constructor(
    backbone: ListModule,
    readonly neck: ListModule,
    head: ClassificationHead,
    augments: Augments | null,
  ) {
    super(backbone, head, augments);
    this.registerModule('neck', neck);
  }

  override extractFeat(x: Tensor): Tensor[] {
    return this.neck.forward(this.backbone.forward(x));
  }
}

/** The wrapper's `init_cfg` list as mmcv applies it to every submodule: TruncNormal on Linear, Constant on LayerNorm. */
function applyInitCfg(model: MMClsImageClassifierWrapper, initCfg: unknown): void {
  if (initCfg === undefined || initCfg === null) return;
  for (const c of (Array.isArray(initCfg) ? initCfg : [initCfg]) as Record<string, unknown>[]) {
    const layers = ([] as unknown[]).concat(c.layer ?? []);
    const known = (c.type === 'TruncNormal' && layers.every((l) => l === 'Linear')) || (c.type === 'Constant' && layers.every((l) => l === 'LayerNorm'));
    if (!known || layers.length === 0) throw new ConfigError(`MMClsImageClassifierWrapper: init_cfg ${JSON.stringify(c)} is not supported; TruncNormal on Linear and Constant on LayerNorm are`);
    for (const [, m] of model.namedModules()) {
      if (c.type === 'TruncNormal' && m instanceof Linear) {
        assignInit(m.weight, truncNormal(m.weight.shape, (c.mean as number) ?? 0, (c.std as number) ?? 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, (c.bias as number) ?? 0));
      } else if (c.type === 'Constant' && m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, c.val as number));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, (c.bias as number) ?? 0));
      }
    }
  }
}

export const mmclsClassifierWrapperEntry = defineComponent({
  type: 'MMClsImageClassifierWrapper',
  args: { backbone: REQUIRED, neck: undefined as unknown, head: REQUIRED, pretrained: undefined as unknown, train_cfg: undefined as unknown, init_cfg: undefined as unknown },
  build: (a) => {
    if (a.pretrained) throw new ConfigError('MMClsImageClassifierWrapper: pretrained is deprecated in mmcls; load weights with backbone.init_cfg=dict(type=\'Pretrained\', checkpoint=...)');
    if (!a.neck) throw new ConfigError('MMClsImageClassifierWrapper needs a neck (e.g. mmcls.GlobalAveragePooling)');
    const trainCfg = (a.train_cfg ?? {}) as Record<string, unknown>;
    const augments = trainCfg.augments ? new Augments(trainCfg.augments) : null;
    const model = new MMClsImageClassifierWrapper(buildBackbone('MMClsImageClassifierWrapper', a.backbone), buildNeck('MMClsImageClassifierWrapper', a.neck) as unknown as ListModule,
      buildHead<ClassificationHead>('MMClsImageClassifierWrapper', a.head), augments);
    applyInitCfg(model, a.init_cfg);
    return model;
  },
});

import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';

/** mmcls `GlobalAveragePooling` (dim=2): each NHWC `[N, H, W, C]` backbone output -> `[N, C]`. */
export class GlobalAveragePooling extends Module {
  forward(inputs: Tensor | Tensor[]): Tensor[] {
    return (Array.isArray(inputs) ? inputs : [inputs]).map((x) => (x.rank === 4 ? tf.mean(x, [1, 2]) : x));
  }
}

export const globalAveragePoolingEntry = defineComponent({
  type: 'mmcls.GlobalAveragePooling',
  args: { dim: 2 },
  build: (a) => {
    if (a.dim !== 2) throw new ConfigError(`mmcls.GlobalAveragePooling: dim ${JSON.stringify(a.dim)} is not supported; only 2 (images)`);
    return new GlobalAveragePooling() as ListModule;
  },
});

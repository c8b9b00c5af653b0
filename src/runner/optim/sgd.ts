import { SslError } from '../../errors.js';
import { fusedSgdUpdate } from '../../engine/ops/fused-updates.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Param, ParamGroup } from './optimizer.js';
import { hyper, Optimizer } from './optimizer.js';

/**
 * torch.optim.SGD: `d = g + wd·p`; momentum buffer `b = m·b + (1-dampening)·d` (first step `b = d`);
 * nesterov `d = d + m·b`, else `d = b`; `p -= lr·d`.
 */
export class SGD extends Optimizer {
  readonly type = 'SGD';

  constructor(groups: ParamGroup[]) {
    super(groups);
    for (const g of groups) {
      if (g.nesterov && (hyper(g, 'momentum', 0) <= 0 || hyper(g, 'dampening', 0) !== 0)) {
        throw new SslError('SGD: nesterov momentum requires a momentum and zero dampening');
      }
    }
  }

  protected update(p: Param, grad: Tensor, g: ParamGroup): Tensor {
    const wd = hyper(g, 'weight_decay', 0);
    const momentum = hyper(g, 'momentum', 0);
    const dampening = hyper(g, 'dampening', 0);
    const prevBuf = this.getSlot(p.name, 'momentum_buffer');
    const fused = fusedSgdUpdate(p.variable, grad, prevBuf, { lr: hyper(g, 'lr'), weightDecay: wd, momentum, dampening, nesterov: Boolean(g.nesterov) });
    if (fused) {
      if (fused[1]) this.setSlot(p.name, 'momentum_buffer', fused[1]);
      return fused[0];
    }
    let d = wd !== 0 ? tf.add(grad, tf.mul(p.variable, wd)) : grad;
    if (momentum !== 0) {
      const prev = prevBuf;
      const buf = prev ? tf.add(tf.mul(prev, momentum), tf.mul(d, 1 - dampening)) : tf.clone(d);
      this.setSlot(p.name, 'momentum_buffer', buf);
      d = g.nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
    }
    return tf.sub(p.variable, tf.mul(d, hyper(g, 'lr')));
  }
}

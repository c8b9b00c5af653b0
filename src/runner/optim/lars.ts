import { fusedSgdUpdate } from '../../engine/ops/fused-updates.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Param, ParamGroup } from './optimizer.js';
import { hyper, Optimizer } from './optimizer.js';

/**
 * MMSelfSup's `LARS` (You et al. 2017, https://arxiv.org/abs/1708.03888): a layer-wise trust ratio
 * `local_lr = eta·‖p‖ / (‖g‖ + wd·‖p‖ + eps)` (1 when either norm is 0 or the group has
 * `lars_exclude`), then SGD-with-momentum on `d = (g + wd·p)·local_lr·lr`, `p -= d`.
 */
export class LARS extends Optimizer {
  readonly type = 'LARS';

  constructor(
    groups: ParamGroup[],
    readonly eps = 1e-8,
  ) {
    super(groups);
  }

  protected update(p: Param, grad: Tensor, g: ParamGroup): Tensor {
    const wd = hyper(g, 'weight_decay', 0);
    const momentum = hyper(g, 'momentum', 0);
    const dampening = hyper(g, 'dampening', 0);
    const eta = hyper(g, 'eta', 0.001);
    const lars = { eta, eps: this.eps, exclude: Boolean(g.lars_exclude) };
    const fused = fusedSgdUpdate(p.variable, grad, this.getSlot(p.name, 'momentum_buffer'), { lr: hyper(g, 'lr'), weightDecay: wd, momentum, dampening, nesterov: Boolean(g.nesterov), lars });
    if (fused) {
      if (fused[1]) this.setSlot(p.name, 'momentum_buffer', fused[1]);
      return fused[0];
    }
    let localLr: Tensor | number = 1;
    if (!g.lars_exclude) {
      const wn = tf.norm(p.variable);
      const gn = tf.norm(grad);
      const ratio = tf.div(tf.mul(wn, eta), tf.add(tf.add(gn, tf.mul(wn, wd)), this.eps));
      const ok = tf.logicalAnd(tf.notEqual(wn, 0), tf.notEqual(gn, 0));
      localLr = tf.where(ok, ratio, tf.onesLike(ratio));
    }
    const actualLr = tf.mul(localLr, hyper(g, 'lr'));
    let d = tf.mul(tf.add(grad, tf.mul(p.variable, wd)), actualLr);
    if (momentum !== 0) {
      const prev = this.getSlot(p.name, 'momentum_buffer');
      const buf = prev ? tf.add(tf.mul(prev, momentum), tf.mul(d, 1 - dampening)) : tf.clone(d);
      this.setSlot(p.name, 'momentum_buffer', buf);
      d = g.nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
    }
    return tf.sub(p.variable, d);
  }
}

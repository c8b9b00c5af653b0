import { fusedAdamUpdate } from '../../engine/ops/fused-updates.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Param, ParamGroup } from './optimizer.js';
import { hyper, Optimizer } from './optimizer.js';

/**
 * torch.optim.Adam / AdamW. Adam adds `wd·p` to the gradient (L2); AdamW decays the weights
 * directly (`p *= 1 - lr·wd`, decoupled). Then `m = b1·m + (1-b1)·g`, `v = b2·v + (1-b2)·g²`,
 * `p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)` (amsgrad: v = running max).
 */
export class Adam extends Optimizer {
  readonly type: string = 'Adam';
  protected readonly decoupled: boolean = false;

  protected update(p: Param, grad: Tensor, g: ParamGroup): Tensor {
    const lr = hyper(g, 'lr');
    const wd = hyper(g, 'weight_decay', 0);
    const [b1, b2] = g.betas ?? [0.9, 0.999];
    const eps = hyper(g, 'eps', 1e-8);
    const t = (this.steps.get(p.name) ?? 0) + 1;
    this.steps.set(p.name, t);
    const state = { m: this.getSlot(p.name, 'exp_avg'), v: this.getSlot(p.name, 'exp_avg_sq'), vmax: this.getSlot(p.name, 'max_exp_avg_sq') };
    const amsgrad = Boolean(g.amsgrad);
    const fused = fusedAdamUpdate(p.variable, grad, state, { lr, weightDecay: wd, beta1: b1, beta2: b2, eps, step: t, decoupled: this.decoupled, amsgrad });
    if (fused) {
      this.setSlot(p.name, 'exp_avg', fused[1]);
      this.setSlot(p.name, 'exp_avg_sq', fused[2]);
      if (amsgrad) this.setSlot(p.name, 'max_exp_avg_sq', fused[3]);
      return fused[0];
    }
    let param: Tensor = p.variable;
    let gr = grad;
    if (wd !== 0) {
      if (this.decoupled) param = tf.mul(param, 1 - lr * wd);
      else gr = tf.add(gr, tf.mul(param, wd));
    }
    const m0 = this.getSlot(p.name, 'exp_avg');
    const v0 = this.getSlot(p.name, 'exp_avg_sq');
    const m = m0 ? tf.add(tf.mul(m0, b1), tf.mul(gr, 1 - b1)) : tf.mul(gr, 1 - b1);
    const v = v0 ? tf.add(tf.mul(v0, b2), tf.mul(tf.square(gr), 1 - b2)) : tf.mul(tf.square(gr), 1 - b2);
    this.setSlot(p.name, 'exp_avg', m);
    this.setSlot(p.name, 'exp_avg_sq', v);
    let vHat = v;
    if (g.amsgrad) {
      const max0 = this.getSlot(p.name, 'max_exp_avg_sq');
      vHat = max0 ? tf.maximum(max0, v) : tf.clone(v);
      this.setSlot(p.name, 'max_exp_avg_sq', vHat);
    }
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const denom = tf.add(tf.div(tf.sqrt(vHat), Math.sqrt(bc2)), eps);
    return tf.sub(param, tf.mul(tf.div(m, denom), lr / bc1));
  }
}

/** torch.optim.AdamW (decoupled weight decay, default 1e-2). */
export class AdamW extends Adam {
  override readonly type = 'AdamW';
  protected override readonly decoupled = true;
}

import { BatchNorm } from '../../engine/layers/batch-norm.js';
import { normal } from '../../engine/init.js';
import { Linear } from '../../engine/layers/linear.js';
import type { Module } from '../../engine/module.js';
import { tf } from '../../engine/tf.js';

/** mmcv `Constant(val=1, layer=['_BatchNorm'])`: BN weight 1, bias 0 (already the defaults). */
export function constantBnInit(m: Module): void {
  for (const [, sub] of m.namedModules()) {
    if (sub instanceof BatchNorm) {
      tf.tidy(() => {
        sub.weight?.assign(tf.onesLike(sub.weight));
        sub.bias?.assign(tf.zerosLike(sub.bias));
      });
    }
  }
}

/** mmcv `Normal(std, layer='Linear')`: weights N(0, std²), biases 0. */
export function normalLinearInit(m: Module, std: number): void {
  for (const [, sub] of m.namedModules()) {
    if (sub instanceof Linear) {
      const w = normal(sub.weight.shape, 0, std);
      sub.weight.assign(w);
      w.dispose();
      if (sub.bias) tf.tidy(() => sub.bias!.assign(tf.zerosLike(sub.bias!)));
    }
  }
}

/**
 * The `init_cfg` forms MMSelfSup necks use on Linear layers: `{type: 'Normal', std, layer: 'Linear'}`
 * (weights N(0, std²), bias 0); `null`/absent keeps PyTorch's default. Others are rejected.
 */
export function applyLinearInitCfg(m: Module, initCfg: unknown, where: string): void {
  if (initCfg === undefined || initCfg === null) return;
  const cfgs = Array.isArray(initCfg) ? initCfg : [initCfg];
  for (const c of cfgs as Record<string, unknown>[]) {
    const layers = ([] as unknown[]).concat(c.layer ?? []);
    if (c.type === 'Normal' && layers.includes('Linear')) normalLinearInit(m, (c.std as number) ?? 1);
    else if (c.type === 'Constant' && layers.every((l) => ['_BatchNorm', 'GroupNorm', 'BatchNorm', 'BatchNorm1d'].includes(l as string))) constantBnInit(m);
    else throw new Error(`${where}: init_cfg ${JSON.stringify(c)} is not supported (Normal on Linear, Constant on _BatchNorm)`);
  }
}

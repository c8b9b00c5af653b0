import { ConfigError } from '../errors.js';
import { BatchNorm } from '../engine/layers/batch-norm.js';

export interface NormCfg {
  type?: string;
  requires_grad?: boolean;
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/** mmcv `build_norm_layer` for the 1-D norms necks use: `BN`/`BN1d`/`SyncBN` -> BatchNorm over the last axis. */
export function buildNorm1d(cfg: NormCfg | undefined, channels: number, overrides: { affine?: boolean } = {}): BatchNorm {
  const c = { type: 'SyncBN', ...(cfg ?? {}) };
  if (!['BN', 'BN1d', 'SyncBN', 'BN2d'].includes(c.type)) {
    throw new ConfigError(`norm_cfg type "${c.type}" is not supported in necks; use BN, BN1d or SyncBN`);
  }
  const bn = new BatchNorm(channels, { eps: c.eps, momentum: c.momentum, affine: overrides.affine ?? c.affine ?? true, sync: c.type === 'SyncBN' });
  if (c.requires_grad === false) bn.requiresGrad(false);
  return bn;
}

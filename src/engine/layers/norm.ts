import type { Module } from '../module.js';
import { BatchNorm } from './batch-norm.js';
import { LayerNorm } from './layer-norm.js';

/** mmcv norm_cfg: `{type: 'BN'|'BN1d'|'BN2d'|'SyncBN'|'LN', eps?, momentum?, requires_grad?}`. */
export interface NormCfg {
  type: string;
  eps?: number;
  momentum?: number;
  requires_grad?: boolean;
  /** BN only: learnable weight and bias (PyTorch default true). */
  affine?: boolean;
}

/** mmcv build_norm_layer: the layer plus mmcv's abbreviation ('bn' or 'ln') used in names like `bn1`, `ln1`. */
export function buildNorm(cfg: NormCfg, numFeatures: number): { abbr: 'bn' | 'ln'; layer: Module } {
  let layer: Module;
  let abbr: 'bn' | 'ln';
  switch (cfg.type) {
    case 'BN':
    case 'BN1d':
    case 'BN2d':
    case 'SyncBN':
    case 'MMSyncBN':
      abbr = 'bn';
      layer = new BatchNorm(numFeatures, { eps: cfg.eps, momentum: cfg.momentum, affine: cfg.affine, sync: cfg.type !== 'BN' && cfg.type !== 'BN1d' && cfg.type !== 'BN2d' });
      break;
    case 'LN':
      abbr = 'ln';
      layer = new LayerNorm(numFeatures, cfg.eps ?? 1e-5);
      break;
    default:
      throw new Error(`unsupported norm_cfg type "${cfg.type}" (BN, SyncBN, LN)`);
  }
  if (cfg.requires_grad === false) layer.requiresGrad(false);
  return { abbr, layer };
}

import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { AdaptiveAvgPool2d, AvgPool2d } from '../../engine/layers/pooling.js';
import type { Tensor4D } from '../../engine/tf.js';

/**
 * MMSelfSup `MultiPooling`: one average pool per backbone stage, sized so every stage gives about 9000
 * values at 224x224 input (resnet50: stem 64x12x12, layer1 256x6x6, layer2 512x4x4, layer3 1024x3x3, layer4 2048x2x2).
 * `specified`: AvgPool2d with the fixed kernel/stride/padding below; `adaptive`: AdaptiveAvgPool2d to POOL_SIZES.
 */
export class MultiPooling extends Module {
  static readonly POOL_PARAMS: Record<string, { kernel_size: number; stride: number; padding: number }[]> = {
    resnet50: [
      { kernel_size: 10, stride: 10, padding: 4 },
      { kernel_size: 16, stride: 8, padding: 0 },
      { kernel_size: 13, stride: 5, padding: 0 },
      { kernel_size: 8, stride: 3, padding: 0 },
      { kernel_size: 6, stride: 1, padding: 0 },
    ],
  };
  static readonly POOL_SIZES: Record<string, number[]> = { resnet50: [12, 6, 4, 3, 2] };
  static readonly POOL_DIMS: Record<string, number[]> = { resnet50: [9216, 9216, 8192, 9216, 8192] };

  readonly pools: Module[];

  constructor(poolType: string = 'adaptive', readonly inIndices: number[] = [0], backbone: string = 'resnet50') {
    super();
    if (poolType !== 'adaptive' && poolType !== 'specified') throw new ConfigError(`MultiPooling: pool_type must be 'adaptive' or 'specified', got ${JSON.stringify(poolType)}`);
    if (backbone !== 'resnet50') throw new ConfigError(`MultiPooling: backbone must be 'resnet50' (MMSelfSup's only pooling table), got ${JSON.stringify(backbone)}`);
    for (const i of inIndices) if (!(i >= 0 && i < 5)) throw new ConfigError(`MultiPooling: in_indices must be in 0..4, got ${i}`);
    this.pools = inIndices.map((i) => {
      if (poolType === 'adaptive') return new AdaptiveAvgPool2d(MultiPooling.POOL_SIZES[backbone][i]);
      const p = MultiPooling.POOL_PARAMS[backbone][i];
      return new AvgPool2d(p.kernel_size, p.stride, p.padding);
    });
  }

  /** Backbone maps (NHWC, in out_indices order) -> pooled maps; pairs pool k with map k, as `zip` does. */
  forward(x: Tensor4D[]): Tensor4D[] {
    const n = Math.min(this.pools.length, x.length);
    return Array.from({ length: n }, (_, k) => (this.pools[k] as AvgPool2d).forward(x[k]));
  }
}

import { ConfigError } from '../errors.js';
import { parseConfigName } from './naming.js';
import type { ConfigDict } from './types.js';
import { isDict } from './types.js';

/**
 * MMSelfSup's linear scaling rule (`--auto-scale-lr`): lr × (total batch / the batch the config was
 * written for). The base batch comes from `auto_scale_lr.base_batch_size`, else from the config
 * file name (`8xb32` = 256). Total batch = samples_per_gpu × world size.
 */
export function autoScaleLr(cfg: ConfigDict, configFile: string, worldSize: number): { cfg: ConfigDict; from: number; to: number; factor: number } {
  const asl = isDict(cfg.auto_scale_lr) ? cfg.auto_scale_lr : {};
  const base = typeof asl.base_batch_size === 'number' ? asl.base_batch_size : parseConfigName(configFile).totalBatch;
  if (base === undefined) {
    throw new ConfigError(`--auto-scale-lr needs the batch the config was written for: set auto_scale_lr.base_batch_size, or name the file like x_resnet50_8xb32-...`);
  }
  const data = isDict(cfg.data) ? cfg.data : {};
  const perGpu = data.samples_per_gpu;
  if (typeof perGpu !== 'number') throw new ConfigError('--auto-scale-lr needs data.samples_per_gpu in the config');
  const optimizer = isDict(cfg.optimizer) ? cfg.optimizer : undefined;
  if (!optimizer || typeof optimizer.lr !== 'number') throw new ConfigError('--auto-scale-lr needs optimizer.lr in the config');
  const factor = (perGpu * worldSize) / base;
  const to = optimizer.lr * factor;
  return { cfg: { ...cfg, optimizer: { ...optimizer, lr: to } }, from: optimizer.lr, to, factor };
}

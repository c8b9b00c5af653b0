import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobSpec } from '../../../launchers/launcher.js';

/** A small resolved config, as prepareTrainJob writes it. */
export const SAMPLE_CONFIG = {
  model: { type: 'SimCLR', backbone: { type: 'ResNet', depth: 18 }, neck: { type: 'NonLinearNeck', in_channels: 512 }, head: { type: 'ContrastiveHead', temperature: 0.1 } },
  data: { samples_per_gpu: 4, train: { type: 'MultiViewDataset', data_source: { type: 'SyntheticShapes' } } },
  optimizer: { type: 'LARS', lr: 0.3, momentum: 0.9, weight_decay: 1e-6 },
  runner: { type: 'EpochBasedRunner', max_epochs: 1 },
  work_dir: '/home/me/work_dirs/simclr_tiny',
};

/** A JobSpec whose resolved config file exists in `dir`. */
export function sampleJob(dir: string, over: Partial<JobSpec> = {}): JobSpec {
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'simclr_tiny.json');
  writeFileSync(configPath, JSON.stringify(SAMPLE_CONFIG, null, 2));
  return {
    name: 'simclr_resnet18_8xb32-coslr-200e_in1k',
    runId: 'mabc12-7f3e9a',
    workDir: '/home/me/work_dirs/simclr_tiny',
    configPath,
    workerArgs: ['--seed', '0', '--port', '29500'],
    nodes: 2,
    procsPerNode: 1,
    gpusPerNode: 8,
    port: 29500,
    env: {},
    ...over,
  };
}

import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { writeTree } from '../helpers/tmp-files.js';

export const SIMCLR = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
export const BYOL = join(REPO_ROOT, 'configs/selfsup/byol/byol_resnet18-cifar_1xb8-2it_synthetic.yaml');

/** A sweep file (and any other files) in a fresh temp dir; returns the dir and the sweep path. */
export function sweepDir(sweep: Record<string, unknown>, files: Record<string, string> = {}): { dir: string; file: string } {
  const dir = writeTree({ 'sweep.yaml': stringify(sweep), ...files });
  return { dir, file: join(dir, 'sweep.yaml') };
}

/** The synthetic sweep of the tests: 2 configs x 2 lr, train -> kNN, deterministic, 2 at once, local launcher. */
export const SMOKE = {
  name: 'smoke',
  configs: [SIMCLR, BYOL],
  matrix: { 'optimizer.lr': [0.05, 0.1] },
  stages: [{ name: 'train', args: ['--seed', '0', '--deterministic', '--threads', '1'] }, 'eval knn'],
  launcher: 'local',
  launcher_options: { gpus: 1 },
  max_parallel: 2,
  timeout: 300,
  metrics: ['knn.top1', 'loss', 'images_per_s', 'wall_time'],
};

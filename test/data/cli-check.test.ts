/** `ssl data check` through the built CLI (needs npm run build). */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';

describe('ssl data check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssl-cli-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints shapes, ranges and images/s and writes data_check.png with 1 worker', () => {
    const r = runCli(['data', 'check', 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml', '--work-dir', dir, '--workers', '1', '--num-batches', '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/view 0: shape \[8, 32, 32, 3\] min -?\d/);
    expect(r.stdout).toMatch(/view 1: shape \[8, 32, 32, 3\]/);
    expect(r.stdout).toMatch(/2 batches in .* images\/s/);
    expect(existsSync(join(dir, 'data_check.png'))).toBe(true);
  });

  it('fails with one line for a batch larger than the dataset with drop_last', () => {
    const cfg = join(dir, 'big.yaml');
    writeFileSync(cfg, 'data:\n  samples_per_gpu: 64\n  drop_last: true\n  train:\n    type: SingleViewDataset\n    data_source: {type: SyntheticShapes, num_samples: 10}\n    pipeline: [{type: ToTensor}]\n');
    const r = runCli(['data', 'check', cfg, '--work-dir', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Error: samples_per_gpu 64 is larger than the 10 samples per process/);
  });
});

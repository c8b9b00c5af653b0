/** Issue 23: the reproduction contract in every run header and JSON log; the warning when the config name's topology differs. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatContract, reproductionContract, topologyWarning } from '../../src/runner/reproduction.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { captured, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

const backend = { name: 'native', precision: 'fp32', threads: 4 };

describe('the contract', () => {
  test('effective batch = ranks x per-rank batch x accumulation; lr is the optimizer base lr as configured (after scaling)', () => {
    const c = reproductionContract({ cfg: { data: { samples_per_gpu: 32 }, optimizer_config: { update_interval: 4 }, optimizer: { type: 'LARS', lr: 0.6 } }, worldSize: 2, groupLrs: [0.6, 0.6], backend });
    expect(c).toEqual({ ranks: 2, per_rank_batch: 32, accumulation: 4, effective_batch: 256, lr: 0.6, backend: 'native', precision: 'fp32', threads: 4 });
    expect(formatContract(c)).toBe('Reproduction: 2 ranks x 32 images x 4 accumulation steps = effective batch 256; lr 0.6; backend native (fp32, 4 threads)');
  });

  test('topology warning: names both topologies and their effective batches', () => {
    const launch = reproductionContract({ cfg: { data: { samples_per_gpu: 32 }, optimizer: { lr: 0.3 } }, worldSize: 2, groupLrs: [0.3], backend });
    expect(topologyWarning('configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml', launch)).toBe(
      'the config name says 8xb32 (effective batch 256), this launch is 2 ranks x 32 (effective batch 64): results will differ from the published ones unless the lr accounts for it (--auto-scale-lr scales lr 0.3 by 64/256)',
    );
    const accumulated = reproductionContract({ cfg: { data: { samples_per_gpu: 32 }, optimizer_config: { update_interval: 4 }, optimizer: { lr: 0.3 } }, worldSize: 2, groupLrs: [0.3], backend });
    expect(topologyWarning('x_resnet50_8xb32-coslr-200e_in1k.py', accumulated)).toMatch(/this launch is 2 ranks x 32 x 4 accumulation steps \(effective batch 256\): the same effective batch/);
    const matching = reproductionContract({ cfg: { data: { samples_per_gpu: 32 }, optimizer: { lr: 0.3 } }, worldSize: 8, groupLrs: [0.3], backend });
    expect(topologyWarning('x_resnet50_8xb32-coslr-200e_in1k.py', matching)).toBeUndefined();
    expect(topologyWarning('my_config.yaml', launch)).toBeUndefined();
  });
});

describe('a run', () => {
  const run = async (mutate: (c: Record<string, any>) => void) => {
    const dir = tempDir();
    // the name carries the tiny config's topology (1xb8)
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.data.train.data_source.num_samples = 8;
      mutate(c);
    }, 'simclr_resnet18-cifar_1xb8-2it_synthetic.json');
    const w = join(dir, 'w');
    const r = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm', '--seed', '0']));
    expect(r.result).toBe(0);
    const jsonLog = readdirSync(w).find((f) => f.endsWith('.log.json'))!;
    return { out: r.out, meta: JSON.parse(readFileSync(join(w, jsonLog), 'utf8').split('\n')[0]!) as { reproduction?: unknown } };
  };

  test('prints the contract and records it in the JSON log; no warning when the launch matches the name, one when it does not', async () => {
    const same = await run(() => {});
    expect(same.out).toMatch(/INFO - Reproduction: 1 rank x 8 images x 1 accumulation step = effective batch 8; lr 0\.\d+; backend wasm \(fp32, 1 thread\)/);
    expect(same.out).not.toMatch(/the config name says/);
    expect(same.meta.reproduction).toMatchObject({ ranks: 1, per_rank_batch: 8, accumulation: 1, effective_batch: 8, backend: 'wasm', threads: 1 });

    const other = await run((c) => {
      c.data.samples_per_gpu = 4;
      c.optimizer.lr = 0.05;
    });
    expect(other.out.split('\n').filter((l) => l.includes('the config name says'))).toEqual([
      expect.stringMatching(/WARNING - the config name says 1xb8 \(effective batch 8\), this launch is 1 rank x 4 \(effective batch 4\): results will differ .*scales lr 0\.05 by 4\/8\)$/),
    ]);
    expect(other.meta.reproduction).toMatchObject({ per_rank_batch: 4, effective_batch: 4, lr: 0.05 });
  }, 60_000);
});

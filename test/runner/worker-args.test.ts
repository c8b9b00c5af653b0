import { parseWorkerArgs } from '../../src/runner/worker-args.js';
import { buildMomentumUpdaterHook } from '../../src/runner/hooks/momentum-updater-hook.js';
import { annealingCos } from '../../src/runner/lr-policies.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

describe('worker argv (the launchers\' contract)', () => {
  test('all flags, --flag=value form, defaults', () => {
    const a = parseWorkerArgs(['--config', 'c.json', '--work-dir=w', '--seed', '3', '--auto-resume', '--deterministic', '--backend', 'wasm', '--s3', 's3://b/p', '--port', '29501', '--checkpoint-on-signal']);
    expect(a).toMatchObject({ config: 'c.json', workDir: 'w', seed: 3, autoResume: true, deterministic: true, backend: 'wasm', s3: 's3://b/p', port: 29501, checkpointOnSignal: true });
    expect(parseWorkerArgs(['--config', 'c', '--work-dir', 'w'])).toMatchObject({ autoResume: false, deterministic: false, seed: undefined });
  });

  test('unknown flags, missing values and required flags are errors', () => {
    expect(() => parseWorkerArgs(['--config', 'c', '--work-dir', 'w', '--resume'])).toThrow(/unknown worker argument "--resume"/);
    expect(() => parseWorkerArgs(['--config'])).toThrow(/--config needs a value/);
    expect(() => parseWorkerArgs(['--config', 'c'])).toThrow(/--config and --work-dir are required/);
    expect(() => parseWorkerArgs(['--config', 'c', '--work-dir', 'w', '--seed', '-1'])).toThrow(/--seed must be a non-negative integer/);
  });
});

describe('MomentumUpdaterHook (momentum_config)', () => {
  test('cyclic: momentum follows the inverse cycle of the lr; Adam groups get betas[0]', () => {
    const hook = buildMomentumUpdaterHook({ policy: 'cyclic', target_ratio: [0.85 / 0.95, 1], cyclic_times: 1, step_ratio_up: 0.4 });
    expect(hook.hookType).toBe('CyclicMomentumUpdaterHook');
    const groups = [{ params: [], lr: 1, weight_decay: 0, momentum: 0.95 }, { params: [], lr: 1, weight_decay: 0, betas: [0.9, 0.999] as [number, number] }];
    const r = { epoch: 0, iter: 0, maxIters: 100, maxEpochs: 1, epochLength: 100, optimizer: { paramGroups: groups } } as unknown as BaseRunner;
    hook.beforeRun(r);
    r.iter = 20;
    hook.beforeTrainIter(r);
    expect(groups[0].momentum).toBeCloseTo(annealingCos(0.95, 0.85, 0.5), 10);
    expect(groups[1].betas![0]).toBeCloseTo(annealingCos(0.9, 0.9 * (0.85 / 0.95), 0.5), 10);
    expect(groups[1].betas![1]).toBe(0.999);
  });
});

import { annealingCos, CosineAnnealingPolicy, CyclicPolicy, PolyPolicy, StepFixCosineAnnealingPolicy, StepPolicy, warmupLr } from '../../src/runner/lr-policies.js';
import { buildLrUpdaterHook, LrUpdaterHook } from '../../src/runner/hooks/lr-updater-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

const P = (o: Partial<{ epoch: number; iter: number; maxEpochs: number; maxIters: number; epochLength: number }>) => ({
  epoch: 0, iter: 0, maxEpochs: 10, maxIters: 100, epochLength: 10, ...o,
});

describe('lr policies (mmcv formulas)', () => {
  test('cosine annealing by iteration: base at 0, midpoint at half, min at the end', () => {
    const p = new CosineAnnealingPolicy(0.001, null);
    expect(p.value(P({ iter: 0 }), 0.3, false)).toBeCloseTo(0.3, 12);
    expect(p.value(P({ iter: 50 }), 0.3, false)).toBeCloseTo(0.001 + 0.5 * (0.3 - 0.001), 12);
    expect(p.value(P({ iter: 25 }), 0.3, false)).toBeCloseTo(0.001 + 0.5 * 0.299 * (Math.cos(Math.PI * 0.25) + 1), 12);
    expect(p.value(P({ iter: 100 }), 0.3, false)).toBeCloseTo(0.001, 12);
  });

  test('cosine min_lr_ratio scales with the base lr; epoch progress when by_epoch', () => {
    const p = new CosineAnnealingPolicy(null, 0.1);
    expect(p.value(P({ epoch: 5, iter: 3 }), 2, true)).toBeCloseTo(annealingCos(2, 0.2, 0.5), 12);
  });

  test('step: int step and milestone list, gamma, min_lr', () => {
    expect(new StepPolicy(3, 0.5).value(P({ epoch: 7 }), 1, true)).toBeCloseTo(0.25, 12);
    const m = new StepPolicy([120, 160], 0.1);
    expect(m.value(P({ epoch: 119 }), 0.03, true)).toBeCloseTo(0.03, 12);
    expect(m.value(P({ epoch: 120 }), 0.03, true)).toBeCloseTo(0.003, 12);
    expect(m.value(P({ epoch: 170 }), 0.03, true)).toBeCloseTo(0.0003, 12);
    expect(new StepPolicy(1, 0.1, 0.01).value(P({ epoch: 5 }), 1, true)).toBe(0.01);
  });

  test('poly: (base - min)·(1 - p/max)^power + min', () => {
    expect(new PolyPolicy(2, 0.1).value(P({ iter: 30 }), 1, false)).toBeCloseTo(0.9 * 0.7 ** 2 + 0.1, 12);
  });

  test('warmup linear / exp / constant', () => {
    expect(warmupLr('linear', 0, 10, 0.001, 1)).toBeCloseTo(0.001, 12);
    expect(warmupLr('linear', 5, 10, 0.001, 1)).toBeCloseTo(1 - 0.5 * 0.999, 12);
    expect(warmupLr('exp', 5, 10, 0.01, 2)).toBeCloseTo(2 * 0.01 ** 0.5, 12);
    expect(warmupLr('constant', 3, 10, 0.1, 2)).toBeCloseTo(0.2, 12);
  });

  test('cyclic: up to target_ratio[0]·base at step_ratio_up, down to target_ratio[1]·base', () => {
    const c = new CyclicPolicy([10, 1e-4], 1, 0.4, 'cos');
    c.prepare(P({ maxIters: 100 }));
    expect(c.value(P({ iter: 0 }), 0.1)).toBeCloseTo(0.1, 12);
    expect(c.value(P({ iter: 20 }), 0.1)).toBeCloseTo(annealingCos(0.1, 1, 0.5), 12);
    expect(c.value(P({ iter: 40 }), 0.1)).toBeCloseTo(1, 12);
    expect(c.value(P({ iter: 70 }), 0.1)).toBeCloseTo(annealingCos(1, 1e-5, 0.5), 12);
  });

  test('StepFixCosineAnnealing starts the cosine after warm-up', () => {
    const p = new StepFixCosineAnnealingPolicy(0, null);
    p.warmupIters = 20;
    expect(p.value(P({ iter: 20 }), 1, false)).toBeCloseTo(1, 12);
    expect(p.value(P({ iter: 60 }), 1, false)).toBeCloseTo(0.5, 12);
  });
});

function fakeRunner(over: Partial<BaseRunner> = {}): BaseRunner {
  return {
    epoch: 0, iter: 0, innerIter: 0, maxEpochs: 4, maxIters: 40, epochLength: 10,
    optimizer: { paramGroups: [{ params: [], lr: 0.3, weight_decay: 0 }, { params: [], lr: 0.6, weight_decay: 0 }] },
    ...over,
  } as unknown as BaseRunner;
}

describe('LrUpdaterHook', () => {
  test('title-cases lower-case policies and names the hook as mmcv', () => {
    expect(buildLrUpdaterHook({ policy: 'step', step: [2] }).hookType).toBe('StepLrUpdaterHook');
    expect(buildLrUpdaterHook({ policy: 'CosineAnnealing', min_lr: 0 }).hookType).toBe('CosineAnnealingLrUpdaterHook');
  });

  test('unknown policy and unknown argument are errors naming them', () => {
    expect(() => buildLrUpdaterHook({ policy: 'Cosine' })).toThrow(/unknown policy "Cosine"/);
    expect(() => buildLrUpdaterHook({ policy: 'CosineAnnealing', min_lr: 0, min_lrr: 1 })).toThrow(/min_lrr/);
  });

  test('per-iteration cosine with linear warm-up by epoch sets every group from its initial_lr', () => {
    const hook = buildLrUpdaterHook({ policy: 'CosineAnnealing', min_lr: 0, by_epoch: false, warmup: 'linear', warmup_iters: 1, warmup_ratio: 0.1, warmup_by_epoch: true }) as LrUpdaterHook;
    const r = fakeRunner();
    hook.beforeRun(r);
    hook.beforeTrainEpoch(r);
    expect(hook.warmupIters).toBe(10);
    r.iter = 5;
    hook.beforeTrainIter(r);
    const regular = annealingCos(0.3, 0, 5 / 40);
    expect(r.optimizer.paramGroups[0].lr).toBeCloseTo(warmupLr('linear', 5, 10, 0.1, regular), 12);
    expect(r.optimizer.paramGroups[1].lr).toBeCloseTo(warmupLr('linear', 5, 10, 0.1, annealingCos(0.6, 0, 5 / 40)), 12);
    r.iter = 12;
    hook.beforeTrainIter(r);
    expect(r.optimizer.paramGroups[0].lr).toBeCloseTo(annealingCos(0.3, 0, 12 / 40), 12);
  });

  test('by-epoch step policy changes lr at epoch starts only', () => {
    const hook = buildLrUpdaterHook({ policy: 'step', step: [2], gamma: 0.1 });
    const r = fakeRunner();
    hook.beforeRun(r);
    r.epoch = 2;
    hook.beforeTrainEpoch(r);
    expect(r.optimizer.paramGroups[0].lr).toBeCloseTo(0.03, 12);
  });
});

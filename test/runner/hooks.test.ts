import { BaseRunner } from '../../src/runner/base-runner.js';
import { Hook } from '../../src/runner/hook.js';
import { getPriority, PRIORITIES } from '../../src/runner/priority.js';
import { EpochBasedRunner } from '../../src/runner/epoch-runner.js';
import { registerTrainingHooks } from '../../src/runner/hooks/index.js';
import { Logger } from '../../src/runner/logging/logger.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { MomentumUpdateHook } from '../../src/runner/hooks/momentum-update-hook.js';

class Recorder extends Hook {
  constructor(
    readonly hookType: string,
    private readonly calls: string[],
  ) {
    super();
  }
  override beforeTrainIter(): void {
    this.calls.push(this.hookType);
  }
}

function makeRunner(): BaseRunner {
  const lines: string[] = [];
  return new EpochBasedRunner({
    model: {} as never,
    optimizer: { paramGroups: [{ params: [], lr: 0.1, weight_decay: 0, momentum: 0.9 }] } as never,
    workDir: '/tmp/none',
    logger: new Logger(undefined, 0, 'mmselfsup', (l) => lines.push(l)),
    dist: singleProcessContext(),
    meta: {},
    timestamp: 'x',
    maxEpochs: 2,
  });
}

describe('hooks', () => {
  test('priority names and values are mmcv\'s', () => {
    expect(PRIORITIES).toEqual({ HIGHEST: 0, VERY_HIGH: 10, HIGH: 30, ABOVE_NORMAL: 40, NORMAL: 50, BELOW_NORMAL: 60, LOW: 70, VERY_LOW: 90, LOWEST: 100 });
    expect(getPriority('high')).toBe(30);
    expect(() => getPriority('URGENT')).toThrow(/unknown priority/);
  });

  test('hooks fire in priority order; equal priorities keep registration order', async () => {
    const r = makeRunner();
    const calls: string[] = [];
    r.registerHook(new Recorder('low', calls), 'LOW');
    r.registerHook(new Recorder('normal-a', calls));
    r.registerHook(new Recorder('highest', calls), 'HIGHEST');
    r.registerHook(new Recorder('normal-b', calls), 50);
    r.registerHook(new Recorder('very-high', calls), 'VERY_HIGH');
    await r.callHook('before_train_iter');
    expect(calls).toEqual(['highest', 'very-high', 'normal-a', 'normal-b', 'low']);
  });

  test('default + custom hooks are ordered as MMSelfSup and listed per stage', () => {
    const r = makeRunner();
    registerTrainingHooks(r, {
      lr_config: { policy: 'CosineAnnealing', min_lr: 0 },
      optimizer_config: {},
      checkpoint_config: { interval: 1 },
      log_config: { interval: 1, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] },
      custom_hooks: [{ type: 'BYOLHook', end_momentum: 1, priority: 'HIGH' }],
    });
    expect(r.hooks.map((h) => h.hookType)).toEqual([
      'CosineAnnealingLrUpdaterHook', 'BYOLHook', 'OptimizerHook', 'CheckpointHook', 'IterTimerHook', 'TextLoggerHook', 'TensorboardLoggerHook',
    ]);
    const info = r.hookInfo();
    expect(info).toContain('before_train_iter:\n(VERY_HIGH   ) CosineAnnealingLrUpdaterHook       \n(HIGH        ) BYOLHook');
    expect(info.split('\n')[0]).toBe('before_run:');
  });

  test('an unknown custom hook or hook argument names it', () => {
    const r = makeRunner();
    expect(() => registerTrainingHooks(r, { custom_hooks: [{ type: 'BYOLHok' }] }, 'cfg.yaml')).toThrow(/unknown hook type "BYOLHok"; did you mean BYOLHook.*cfg\.yaml/);
    expect(() => registerTrainingHooks(makeRunner(), { custom_hooks: [{ type: 'BYOLHook', end_momentun: 1 }] }, 'cfg.yaml')).toThrow(/BYOLHook does not accept the argument "end_momentun".*cfg\.yaml/);
  });

  test('BYOLHook: cosine momentum from base to end, target update after each iter', () => {
    const model = { momentum: 0.996, baseMomentum: 0.996, updates: 0, momentumUpdate() { this.updates++; } };
    const r = { model, iter: 50, maxIters: 100, epoch: 0 } as unknown as BaseRunner;
    const h = new MomentumUpdateHook('BYOLHook', { end_momentum: 1 });
    h.beforeTrainIter(r);
    expect(model.momentum).toBeCloseTo(1 - (1 - 0.996) * (Math.cos(Math.PI * 0.5) + 1) / 2, 12);
    h.afterTrainIter(r);
    expect(model.updates).toBe(1);
  });
});

import { tf } from '../../src/engine/tf.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { OptimizerHook } from '../../src/runner/hooks/optimizer-hook.js';
import { LogBuffer } from '../../src/runner/log-buffer.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function setup(hookCfg: Record<string, unknown>, maxIters: number, o: { startIter?: number; withBn?: boolean; warnings?: string[] } = {}) {
  const vars: [string, tf.Variable][] = [
    ['backbone.w', tf.variable(tf.tensor1d([0]))],
    ['head.w', tf.variable(tf.tensor1d([0]))],
  ];
  const { optimizer } = buildOptimizer(vars, { type: 'SGD', lr: 1 });
  const model = { namedBuffers: () => (o.withBn ? [['backbone.bn1.running_mean', null]] : []) };
  const logger = { warning: (m: string) => o.warnings?.push(m) };
  const runner = { iter: o.startIter ?? 0, maxIters, worldSize: 1, optimizer, model, logBuffer: new LogBuffer(), logger, outputs: undefined } as unknown as BaseRunner;
  const hook = new OptimizerHook(hookCfg);
  hook.beforeRun(runner);
  const step = async (g: number) => {
    runner.outputs = { loss: 0, logVars: {}, numSamples: 1, grads: new Map(vars.map(([n]) => [n, tf.tensor1d([g])])) };
    await hook.afterTrainIter(runner);
    runner.iter++;
  };
  const values = () => vars.map(([, v]) => v.dataSync()[0]);
  return { step, values, runner };
}

describe('OptimizerHook', () => {
  test('update_interval accumulates gradients / interval and steps every interval; the remainder uses its own count', async () => {
    const { step, values } = setup({ update_interval: 2 }, 3);
    await step(1);
    expect(values()).toEqual([0, 0]);
    await step(3);
    expect(values()).toEqual([-2, -2]); // lr 1 · (1 + 3) / 2
    await step(5);
    expect(values()).toEqual([-7, -7]); // last iteration: remainder group of 1
  });

  test('frozen_layers_cfg drops the gradients of matching parameters for their first iterations', async () => {
    const { step, values } = setup({ frozen_layers_cfg: { backbone: 1 } }, 2);
    await step(1);
    expect(values()).toEqual([0, -1]);
    await step(1);
    expect(values()).toEqual([-1, -2]);
  });

  test('grad_clip logs grad_norm and clips', async () => {
    const { step, values, runner } = setup({ grad_clip: { max_norm: 1 } }, 1);
    await step(3);
    const n = Math.sqrt(18);
    expect(runner.logBuffer.valHistory.get('grad_norm')![0]).toBeCloseTo(n, 5);
    values().forEach((v) => expect(v).toBeCloseTo(-3 / (n + 1e-6), 5));
  });

  test('GradientCumulativeOptimizerHook (cumulative_iters) accumulates as mmcv: groups of N, the last group by its own count', async () => {
    for (const cfg of [{ type: 'GradientCumulativeOptimizerHook', cumulative_iters: 2 }, { cumulative_iters: 2 }]) {
      const warnings: string[] = [];
      const { step, values } = setup(cfg, 3, { withBn: true, warnings });
      await step(1);
      expect(values()).toEqual([0, 0]);
      await step(3);
      expect(values()).toEqual([-2, -2]);
      await step(5);
      expect(values()).toEqual([-7, -7]);
      expect(warnings).toEqual(['GradientCumulativeOptimizerHook may slightly decrease performance if the model has BatchNorm layers.']);
    }
    expect(new OptimizerHook({ cumulative_iters: 2 }).hookType).toBe('GradientCumulativeOptimizerHook');
  });

  test('GradientCumulativeOptimizerHook after a resume counts its groups from the iterations left (mmcv _init), unlike update_interval', async () => {
    const run = async (cfg: Record<string, unknown>) => {
      const warnings: string[] = [];
      const { step, values } = setup(cfg, 5, { startIter: 1, warnings });
      for (const g of [2, 2, 2, 4]) await step(g);
      return { values: values(), warnings };
    };
    const cum = await run({ type: 'GradientCumulativeOptimizerHook', cumulative_iters: 2 });
    // every_n on the absolute iteration: iter 1 steps alone (2/2 -> -1), iters 2-3 (-2), iter 4 the last (4/2 -> -2);
    // mmcv's remainder count there is 0 (residual 4 = 2 groups of 2; mmcv would divide by it), ssl keeps N
    expect(cum.values).toEqual([-5, -5]);
    expect(cum.warnings[0]).toMatch(/^Resume iter number is not divisible by cumulative_iters/);
    const upd = await run({ update_interval: 2 });
    // floor(5/2)*2 = 4 divisible iterations from 0: the last iteration (4) is a remainder group of 1 -> -4
    expect(upd.values).toEqual([-7, -7]);
  });

  test('cumulative_iters must be a positive integer; update_interval is not its argument', () => {
    expect(() => new OptimizerHook({ type: 'GradientCumulativeOptimizerHook', cumulative_iters: 0 })).toThrow(/optimizer_config.cumulative_iters must be a positive integer, got 0/);
    expect(() => new OptimizerHook({ type: 'GradientCumulativeOptimizerHook', update_interval: 2 })).toThrow(/GradientCumulativeOptimizerHook does not accept the argument "update_interval"/);
  });

  test('unknown optimizer_config key names it', () => {
    expect(() => new OptimizerHook({ grad_clp: {} })).toThrow(/OptimizerHook does not accept the argument "grad_clp"; did you mean grad_clip/);
  });
});

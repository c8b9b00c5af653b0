import { tf } from '../../src/engine/tf.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { OptimizerHook } from '../../src/runner/hooks/optimizer-hook.js';
import { LogBuffer } from '../../src/runner/log-buffer.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function setup(hookCfg: Record<string, unknown>, maxIters: number) {
  const vars: [string, tf.Variable][] = [
    ['backbone.w', tf.variable(tf.tensor1d([0]))],
    ['head.w', tf.variable(tf.tensor1d([0]))],
  ];
  const { optimizer } = buildOptimizer(vars, { type: 'SGD', lr: 1 });
  const runner = { iter: 0, maxIters, worldSize: 1, optimizer, logBuffer: new LogBuffer(), logger: { warning: () => {} }, outputs: undefined } as unknown as BaseRunner;
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

  test('unknown optimizer_config key names it', () => {
    expect(() => new OptimizerHook({ grad_clp: {} })).toThrow(/OptimizerHook does not accept the argument "grad_clp"; did you mean grad_clip/);
  });
});

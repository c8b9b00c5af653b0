import { jest } from '@jest/globals';
import { initBackend } from '../../src/engine/backend.js';
import { loadNativeAddon, type NativeAddon } from '../../src/engine/native/addon.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';
import { nativeUnavailable } from '../engine/backends-under-test.js';
import { relErr } from '../engine/rel-err.js';
import { buildOptimizer, pythonRegex } from '../../src/runner/optim/build.js';
import { clipGradNorm } from '../../src/runner/hooks/optimizer-hook.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function step(cfg: Record<string, unknown>, p0: number[], g: number[], steps: number, name = 'w'): number[] {
  const v = tf.variable(tf.tensor1d(p0));
  const { optimizer } = buildOptimizer([[name, v]], cfg);
  for (let i = 0; i < steps; i++) {
    const grads = new Map([[name, tf.tensor1d(g)]]);
    optimizer.step(grads);
    grads.get(name)!.dispose();
  }
  const out = Array.from(v.dataSync());
  optimizer.dispose();
  v.dispose();
  return out;
}

const close = (a: number[], b: number[], digits = 5) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], digits));

describe('optimizers (PyTorch update rules, hand-computed)', () => {
  test('SGD with weight decay and Nesterov momentum, two steps', () => {
    const cfg = { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0.1, nesterov: true };
    close(step(cfg, [1, -2], [0.5, 0.5], 1), [0.886, -2.057]);
    close(step(cfg, [1, -2], [0.5, 0.5], 2), [0.725566, -2.137217]);
  });

  test('SGD with dampening: first buffer is d, later (1 - dampening)·d', () => {
    const cfg = { type: 'SGD', lr: 1, momentum: 0.5, dampening: 0.5 };
    // step1: buf=1, p=-1; step2: buf=0.5+0.5=1, p=-2
    close(step(cfg, [0], [1], 2), [-2]);
  });

  test('LARS trust ratio eta·‖p‖/(‖g‖ + wd·‖p‖ + eps), and lars_exclude', () => {
    const cfg = { type: 'LARS', lr: 0.1, momentum: 0.9, weight_decay: 0.01, eta: 0.001 };
    close(step(cfg, [3, 4], [0.6, 0.8], 1), [2.9997, 3.9996], 6);
    const ex = { ...cfg, paramwise_options: { w: { lars_exclude: true } } };
    close(step(ex, [3, 4], [0.6, 0.8], 1), [2.937, 3.916], 6);
  });

  test('Adam adds wd·p to the gradient; AdamW decays the weights (two steps)', () => {
    close(step({ type: 'Adam', lr: 0.1, weight_decay: 0.1 }, [1], [0.5], 1), [0.9]);
    close(step({ type: 'AdamW', lr: 0.1, weight_decay: 0.1 }, [1], [0.5], 1), [0.89]);
    close(step({ type: 'AdamW', lr: 0.1, weight_decay: 0.1 }, [1], [0.5], 2), [0.7811]);
  });

  test('unknown optimizer argument names it', () => {
    expect(() => step({ type: 'SGD', lr: 0.1, momentun: 0.9 }, [1], [1], 1)).toThrow(/SGD does not accept the argument "momentun"; did you mean momentum/);
  });
});

describe('paramwise_options', () => {
  test('Python regexes of MMSelfSup configs: \\A, bn/gn groups, _mult keys', () => {
    expect(pythonRegex('\\Ahead.').test('head.fc.weight')).toBe(true);
    expect(pythonRegex('\\Ahead.').test('backbone.head.weight')).toBe(false);
    const names = ['backbone.conv1.weight', 'backbone.bn1.weight', 'backbone.layer1.0.bn2.bias', 'head.fc.bias', 'neck.gn.weight'];
    const vars = names.map((n) => [n, tf.variable(tf.zeros([1]))] as [string, tf.Variable]);
    const { optimizer, messages } = buildOptimizer(vars, {
      type: 'LARS', lr: 0.3, momentum: 0.9, weight_decay: 1e-6,
      paramwise_options: { '(bn|gn)(\\d+)?.(weight|bias)': { weight_decay: 0, lars_exclude: true }, '\\Ahead.': { lr_mult: 10, decay_mult: 0 } },
    });
    const g = Object.fromEntries(optimizer.paramGroups.map((grp) => [grp.params[0].name, grp]));
    expect(g['backbone.conv1.weight']).toMatchObject({ lr: 0.3, weight_decay: 1e-6 });
    expect(g['backbone.conv1.weight'].lars_exclude).toBeUndefined();
    expect(g['backbone.bn1.weight']).toMatchObject({ weight_decay: 0, lars_exclude: true });
    expect(g['backbone.layer1.0.bn2.bias']).toMatchObject({ weight_decay: 0, lars_exclude: true });
    expect(g['neck.gn.weight']).toMatchObject({ lars_exclude: true });
    expect(g['head.fc.bias']).toMatchObject({ lr: 3, weight_decay: 0 });
    expect(messages).toContain('paramwise_options -- head.fc.bias: lr=3');
    for (const [, v] of vars) v.dispose();
  });
});

test('clip_grad_norm_: total 2-norm, scaled by max_norm/(total + 1e-6) when above', () => {
  const grads = new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]);
  const total = clipGradNorm(grads, 1);
  expect(total).toBeCloseTo(5, 6);
  close(Array.from(grads.get('a')!.dataSync()), [3 / 5.000001, 0], 6);
  for (const g of grads.values()) g.dispose();
});

describe('fused native updates (one kernel per parameter) equal the optimizers on TF.js ops', () => {
  const why = nativeUnavailable();
  const run = why && !process.env.CI ? test.skip : test;
  const CONFIGS: Record<string, unknown>[] = [
    { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 1e-4 },
    { type: 'SGD', lr: 0.05, momentum: 0.9, weight_decay: 0.1, nesterov: true },
    { type: 'SGD', lr: 0.5, momentum: 0.5, dampening: 0.3 },
    { type: 'SGD', lr: 0.1 },
    { type: 'LARS', lr: 0.3, momentum: 0.9, weight_decay: 1e-6, eta: 0.001 },
    { type: 'LARS', lr: 0.3, momentum: 0.9, weight_decay: 1e-6, paramwise_options: { b: { lars_exclude: true } } },
    { type: 'AdamW', lr: 1e-3, weight_decay: 0.05, betas: [0.9, 0.95] },
    { type: 'Adam', lr: 1e-2, weight_decay: 1e-3 },
    { type: 'Adam', lr: 1e-2, amsgrad: true },
  ];

  /** 5 steps of two parameters (one of 40 000 floats: the threaded path) with fresh gradients each step. */
  function train(cfg: Record<string, unknown>): { values: Float32Array[]; state: Float32Array[]; initial: Float32Array } {
    manualSeed(11);
    const init = [normalArray(40_000, 0, 1), normalArray(7, 0, 1)];
    const source = tf.tensor1d(init[0]);
    const vars = [tf.variable(source), tf.variable(tf.tensor1d(init[1]))];
    const { optimizer } = buildOptimizer([['w', vars[0]], ['b', vars[1]]], cfg);
    for (let i = 0; i < 5; i++) {
      const grads = new Map([['w', tf.tensor1d(normalArray(40_000, 0, 0.1))], ['b', tf.tensor1d(normalArray(7, 0, i === 2 ? 0 : 1))]]);
      optimizer.step(grads);
      for (const g of grads.values()) g.dispose();
    }
    const values = vars.map((v) => v.dataSync() as Float32Array);
    const state = [...optimizer.stateDict().tensors.values()].map((t) => t.dataSync() as Float32Array);
    const initial = source.dataSync() as Float32Array;
    optimizer.dispose();
    [...vars, source].forEach((t) => t.dispose());
    return { values, state, initial };
  }

  run.each(CONFIGS.map((c) => [JSON.stringify(c), c]))('%s', async (_, cfg) => {
    if (why) throw new Error(`the native engine must be built in CI: ${why}`);
    const addon = (loadNativeAddon() as { addon: NativeAddon }).addon;
    await initBackend('wasm', { log: () => {} });
    const ref = train(cfg as Record<string, unknown>);
    await initBackend('native', { log: () => {}, threads: 2 });
    const spy = jest.spyOn(addon, (cfg as { type: string }).type.startsWith('Adam') ? 'adamUpdate' : 'sgdUpdate');
    try {
      const got = train(cfg as Record<string, unknown>);
      expect(spy).toHaveBeenCalledTimes(10);
      // LARS: the native norms sum in double, wasm's Sum adds 40 000 squares in float32 (~1e-6 apart).
      const tolerance = (cfg as { type: string }).type === 'LARS' ? 1e-5 : 1e-6;
      [...ref.values, ...ref.state].forEach((r, i) => expect(relErr([...got.values, ...got.state][i], r)).toBeLessThan(tolerance));
      expect(got.state).toHaveLength(ref.state.length);
      // The tensor a variable was made from shares its memory: an update must not write into it.
      manualSeed(11);
      expect(got.initial).toEqual(normalArray(40_000, 0, 1));
    } finally {
      spy.mockRestore();
      await initBackend('wasm', { log: () => {} });
      await tf.setBackend('cpu');
    }
  });
});

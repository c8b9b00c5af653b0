/** Sweep files: expansion (cross product, include/exclude), stable digests, and every bad input as one ConfigError. */
import { ConfigError } from '../../src/errors.js';
import { judge } from '../../src/sweep/baseline.js';
import { planSweep } from '../../src/sweep/driver.js';
import { crossProduct } from '../../src/sweep/expand.js';
import { BYOL, SIMCLR, SMOKE, sweepDir } from './helpers.js';

const TRAIN_FLAGS = ['gpus', 'launcher', 'partition', 'seed', 'work-dir', 'image', 'time'];
const plan = (sweep: Record<string, unknown>, extra: { baseline?: string; updateBaseline?: boolean; cfgOptions?: string[] } = {}) =>
  planSweep({ file: sweepDir(sweep).file, trainFlags: TRAIN_FLAGS, ...extra });

/** The error's message, asserting it is a ConfigError on one line. */
function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('no error thrown');
}

describe('sweep expansion', () => {
  test('cross product in key order, the last key fastest', () => {
    expect(crossProduct({ a: [1, 2], b: ['x', 'y'] })).toEqual([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]);
  });

  test('2 configs x 2 lr = 4 trials with distinct, stable 10-hex digests; a changed value changes only its digest', () => {
    const a = plan(SMOKE).trials;
    const b = plan(SMOKE).trials;
    expect(a.map((t) => t.id)).toEqual(b.map((t) => t.id));
    expect(new Set(a.map((t) => t.id)).size).toBe(4);
    for (const t of a) expect(t.id).toMatch(/^[0-9a-f]{10}$/);
    expect(a.map((t) => t.label)).toEqual([
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.05',
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.1',
      'byol_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.05',
      'byol_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.1',
    ]);
    const c = plan({ ...SMOKE, matrix: { 'optimizer.lr': [0.05, 0.2] } }).trials;
    expect(c[0]!.id).toBe(a[0]!.id);
    expect(c[1]!.id).not.toBe(a[1]!.id);
    // the nested form of a matrix key is the same trial
    expect(plan({ ...SMOKE, matrix: { optimizer: { lr: [0.05, 0.1] } } }).trials.map((t) => t.id)).toEqual(a.map((t) => t.id));
  });

  test('exclude drops matching combinations; include extends matching ones or adds its own; config: restricts', () => {
    const trials = plan({
      ...SMOKE,
      matrix: { 'optimizer.lr': [0.05, 0.1], 'optimizer.momentum': [0.9, 0.8] },
      exclude: [{ 'optimizer.lr': 0.1, 'optimizer.momentum': 0.8 }, { config: 'byol_resnet18-cifar_1xb8-2it_synthetic', 'optimizer.momentum': 0.8 }],
      include: [{ 'optimizer.lr': 0.05, 'optimizer.weight_decay': 0.001 }, { config: 'simclr_resnet18-cifar_1xb8-2it_synthetic', 'optimizer.lr': 0.3 }],
    }).trials;
    expect(trials.map((t) => t.label)).toEqual([
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.05 optimizer.momentum=0.9 optimizer.weight_decay=0.001',
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.05 optimizer.momentum=0.8 optimizer.weight_decay=0.001',
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.1 optimizer.momentum=0.9',
      'simclr_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.3',
      'byol_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.05 optimizer.momentum=0.9 optimizer.weight_decay=0.001',
      'byol_resnet18-cifar_1xb8-2it_synthetic optimizer.lr=0.1 optimizer.momentum=0.9',
    ]);
  });

  test('seeds: a normal run measures the first seed; --update-baseline every seed, as replicas of the trial', () => {
    const one = plan({ ...SMOKE, configs: [SIMCLR], matrix: { 'optimizer.lr': [0.1] }, seeds: 3 }).trials;
    expect(one.map((t) => t.seed)).toEqual([0]);
    const all = plan({ ...SMOKE, configs: [SIMCLR], matrix: { 'optimizer.lr': [0.1] }, seeds: 3 }, { updateBaseline: true }).trials;
    expect(all.map((t) => t.seed)).toEqual([0, 1, 2]);
    expect(all[0]!.id).toBe(one[0]!.id);
    expect(all.map((t) => t.replicaOf)).toEqual([one[0]!.id, one[0]!.id, one[0]!.id]);
    expect(all[1]!.id).toBe(`${one[0]!.id}-s1`);
  });

  test('--cfg-options apply to the sweep file, dotted metric names included', () => {
    const p = plan({ ...SMOKE, baseline: 'b.json' }, { cfgOptions: ['max_parallel=3', 'tolerance.knn.top1.abs=2'], updateBaseline: true });
    expect(p.spec.maxParallel).toBe(3);
    expect(p.spec.tolerance['knn.top1']).toEqual({ abs: 2, better: 'higher' });
  });
});

describe('bad sweep files: one line, exit code 2', () => {
  test('unknown matrix key: did-you-mean against the resolved config', () => {
    expect(configError(() => plan({ ...SMOKE, matrix: { 'optimizer.lrr': [0.1] } }))).toBe(
      'matrix key "optimizer.lrr" is not in the resolved config of simclr_resnet18-cifar_1xb8-2it_synthetic.yaml; did you mean optimizer.lr?',
    );
    expect(configError(() => plan({ ...SMOKE, matrix: { 'optimiser.lr': [0.1] } }))).toMatch(/did you mean optimizer\.lr/);
  });

  test('empty matrix, empty value list', () => {
    expect(configError(() => plan({ ...SMOKE, matrix: {} }))).toMatch(/"matrix" is empty/);
    expect(configError(() => plan({ ...SMOKE, matrix: { 'optimizer.lr': [] } }))).toMatch(/matrix key "optimizer.lr" has an empty list/);
  });

  test('a tolerance without a baseline', () => {
    expect(configError(() => plan({ ...SMOKE, tolerance: { 'knn.top1': { abs: 1 } } }))).toMatch(/"tolerance" is set but there is no baseline/);
  });

  test('a stage that is no command; eval before train', () => {
    expect(configError(() => plan({ ...SMOKE, stages: ['train', 'eval knnn'] }))).toMatch(/stage "eval knnn" is not an ssl command a sweep can run; did you mean eval knn\?/);
    expect(configError(() => plan({ ...SMOKE, stages: ['eval knn'] }))).toMatch(/first stage must be train/);
  });

  test('unknown keys, metrics, launcher options; a missing config; a missing baseline file', () => {
    expect(configError(() => plan({ ...SMOKE, max_paralel: 2 }))).toMatch(/unknown key "max_paralel"; did you mean max_parallel\?/);
    expect(configError(() => plan({ ...SMOKE, metrics: ['knn.top2'] }))).toMatch(/unknown metric "knn.top2"; did you mean knn.top1/);
    expect(configError(() => plan({ ...SMOKE, launcher_options: { partitoin: 'x' } }))).toMatch(/launcher_options.partitoin is not an ssl train flag; did you mean partition\?/);
    expect(configError(() => plan({ ...SMOKE, launcher_options: { 'work-dir': 'x' } }))).toMatch(/set by the sweep for each trial/);
    expect(configError(() => plan({ ...SMOKE, configs: ['nope.yaml'] }))).toMatch(/config nope.yaml does not exist/);
    expect(configError(() => plan({ ...SMOKE, baseline: 'missing.json' }))).toMatch(/baseline file .*missing.json does not exist/);
    expect(configError(() => plan({ ...SMOKE, tolerance: { 'knn.top1': { k: 3 } } }, { updateBaseline: true }))).toMatch(/needs seeds/);
    expect(configError(() => plan({ ...SMOKE, configs: [BYOL], gate: { mode: 'relative', repeats: 2, reference: { cfg_options: ['optimizer.lr=0.1'] } } }))).toMatch(/repeats must be a whole number >= 3/);
  });
});

describe('tolerance', () => {
  const b = { mean: 50, std: 2, n: 3, values: [48, 50, 52] };
  test('abs, rel and k std: the most lenient limit, in the better direction', () => {
    expect(judge(48.5, b, { abs: 1, better: 'higher' })).toMatchObject({ limit: 49, ok: false, rule: 'abs 1' });
    expect(judge(49.5, b, { abs: 1, better: 'higher' })).toMatchObject({ ok: true });
    expect(judge(47.6, b, { abs: 1, rel: 0.05, better: 'higher' })).toMatchObject({ limit: 47.5, ok: true, rule: 'rel 5 %' });
    expect(judge(44.5, b, { k: 3, better: 'higher' })).toMatchObject({ limit: 44, ok: true, rule: '3 std of 3 runs' });
    expect(judge(56.5, b, { k: 3, better: 'lower' })).toMatchObject({ limit: 56, ok: false });
    expect(judge(Number.NaN, b, { abs: 100, better: 'higher' }).ok).toBe(false);
  });
});

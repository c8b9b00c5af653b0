/**
 * Issue 23: the runner's keys are checked. Unknown keys under runner, checkpoint_config, log_config,
 * optimizer_config, lr_config, momentum_config and evaluation are errors with did-you-mean;
 * runner.max_iters on an EpochBasedRunner (and max_epochs on an IterBasedRunner) says what to use.
 * Every seed config (configs/ and MMSelfSup's tree) still passes the same checks.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { EpochBasedRunner } from '../../src/runner/epoch-runner.js';
import { EVAL_HOOK_ARGS } from '../../src/runner/hooks/eval-hook.js';
import { registerTrainingHooks } from '../../src/runner/hooks/index.js';
import { IterBasedRunner } from '../../src/runner/iter-runner.js';
import { Logger } from '../../src/runner/logging/logger.js';
import { runnerSpec } from '../../src/runner/setup.js';
import { checkArgs } from '../../src/registry/index.js';
import { REPO_ROOT, runCli, SHARED_DIR } from '../helpers/run-cli.js';

type Cfg = Record<string, any>;

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? (name === '_base_' ? [] : files(path, ext)) : ext.test(name) ? [path] : [];
    });
}

/** What setupTraining checks of the runner keys: the runner spec, the hooks' arguments, evaluation's keys. */
function checkRunnerKeys(cfg: Cfg, source = 'cfg.py'): void {
  const spec = runnerSpec(cfg, source);
  const common = {
    model: {} as never, optimizer: { paramGroups: [{ params: [], lr: 0.1, weight_decay: 0, momentum: 0.9 }] } as never, workDir: '/tmp/none',
    logger: new Logger(undefined, 0, 'mmselfsup', () => {}), dist: singleProcessContext(), meta: {}, timestamp: 'x',
  };
  const runner = spec.type === 'EpochBasedRunner' ? new EpochBasedRunner({ ...common, maxEpochs: spec.maxEpochs }) : new IterBasedRunner({ ...common, maxIters: spec.maxIters });
  registerTrainingHooks(runner, cfg, source);
  if (cfg.evaluation) checkArgs('evaluation', cfg.evaluation, EVAL_HOOK_ARGS);
}

const TINY = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml';
const base = () => loadConfig(join(REPO_ROOT, TINY)) as Cfg;
const withKey = (path: string, value: unknown): Cfg => {
  const cfg = base();
  const keys = path.split('.');
  let o = cfg;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)!] = value;
  return cfg;
};

describe('unknown keys: errors with did-you-mean', () => {
  test.each([
    ['runner.max_iter', 3, /runner does not accept the argument "max_iter"; did you mean max_iters\?.*cfg\.py/],
    ['checkpoint_config.intervl', 1, /CheckpointHook does not accept the argument "intervl"; did you mean interval\?.*checkpoint_config of cfg\.py/],
    ['log_config.intervals', 1, /log_config does not accept the argument "intervals"; did you mean interval\?.*log_config of cfg\.py/],
    ['optimizer_config.grad_clp', null, /OptimizerHook does not accept the argument "grad_clp"; did you mean grad_clip\?/],
    ['lr_config.warmup_iter', 2, /CosineAnnealingLrUpdaterHook does not accept the argument "warmup_iter"; did you mean warmup_iters/],
    ['lr_config.min_l', 0, /did you mean min_lr/],
    ['momentum_config', { polcy: 'cyclic' }, /momentum_config does not accept the argument "polcy"; did you mean policy\?/],
    ['momentum_config', { policy: 'CosineAnnealing', min_momentum_rate: 0.9 }, /CosineAnnealingMomentumUpdaterHook does not accept the argument "min_momentum_rate"; did you mean min_momentum_ratio/],
    ['evaluation', { intervl: 1 }, /evaluation does not accept the argument "intervl"; did you mean interval\?/],
  ])('%s', (path, value, message) => {
    expect(() => checkRunnerKeys(withKey(path, value))).toThrow(message);
  });

  test('lr_config without policy but with a near key', () => {
    const cfg = base();
    cfg.lr_config = { polcy: 'CosineAnnealing', min_lr: 0 };
    expect(() => checkRunnerKeys(cfg)).toThrow(/lr_config does not accept the argument "polcy"; did you mean policy\?/);
  });
});

describe('the runner length counts what the runner type counts', () => {
  test('max_iters on an EpochBasedRunner says what to use', () => {
    expect(() => runnerSpec(withKey('runner.max_iters', 0), 'cfg.py')).toThrow(
      'runner.max_iters is set on an EpochBasedRunner, which counts epochs: use runner.max_epochs, or runner.type=IterBasedRunner to train for max_iters iterations (in cfg.py)',
    );
  });
  test('max_epochs on an IterBasedRunner says what to use', () => {
    expect(() => runnerSpec({ runner: { type: 'IterBasedRunner', max_iters: 10, max_epochs: 2 } }, undefined)).toThrow(/runner\.max_epochs is set on an IterBasedRunner, which counts iterations: use runner\.max_iters/);
  });
  test('mmcv semantics otherwise: total_epochs, IterBasedRunner max_iters, a misspelt type', () => {
    expect(runnerSpec({ total_epochs: 3 }, undefined)).toEqual({ type: 'EpochBasedRunner', maxEpochs: 3 });
    expect(runnerSpec({ runner: { type: 'IterBasedRunner', max_iters: 10 } }, undefined)).toEqual({ type: 'IterBasedRunner', maxIters: 10 });
    expect(() => runnerSpec({ runner: { type: 'EpochBaseRunner', max_epochs: 1 } }, undefined)).toThrow(/did you mean EpochBasedRunner\?/);
  });
  test('ssl train --cfg-options runner.max_iters=0 on an EpochBasedRunner config: one line, exit 2', () => {
    const r = runCli(['train', TINY, '--dry-run', '--backend', 'wasm', '--cfg-options', 'runner.max_iters=0']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('Error:'))).toEqual([expect.stringMatching(/^Error: runner\.max_iters is set on an EpochBasedRunner, which counts epochs: use runner\.max_epochs/)]);
  });
});

// training configs (configs/sweeps/ holds sweep definitions, not configs)
const own = files(join(REPO_ROOT, 'configs'), /\.ya?ml$/)
  .map((p) => relative(REPO_ROOT, p))
  .filter((p) => !p.startsWith('configs/sweeps/'));
const MM = join(SHARED_DIR, 'data/mmselfsup-configs');
// the selfsup configs (MMSelfSup's pre-training; the benchmarks' mmdet/mmseg/mmcls configs are not trained by ssl)
const mm = existsSync(MM) ? files(join(MM, 'selfsup'), /\.py$/).map((p) => relative(REPO_ROOT, p)) : [];

test('the sweep covers the seed configs', () => {
  expect(own.length).toBeGreaterThanOrEqual(20);
  if (existsSync(MM)) expect(mm.length).toBeGreaterThanOrEqual(40);
});

test.each([...own, ...mm])('%s: runner and hook keys are accepted', (file) => {
  // custom_hooks name algorithm hooks (DeepClusterHook, SwAVHook) of algorithms ssl does not have; not runner keys
  const { custom_hooks: _, ...cfg } = loadConfig(join(REPO_ROOT, file)) as Cfg;
  checkRunnerKeys(cfg, file);
});

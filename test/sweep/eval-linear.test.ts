/** The eval linear stage (issue 19's command): a benchmark config of its own, the train stage's checkpoint, linear.top1/top5 from its result file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planSweep } from '../../src/sweep/driver.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

const LINEAR = join(REPO_ROOT, 'configs/benchmarks/classification/synthetic/resnet18-cifar-tiny_linear-1xb8-2e_synthetic.yaml');
const sweep = {
  ...SMOKE,
  configs: [SIMCLR],
  matrix: { 'optimizer.lr': [0.1] },
  stages: [{ name: 'train', args: ['--seed', '0'] }, { name: 'eval linear', config: LINEAR, args: ['--seed', '0'] }],
  metrics: ['linear.top1', 'linear.top5', 'loss'],
  launcher: 'none',
  launcher_options: {},
};

test('train -> eval linear: the benchmark trains on the trial checkpoint; its result is the metric', () => {
  const { file, dir } = sweepDir(sweep);
  const out = join(dir, 'out');
  const r = runCli(['sweep', file, '--out', out], { timeoutMs: 300_000 });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const t = s.trials[0];
  const result = JSON.parse(readFileSync(join(out, 'trials', t.id, 'linear', 'eval', 'linear.json'), 'utf8'));
  expect(result.checkpoint).toBe(join(out, 'trials', t.id, 'work', 'latest.ckpt'));
  expect(t.metrics['linear.top1']).toBe(result.value);
  expect(t.metrics['linear.top5']).toBe(result.results[result.metric.replace(/top1$/, 'top5')]);
}, 300_000);

test('eval linear needs its benchmark config; other stages take none', () => {
  const plan = (stages: unknown[]) => () => planSweep({ file: sweepDir({ ...sweep, stages }).file, trainFlags: ['seed'] });
  expect(plan(['train', 'eval linear'])).toThrow(/stage "eval linear" needs config: \(its benchmark config/);
  expect(plan(['train', { name: 'eval knn', config: LINEAR }])).toThrow(/stage "eval knn" takes no config/);
  expect(plan(['train', { name: 'eval linear', config: 'nope.yaml' }])).toThrow(/stage "eval linear" config nope.yaml does not exist/);
  // the benchmark config is part of the trial's identity
  const a = planSweep({ file: sweepDir(sweep).file, trainFlags: ['seed'] }).trials[0]!.id;
  const b = planSweep({ file: sweepDir({ ...sweep, stages: ['train', 'eval knn'], metrics: ['loss'] }).file, trainFlags: ['seed'] }).trials[0]!.id;
  expect(a).not.toBe(b);
});

/** gate: relative (issue 20): reference and candidate run interleaved A B A B in the same job; the ratio of medians is gated. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;

test('3 reference and 3 candidate runs, interleaved, train stage only; ratio of the medians gated by its tolerance', () => {
  const { file, dir } = sweepDir({
    ...SMOKE,
    configs: [SIMCLR],
    matrix: { 'optimizer.lr': [0.1] },
    launcher: 'none',
    launcher_options: {},
    stages: [{ name: 'train', args: ['--seed', '0', '--threads', '1'] }],
    metrics: ['images_per_s', 'loss'],
    gate: { mode: 'relative', repeats: 3, reference: { cfg_options: ['optimizer.momentum=0.8'] }, metrics: ['images_per_s'] },
    tolerance: { images_per_s: '50%' },
  });
  const out = join(dir, 'out');
  const r = runCli(['sweep', file, '--out', out], { timeoutMs: 300_000 });
  if (r.status !== 0) console.error(r.stderr);
  const s = json(join(out, 'summary.json'));
  const id = s.trials[0].id as string;
  const runs = ['ref0', 'cand0', 'ref1', 'cand1', 'ref2', 'cand2'].map((k) => json(join(out, 'gate', 'trials', `${id}.${k}`, 'state.json')));
  // interleaved: each run started after the one before it ended
  for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].endedAt));
  for (const run of runs) expect(run.stages.map((x: { name: string }) => x.name)).toEqual(['train']);
  // the reference side ran with the reference cfg-options
  expect(readFileSync(join(out, 'gate', 'trials', `${id}.ref0`, 'work', 'simclr_resnet18-cifar_1xb8-2it_synthetic.json'), 'utf8')).toContain('"momentum": 0.8');
  const ips = (side: string) => runs.filter((x) => new RegExp(`\\.${side}\\d$`).test(x.id)).map((x) => x.metrics.images_per_s as number);
  const ratio = median(ips('cand')) / median(ips('ref'));
  expect(s.gate).toHaveLength(1);
  expect(s.gate[0]).toMatchObject({ trial: id, metric: 'images_per_s (cand/ref)', baseline: 1, limit: 0.5 });
  expect(s.gate[0].value).toBeCloseTo(ratio, 10);
  expect(s.gate[0].ok).toBe(ratio >= 0.5);
  expect(r.status).toBe(ratio >= 0.5 ? 0 : 1);
  expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('### Relative gate');
}, 300_000);

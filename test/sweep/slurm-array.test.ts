/**
 * ssl sweep --slurm-array on the local Slurm cluster (issue 20): one sbatch --array per stage over the trials,
 * throttled with %N, the eval array waiting on the train array task by task (aftercorr); --no-wait, then
 * ssl sweep collect gathers the same results a per-trial chain gives.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { describeSlurm, sandbox } from '../slurm/slurm-env.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const scontrol = (id: string) => spawnSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8' }).stdout;

describeSlurm('ssl sweep --slurm-array', () => {
  test('one array per stage (%1 throttle, aftercorr), task ids per trial; collect gathers every trial (exit 0)', () => {
    const sb = sandbox({ SSL_SWEEP_POLL_MS: '500' });
    const { file, dir } = sweepDir({ ...SMOKE, name: 'array-smoke', configs: [SIMCLR], launcher: 'slurm', launcher_options: {} });
    const out = join(dir, 'out');
    const sub = runCli(['sweep', file, '--out', out, '--slurm-array', '--array-throttle', '1', '--no-wait'], { env: sb.env, timeoutMs: 120_000 });
    if (sub.status !== 0) console.error(sub.stderr);
    expect(sub.status).toBe(0);
    const plan = json(join(out, 'sweep.json'));
    expect(plan.trials).toHaveLength(2);
    const states = plan.trials.map((t: { id: string }) => json(join(out, 'trials', t.id, 'state.json')));
    const trainArray = states[0].stages[0].jobId.split('_')[0];
    const evalArray = states[0].stages[1].jobId.split('_')[0];
    // trial i is task i of each stage's array
    states.forEach((s: { stages: { jobId: string }[] }, i: number) => expect(s.stages.map((x) => x.jobId)).toEqual([`${trainArray}_${i}`, `${evalArray}_${i}`]));
    const script = readFileSync(join(out, 'slurm', 'train.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0-1%1');
    expect(script).toMatch(/ {2}0\) # \w+ simclr/);
    // the eval array waits on the train array's corresponding tasks; at most one train task runs at a time
    const ev = scontrol(`${evalArray}_1`);
    expect(ev).toMatch(new RegExp(`Dependency=(aftercorr:${trainArray}_\\*|\\(null\\))`));
    expect(scontrol(`${trainArray}_1`)).toMatch(/ArrayTaskThrottle=1|JobState=(RUNNING|COMPLETED|PENDING)/);

    const col = runCli(['sweep', 'collect', out], { env: sb.env, timeoutMs: 400_000 });
    if (col.status !== 0) console.error(col.stderr);
    expect(col.status).toBe(0);
    const summary = json(join(out, 'summary.json'));
    expect(summary.counts).toMatchObject({ trials: 2, done: 2 });
    for (const t of summary.trials) {
      expect(t.metrics['knn.top1']).toEqual(expect.any(Number));
      expect(t.metrics.loss).toBeGreaterThan(0);
      expect(readFileSync(join(out, 'trials', t.id, 'eval-knn.out'), 'utf8')).toContain(`"top1":${t.metrics['knn.top1']}`);
      expect(readFileSync(join(out, 'trials', t.id, 'train.log'), 'utf8')).toMatch(/Epoch \[1\]\[\d+\/\d+\]/);
    }
    // the train tasks ran one at a time (%1): task 1 started when task 0 had ended (slurmctld keeps them MinJobAge)
    const time = (id: string, key: string) => Date.parse(new RegExp(`${key}=(\\S+)`).exec(scontrol(id))![1]!);
    expect(time(`${trainArray}_1`, 'StartTime')).toBeGreaterThanOrEqual(time(`${trainArray}_0`, 'EndTime'));
  }, 500_000);

  test('bad input: --slurm-array with a local launcher, or multi-task trials, is one line, exit 2', () => {
    const { file } = sweepDir({ ...SMOKE, name: 'array-bad', configs: [SIMCLR] });
    const local = runCli(['sweep', file, '--slurm-array']);
    expect(local.status).toBe(2);
    expect(local.stderr.trim()).toBe("Error: --slurm-array needs launcher: slurm (the sweep's launcher is local)");
    const multi = sweepDir({ ...SMOKE, name: 'array-bad2', configs: [SIMCLR], launcher: 'slurm', launcher_options: { 'gpus-per-node': 2 } });
    const r = runCli(['sweep', multi.file, '--slurm-array', '--no-wait', '--out', join(multi.dir, 'out')], { env: sandbox().env });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('Error: --slurm-array: launcher_options.gpus-per-node is 2: an array task runs one process on one node; run without --slurm-array (one sbatch job per trial stage)');
  }, 60_000);
});

test('--dry-run --slurm-array prints each stage\'s array script (task i = trial i) and submits nothing', () => {
  const { file, dir } = sweepDir({ ...SMOKE, name: 'array-dry', launcher: 'slurm', launcher_options: { partition: 'debug' } });
  const r = runCli(['sweep', file, '--slurm-array', '--dry-run', '--out', join(dir, 'out')]);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`# ${join(dir, 'out', 'slurm', 'train.sbatch')}\n#!/bin/bash`);
  expect(r.stdout).toContain(`# ${join(dir, 'out', 'slurm', 'eval-knn.sbatch')} (sbatch --dependency=aftercorr:<train array id> --kill-on-invalid-dep=yes)`);
  // 2 configs x 2 lr, throttle = max_parallel 2, the sweep's partition
  expect(r.stdout.match(/#SBATCH --array=0-3%2/g)).toHaveLength(2);
  expect(r.stdout).toContain('#SBATCH --partition=debug');
  for (const task of [0, 1, 2, 3]) expect(r.stdout).toMatch(new RegExp(`\\n {2}${task}\\) # \\w{10} `));
  expect(r.stdout).toMatch(/ eval knn \S+\.json --checkpoint \S+latest\.ckpt --json > \S+eval-knn\.out 2>> \S+eval-knn\.log/);
});

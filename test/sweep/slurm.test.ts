/**
 * ssl sweep on the local Slurm cluster (issue 20): each trial a chain of real sbatch jobs (train through
 * ssl train --launcher slurm, then eval knn with --dependency=afterok on it); --no-wait exits after
 * submission; ssl sweep status shows the jobs; ssl sweep collect waits, gathers and reports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { describeSlurm, sandbox } from '../slurm/slurm-env.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describeSlurm('ssl sweep --launcher slurm', () => {
  test('--no-wait submits afterok chains; status lists the jobs; collect gathers the results (exit 0)', () => {
    const sb = sandbox({ SSL_SWEEP_POLL_MS: '500' });
    const { file, dir } = sweepDir({ ...SMOKE, name: 'slurm-smoke', configs: [SIMCLR], launcher: 'slurm', launcher_options: { 'gpus-per-node': 0 } });
    const out = join(dir, 'out');
    const sub = runCli(['sweep', file, '--out', out, '--no-wait'], { env: sb.env, timeoutMs: 120_000 });
    if (sub.status !== 0) console.error(sub.stderr);
    expect(sub.status).toBe(0);
    expect(sub.stderr).toContain(`ssl sweep collect ${out}`);
    const plan = json(join(out, 'sweep.json'));
    const states = plan.trials.map((t: { id: string }) => json(join(out, 'trials', t.id, 'state.json')));
    for (const s of states) {
      expect(s.status).toBe('running');
      expect(s.stages.map((x: { name: string; jobId: string }) => [x.name, /^\d+$/.test(x.jobId)])).toEqual([['train', true], ['eval knn', true]]);
    }
    // the last trial's eval job waits on its train job (which cannot have finished yet: it trains for seconds)
    const last = states[states.length - 1];
    const show = spawnSync('scontrol', ['show', 'job', '-o', last.stages[1].jobId], { encoding: 'utf8' }).stdout;
    expect(show).toContain(`Dependency=afterok:${last.stages[0].jobId}`);
    expect(show).toContain(`JobName=slurm-smoke-${last.id}-eval-knn`);

    const st = runCli(['sweep', 'status', out, '--json'], { env: sb.env });
    expect(st.status).toBe(0);
    const rows = JSON.parse(st.stdout);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(plan.trials.map((t: { id: string }) => t.id));
    expect(rows[rows.length - 1].stages[1]).toMatchObject({ name: 'eval knn', job: last.stages[1].jobId, jobState: expect.stringMatching(/^Slurm (PENDING|RUNNING|COMPLETED)/) });

    const col = runCli(['sweep', 'collect', out], { env: sb.env, timeoutMs: 400_000 });
    if (col.status !== 0) console.error(col.stderr);
    expect(col.status).toBe(0);
    const summary = json(join(out, 'summary.json'));
    expect(summary.counts).toMatchObject({ trials: 2, done: 2 });
    for (const t of summary.trials) {
      expect(t.metrics['knn.top1']).toEqual(expect.any(Number));
      expect(t.metrics.loss).toBeGreaterThan(0);
      // kNN's own output, kept by its sbatch job
      expect(readFileSync(join(out, 'trials', t.id, 'eval-knn.out'), 'utf8')).toContain(`"top1":${t.metrics['knn.top1']}`);
    }
    const done = runCli(['sweep', 'status', out], { env: sb.env });
    expect(done.stdout).toMatch(/2 trials: 2 done, 0 failed, 0 running, 0 waiting/);
  }, 500_000);
});

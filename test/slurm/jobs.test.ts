import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRIPTED_WORKER, cli, describeSlurm, jobIdIn, sandbox, scratchConfig, until } from './slurm-env.js';

// Failure and cancel paths of the Slurm launcher through the real CLI and a real local Slurm.
// The workers are test/slurm/fixtures/scripted-worker.js (via SSL_WORKER_ENTRY) so that rank 1 fails on demand.
describeSlurm('ssl jobs against a local Slurm', () => {
  test('rank 1 failing makes --wait exit non-zero; jobs logs --rank 1 shows its error; status FAILED', () => {
    const sb = sandbox({ SSL_WORKER_ENTRY: SCRIPTED_WORKER, SSL_TEST_WORKER_MODE: 'fail-rank1' });
    const cfg = scratchConfig(sb.dir);
    const r = cli(['train', cfg, '--launcher', 'slurm', '--gpus-per-node', '0', '--tasks-per-node', '2', '--wait', '--work-dir', sb.workDir], sb.env);
    const id = jobIdIn(sb.workDir);
    expect(r.stderr).toContain(`Submitted slurm job ${id}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ended FAILED/);

    const logs1 = cli(['jobs', 'logs', id, '--rank', '1'], sb.env);
    expect(logs1.status).toBe(0);
    expect(logs1.stdout).toContain('RuntimeError: simulated failure on rank 1');
    const logs0 = cli(['jobs', 'logs', id], sb.env);
    expect(logs0.stdout).toContain('[rank 0/2] started');
    expect(logs0.stdout).not.toContain('simulated failure');

    // srun's exit code: the largest of the tasks' (rank 0 was terminated by srun: 128 + SIGTERM).
    const st = JSON.parse(cli(['jobs', 'status', id, '--json'], sb.env).stdout);
    expect(st).toMatchObject({ launcher: 'slurm', id, state: 'FAILED' });
    expect(st.exitCode).toBeGreaterThan(0);
    expect(readFileSync(join(sb.workDir, `slurm-${id}.exitcode`), 'utf8').trim()).toBe(String(st.exitCode));
  });

  test('jobs cancel ends a running job and jobs status reports CANCELLED', async () => {
    const sb = sandbox({ SSL_WORKER_ENTRY: SCRIPTED_WORKER, SSL_TEST_WORKER_MODE: 'sleep' });
    const cfg = scratchConfig(sb.dir);
    const sub = cli(['train', cfg, '--launcher', 'slurm', '--tasks-per-node', '2', '--work-dir', sb.workDir], sb.env);
    expect(sub.status).toBe(0);
    const id = jobIdIn(sb.workDir);
    const rank1Log = join(sb.workDir, `slurm-${id}-rank1.log`);
    await until(() => existsSync(rank1Log) && readFileSync(rank1Log, 'utf8').includes('tick 1'), 20_000, 'rank 1 to run');
    expect(cli(['jobs', 'status', id], sb.env).stdout).toMatch(new RegExp(`^slurm job ${id}: RUNNING`));

    const c = cli(['jobs', 'cancel', id], sb.env);
    expect(c.status).toBe(0);
    expect(c.stdout).toContain(`Cancelled slurm job ${id}`);
    const w = cli(['jobs', 'status', id, '--wait'], sb.env);
    expect(w.stdout).toMatch(new RegExp(`^slurm job ${id}: CANCELLED`));
    expect(w.status).not.toBe(0);
    // The workers are gone: the log stops growing.
    const size = readFileSync(rank1Log).length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(readFileSync(rank1Log).length).toBe(size);
  });

  test('an unknown job id is a one-line error', () => {
    const sb = sandbox();
    const r = cli(['jobs', 'status', '999999'], sb.env);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Slurm job 999999 is unknown/);
  });
});

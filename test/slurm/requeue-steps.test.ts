import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_CONFIG, cli, describeSlurm, jobIdIn, sandbox, until } from './slurm-env.js';

const scontrol = (id: string) => spawnSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8' }).stdout;

// When the signal reaches only the workers (`--signal=USR1@90` without B:, an admin's `scancel --signal=USR1`),
// the batch script sees their exit code 75 ("stopped after a checkpoint") and requeues all the same.
describeSlurm('--requeue on the workers\' exit code', () => {
  test('SIGUSR1 to the tasks only: rank 0 checkpoints, the workers exit 75, the job is requeued', async () => {
    const sb = sandbox();
    const r = cli(['train', TINY_CONFIG, '--launcher', 'slurm', '--tasks-per-node', '2', '--requeue', '--work-dir', sb.workDir, '--cfg-options', 'runner.max_epochs=12'], sb.env);
    expect(r.status).toBe(0);
    const id = jobIdIn(sb.workDir);
    const rank0 = join(sb.workDir, `slurm-${id}-rank0.log`);
    await until(() => existsSync(rank0) && readFileSync(rank0, 'utf8').includes('Epoch [1]'), 90_000, 'the first epoch');
    expect(spawnSync('scancel', ['--signal=USR1', id]).status).toBe(0);
    await until(() => /Restarts=1/.test(scontrol(id)), 60_000, 'the job to be requeued');
    expect(readFileSync(rank0, 'utf8')).toMatch(/SIGUSR1: saved \S+iter_\d+\.ckpt/);
    const batchErr = readFileSync(join(sb.workDir, `slurm-${id}.err`), 'utf8');
    expect(batchErr).not.toContain('SIGUSR1 received'); // the batch shell did not see the signal
    expect(batchErr).toContain(`ssl: requeueing job ${id} (workers exited with 75)`);
    expect(spawnSync('scancel', [id]).status).toBe(0);
  }, 240_000); // under a full CI run (two jest workers, 8 oversubscribed Slurm CPUs) the first epoch took over 30 s once
});

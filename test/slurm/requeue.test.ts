import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_CONFIG, cli, describeSlurm, jobIdIn, sandbox, until } from './slurm-env.js';

const scontrol = (id: string) => spawnSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8' }).stdout;

// Pre-emption with the real worker: SIGUSR1 -> rank 0 checkpoints -> requeue -> --auto-resume.
describeSlurm('--requeue with the real worker', () => {
  test('a pre-empted training job checkpoints, requeues and resumes to completion', async () => {
    const sb = sandbox();
    const epochs = 12;
    const r = cli(['train', TINY_CONFIG, '--launcher', 'slurm', '--tasks-per-node', '2', '--requeue', '--work-dir', sb.workDir, '--cfg-options', `runner.max_epochs=${epochs}`], sb.env);
    expect(r.status).toBe(0);
    const id = jobIdIn(sb.workDir);
    const rank0 = join(sb.workDir, `slurm-${id}-rank0.log`);
    const log0 = () => (existsSync(rank0) ? readFileSync(rank0, 'utf8') : '');
    await until(() => log0().includes('Epoch [1]'), 30_000, 'the first epoch');
    expect(spawnSync('scancel', ['--batch', '--signal=USR1', id]).status).toBe(0);
    await until(() => /Restarts=1/.test(scontrol(id)), 30_000, 'the job to be requeued');
    const saved = /SIGUSR1: saved (\S+\.ckpt)/.exec(log0())?.[1];
    expect(saved).toBeDefined();
    expect(readFileSync(join(sb.workDir, `slurm-${id}.err`), 'utf8')).toContain(`ssl: requeueing job ${id} (workers exited with 75)`);
    expect(log0()).not.toContain(`Epoch [${epochs}]`);
    // Slurm holds a requeued job back ~2 minutes (BeginTime) so that slurmd has dropped the revoked job
    // credential; a start within the same second fails ("Job credential revoked"). Release it in 3 s.
    expect(spawnSync('scontrol', ['update', `JobId=${id}`, 'StartTime=now+3']).status).toBe(0);

    const w = cli(['jobs', 'status', id, '--wait'], sb.env, 90_000);
    expect(w.stdout).toMatch(/SUCCEEDED \(exit code 0\).*restarts 1/);
    const log = log0();
    expect(log).toContain(`auto-resume: found ${saved}`); // the checkpoint written on the signal
    expect(log).toContain(`Epoch [${epochs}]`);
    expect(log.match(/Epoch \[1\]\[/g)).toHaveLength(1); // the second run did not start over
  });
});

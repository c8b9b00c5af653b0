import { SCRIPTED_WORKER, cli, describeSlurm, jobIdIn, sandbox, scratchConfig } from './slurm-env.js';

// `ssl train --follow` and `ssl jobs logs --follow` through the real CLI and a real local Slurm.
describeSlurm('following logs against a local Slurm', () => {
  test('train --follow streams rank 0 to the end and exits 0; jobs logs --follow of an ended job prints it all', () => {
    const sb = sandbox({ SSL_WORKER_ENTRY: SCRIPTED_WORKER, SSL_TEST_WORKER_MODE: 'sleep', SSL_TEST_TICKS: '2' });
    const r = cli(['train', scratchConfig(sb.dir), '--launcher', 'slurm', '--tasks-per-node', '2', '--follow', '--work-dir', sb.workDir], sb.env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\[rank 0\/2\] started[^]*tick 2\n[^]*\[rank 0\/2\] done\n/);
    expect(r.stdout).not.toContain('[rank 1/2]');
    const id = jobIdIn(sb.workDir);
    const again = cli(['jobs', 'logs', id, '--rank', '1', '--follow'], sb.env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('[rank 1/2] done');
    expect(cli(['jobs', 'status', id], sb.env).stdout).toMatch(new RegExp(`^slurm job ${id}: SUCCEEDED \\(exit code 0\\)`));
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TINY_CONFIG, cli, describeSlurm, jobIdIn, sandbox } from './slurm-env.js';

// The acceptance run: the real worker (bin/ssl-worker.js) on 2 Slurm tasks of the local cluster.
describeSlurm('ssl train --launcher slurm with the real worker', () => {
  test('a 2-task CPU job trains to completion: both ranks rendezvous, checkpoint and logs in the work dir, exit 0', () => {
    const config = TINY_CONFIG;
    const sb = sandbox();
    const r = cli(['train', config, '--launcher', 'slurm', '--gpus-per-node', '0', '--tasks-per-node', '2', '--wait', '--work-dir', sb.workDir], sb.env, 240_000);
    const id = jobIdIn(sb.workDir);
    const files = readdirSync(sb.workDir);
    const rankLog = (n: number) => readFileSync(join(sb.workDir, `slurm-${id}-rank${n}.log`), 'utf8');
    if (r.status !== 0) console.error(`job ${id} failed:\n${r.stderr}\nrank 0:\n${rankLog(0)}\nrank 1:\n${rankLog(1)}`);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`Submitted slurm job ${id}`);
    expect(files.filter((f) => /\.ckpt$/.test(f)).length).toBeGreaterThan(0);
    expect(files.some((f) => /^\d{8}_\d{6}\.log$/.test(f))).toBe(true);
    expect(files).toContain('latest.ckpt');
    // srun gave each rank its own log (rank 1 logs only errors, as MMSelfSup's non-zero ranks), and both
    // joined one distributed job: the data were split over 2 ranks, so an epoch has half the iterations
    // a single process would run.
    expect(existsSync(join(sb.workDir, `slurm-${id}-rank1.log`))).toBe(true);
    expect(rankLog(0)).toContain('Distributed training: true');
    const cfg = JSON.parse(readFileSync(join(sb.workDir, basename(config).replace(/\.ya?ml$/, '.json')), 'utf8'));
    const itersPerEpoch = Math.floor(cfg.data.train.data_source.num_samples / (cfg.data.samples_per_gpu * 2));
    expect(rankLog(0)).toContain(`Epoch [1][${itersPerEpoch}/${itersPerEpoch}]`);
    const st = JSON.parse(cli(['jobs', 'status', id, '--json'], sb.env).stdout);
    expect(st).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
  });
});

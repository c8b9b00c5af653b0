import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_CONFIG, cli, describeSlurm, jobIdIn, sandbox } from './slurm-env.js';

// ssl eval knn as a job of the local Slurm: 2 tasks of the real worker in evaluation mode (MMSelfSup's slurm_test_knn.sh)
describeSlurm('ssl eval knn --launcher slurm with the real worker', () => {
  test('2 tasks extract their shares, rank 0 writes WORK_DIR/eval/knn.json; --wait prints the single-process result', () => {
    const sb = sandbox();
    const opts = ['--k', '3', '--json', '--backend', 'wasm', '--cfg-options', 'knn.samples_per_gpu=4'];
    const one = cli(['eval', 'knn', TINY_CONFIG, ...opts], sb.env, 120_000);
    expect(one.status).toBe(0);
    const r = cli(['eval', 'knn', TINY_CONFIG, ...opts, '--launcher', 'slurm', '--gpus-per-node', '0', '--tasks-per-node', '2', '--wait', '--work-dir', sb.workDir], sb.env, 120_000);
    const jobDir = join(sb.workDir, 'eval', 'knn');
    const id = jobIdIn(jobDir);
    if (r.status !== 0) console.error(`job ${id} failed:\n${r.stderr}\nrank 0:\n${readFileSync(join(jobDir, `slurm-${id}-rank0.log`), 'utf8')}`);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`Submitted slurm job ${id}`);
    const a = JSON.parse(one.stdout.trim().split('\n').at(-1)!);
    const b = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect({ top1: b.top1, top5: b.top5, numTrain: b.numTrain }).toEqual({ top1: a.top1, top5: a.top5, numTrain: a.numTrain });
    expect(JSON.parse(readFileSync(join(sb.workDir, 'eval', 'knn.json'), 'utf8'))).toMatchObject({ name: 'knn', world_size: 2, value: a.top1 });
    expect(readFileSync(join(jobDir, `slurm-${id}-rank0.log`), 'utf8')).toContain('ssl eval knn: 2 rank(s)');
  });
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../../launchers/launcher.js';
import { resolveSlurmOptions, slurmOptionsFromFlags } from '../../launchers/slurm/options.js';
import { renderSbatchScript } from '../../launchers/slurm/script.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');

function job(over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'simclr_resnet50_8xb32-coslr-200e_in1k',
    runId: 'run-0001',
    workDir: '/scratch/work_dirs/simclr',
    configPath: '/scratch/work_dirs/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.json',
    workerArgs: ['--seed', '0', '--port', '29501'],
    nodes: 1,
    procsPerNode: 1,
    gpusPerNode: 0,
    port: 29501,
    env: { NCCL_DEBUG: 'INFO', SSL_NOTE: "it's here" },
    ...over,
  };
}

const defaults = { chdir: '/home/me/project', workerEntry: '/opt/ssl/bin/ssl-worker.js' };

/** Compares with the golden file byte for byte; UPDATE_GOLDEN=1 rewrites it (review the diff!). */
function expectGolden(name: string, text: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 and review it`);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

describe('sbatch script rendering', () => {
  test('multi-node GPU job with every option and requeue matches the golden script', () => {
    const flags = {
      partition: 'gpu', 'job-name': 'simclr', nodes: 2, 'gpus-per-node': 8, 'cpus-per-task': 5, time: '2-00:00:00',
      account: 'vision', qos: 'high', 'srun-args': '--mpi=none --export=ALL', 'sbatch-args': '--mem=0 --exclusive', requeue: true,
    };
    const o = resolveSlurmOptions(slurmOptionsFromFlags(flags, {}), job(), defaults);
    expectGolden('multinode-gpu-requeue.sbatch', renderSbatchScript(job(), o));
  });

  test('CPU-only job from defaults matches the golden script', () => {
    const o = resolveSlurmOptions(slurmOptionsFromFlags({ 'tasks-per-node': 2 }, {}), job({ env: {} }), defaults);
    expectGolden('cpu-2tasks.sbatch', renderSbatchScript(job({ env: {} }), o));
  });

  test('GPU count sets ntasks-per-node and gres; zero GPUs emits no gres line', () => {
    const gpu = renderSbatchScript(job(), resolveSlurmOptions(slurmOptionsFromFlags({ 'gpus-per-node': 4 }, {}), job(), defaults));
    expect(gpu).toContain('#SBATCH --ntasks-per-node=4\n');
    expect(gpu).toContain('#SBATCH --gres=gpu:4\n');
    const cpu = renderSbatchScript(job(), resolveSlurmOptions(slurmOptionsFromFlags({}, {}), job(), defaults));
    expect(cpu).toContain('#SBATCH --ntasks-per-node=1\n');
    expect(cpu).not.toContain('--gres');
    expect(cpu).not.toContain('--signal');
    expect(cpu).not.toContain('--auto-resume');
  });

  test('requeue adds the signal, --requeue and --auto-resume for the workers', () => {
    const s = renderSbatchScript(job(), resolveSlurmOptions(slurmOptionsFromFlags({ requeue: true }, {}), job(), defaults));
    expect(s).toContain('#SBATCH --requeue\n#SBATCH --signal=B:USR1@90\n');
    expect(s).toMatch(/--port 29501 --checkpoint-on-signal --auto-resume &\n/);
    expect(s).toContain('scontrol requeue "$SLURM_JOB_ID"');
  });

  test('a work dir with spaces is refused with what to change', () => {
    const j = job({ workDir: '/tmp/my work' });
    expect(() => renderSbatchScript(j, resolveSlurmOptions({}, j, defaults))).toThrow(/white space.*without spaces/);
  });
});

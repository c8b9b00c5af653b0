import { LauncherError } from '../../src/errors.js';
import { isSlurmJobId } from '../../launchers/slurm/job-id.js';
import { resolveSlurmOptions, slurmOptionsFromFlags } from '../../launchers/slurm/options.js';
import { checkAgainstPartitions, gpusInGres, parsePartitions } from '../../launchers/slurm/preflight.js';
import { shellQuote, splitShellWords } from '../../launchers/slurm/shell.js';
import { mapSlurmState, parseExitCode, parseScontrolLine } from '../../launchers/slurm/status.js';

const job = { name: 'cfg', nodes: 1, gpusPerNode: 0, procsPerNode: 1 };
const defaults = { chdir: '/w', workerEntry: '/ssl/bin/ssl-worker.js' };
const resolve = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => resolveSlurmOptions(slurmOptionsFromFlags(flags, env), job, defaults);

describe('options from flags and slurm_train.sh environment variables', () => {
  test('tasks per node default to GPUs per node, or 1 without GPUs', () => {
    expect(resolve({ 'gpus-per-node': 8 }).tasksPerNode).toBe(8);
    expect(resolve({ 'gpus-per-node': 0 }).tasksPerNode).toBe(1);
    expect(resolve({ 'gpus-per-node': 8, 'tasks-per-node': 2 }).tasksPerNode).toBe(2);
  });

  test('flags win over PARTITION, JOB_NAME, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS', () => {
    const env = { PARTITION: 'envp', JOB_NAME: 'envjob', GPUS_PER_NODE: '4', CPUS_PER_TASK: '5', SRUN_ARGS: '--mpi=pmix' };
    const fromEnv = resolve({}, env);
    expect(fromEnv).toMatchObject({ partition: 'envp', jobName: 'envjob', gpusPerNode: 4, tasksPerNode: 4, cpusPerTask: 5, srunArgs: ['--mpi=pmix'] });
    const fromFlags = resolve({ partition: 'p', 'job-name': 'j', 'gpus-per-node': 2, 'cpus-per-task': 3, 'srun-args': '-l' }, env);
    expect(fromFlags).toMatchObject({ partition: 'p', jobName: 'j', gpusPerNode: 2, cpusPerTask: 3, srunArgs: ['-l'] });
  });

  test('GPUS (total processes) with GPUS_PER_NODE gives the node count, as slurm_train.sh', () => {
    expect(resolve({}, { GPUS: '16', GPUS_PER_NODE: '8' })).toMatchObject({ nodes: 2, tasksPerNode: 8, gpusPerNode: 8 });
    expect(resolve({}, { GPUS: '4' })).toMatchObject({ nodes: 1, tasksPerNode: 4, gpusPerNode: 4 });
    const odd = resolve({}, { GPUS: '12', GPUS_PER_NODE: '8' });
    expect(odd).toMatchObject({ nodes: 2, tasksPerNode: 8, totalTasks: 12 });
    expect(resolve({ nodes: 3 }, { GPUS: '16', GPUS_PER_NODE: '8' }).nodes).toBe(3);
  });

  test('a job name is made safe for Slurm', () => {
    expect(resolve({ 'job-name': 'my job/1' }).jobName).toBe('my_job_1');
  });

  test('non-numeric environment values are one-line errors', () => {
    expect(() => slurmOptionsFromFlags({}, { CPUS_PER_TASK: 'five' })).toThrow(LauncherError);
    expect(() => slurmOptionsFromFlags({}, { CPUS_PER_TASK: 'five' })).toThrow('CPUS_PER_TASK must be a whole number, got "five"');
    expect(() => resolve({ nodes: 0 })).toThrow('--nodes must be at least 1');
  });
});

describe('shell words', () => {
  test('split like a shell: quotes group, backslash escapes', () => {
    expect(splitShellWords(`--a=1  -b "two words" 'it''s' c\\ d ""`)).toEqual(['--a=1', '-b', 'two words', 'its', 'c d', '']);
    expect(() => splitShellWords('--x "open')).toThrow(/unbalanced " quote/);
  });
  test('quote round-trips through split', () => {
    const words = ['plain', 'with space', "it's", '$HOME', ''];
    expect(splitShellWords(words.map(shellQuote).join(' '))).toEqual(words);
  });
});

describe('sinfo partitions and the up-front checks', () => {
  const sinfo = 'debug*|up|1|8|(null)\ngpu|up|4|64|gpu:a100:8(S:0-1)\ngpu|up|2|32|gpu:4,mps:100\n';
  const parts = parsePartitions(sinfo);

  test('gres strings', () => {
    expect(gpusInGres('(null)')).toBe(0);
    expect(gpusInGres('gpu:8')).toBe(8);
    expect(gpusInGres('gpu:a100:4(S:0-1)')).toBe(4);
    expect(gpusInGres('gpu:a100:2,gpu:v100:1,mps:100')).toBe(3);
  });

  test('partitions merge node groups: nodes add up, the largest node counts', () => {
    expect(parts).toEqual([
      { name: 'debug', isDefault: true, up: true, nodes: 1, maxCpusPerNode: 8, maxGpusPerNode: 0 },
      { name: 'gpu', isDefault: false, up: true, nodes: 6, maxCpusPerNode: 64, maxGpusPerNode: 8 },
    ]);
  });

  test('checks: partition, GPUs, nodes, CPUs', () => {
    expect(checkAgainstPartitions(resolve({}), parts).name).toBe('debug');
    expect(checkAgainstPartitions(resolve({ partition: 'gpu', 'gpus-per-node': 8, nodes: 6 }), parts).name).toBe('gpu');
    expect(() => checkAgainstPartitions(resolve({ partition: 'gpus' }), parts)).toThrow('unknown Slurm partition "gpus": use --partition (or PARTITION) with one of debug, gpu');
    expect(() => checkAgainstPartitions(resolve({ 'gpus-per-node': 1 }), parts)).toThrow('partition debug has at most 0 GPU(s) per node, 1 asked');
    expect(() => checkAgainstPartitions(resolve({ partition: 'gpu', 'gpus-per-node': 9 }), parts)).toThrow('at most 8 GPU(s) per node, 9 asked');
    expect(() => checkAgainstPartitions(resolve({ partition: 'gpu', nodes: 7 }), parts)).toThrow('partition gpu has 6 node(s), 7 asked');
    expect(() => checkAgainstPartitions(resolve({ 'tasks-per-node': 3, 'cpus-per-task': 3 }), parts)).toThrow('at most 8 CPUs per node');
  });
});

describe('job states and exit codes', () => {
  test('Slurm states map to the neutral ones', () => {
    expect(mapSlurmState('COMPLETED')).toBe('SUCCEEDED');
    expect(mapSlurmState('CANCELLED by 0')).toBe('CANCELLED');
    expect(mapSlurmState('PENDING')).toBe('PENDING');
    expect(mapSlurmState('REQUEUED')).toBe('PENDING');
    expect(mapSlurmState('COMPLETING')).toBe('RUNNING');
    expect(mapSlurmState('TIMEOUT')).toBe('FAILED');
    expect(mapSlurmState('OUT_OF_MEMORY')).toBe('FAILED');
    expect(mapSlurmState('WHATEVER')).toBe('UNKNOWN');
  });
  test('ExitCode code:signal', () => {
    expect(parseExitCode('0:0')).toBe(0);
    expect(parseExitCode('3:0')).toBe(3);
    expect(parseExitCode('0:15')).toBe(143);
    expect(parseExitCode('n/a')).toBeUndefined();
  });
  test('scontrol -o lines, values with spaces', () => {
    const line = 'JobId=12 JobName=a b UserId=root(0) JobState=FAILED Reason=NonZeroExitCode ExitCode=143:0 StdOut=/w d/slurm-12.out';
    expect(parseScontrolLine(line)).toMatchObject({ JobId: '12', JobName: 'a b', JobState: 'FAILED', ExitCode: '143:0', StdOut: '/w d/slurm-12.out' });
  });
  test('job ids', () => {
    expect(['12', '12_3', '12+1'].every(isSlurmJobId)).toBe(true);
    expect(['simclr-x', '12a', ''].some(isSlurmJobId)).toBe(false);
  });
});

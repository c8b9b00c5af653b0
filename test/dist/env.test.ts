import { needsAgent, readDistEnv, readDistParams } from '../../src/dist/env.js';
import { expandNodelist } from '../../src/dist/nodelist.js';

describe('readDistEnv precedence table', () => {
  const cases: [string, NodeJS.ProcessEnv, Partial<ReturnType<typeof readDistEnv>>][] = [
    ['no variables: single', {}, { source: 'single', rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500 }],
    [
      'torchrun worker',
      { MASTER_ADDR: 'h0', MASTER_PORT: '1234', WORLD_SIZE: '8', RANK: '5', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4', GROUP_RANK: '1' },
      { source: 'torchrun', rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, nodeRank: 1, nnodes: 2, masterAddr: 'h0', masterPort: 1234 },
    ],
    [
      'torchrun wins over Slurm and PyTorchJob variables around it',
      { RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', SLURM_PROCID: '0', SLURM_NTASKS: '2', PET_NODE_RANK: '1', JOB_COMPLETION_INDEX: '1' },
      { source: 'torchrun', rank: 3, worldSize: 4, nodeRank: 1, nnodes: 2 },
    ],
    [
      'slurm task, master from the node list',
      { SLURM_PROCID: '6', SLURM_LOCALID: '2', SLURM_NTASKS: '8', SLURM_NNODES: '2', SLURM_NODEID: '1', SLURM_NTASKS_PER_NODE: '4', SLURM_JOB_NODELIST: 'gpu[07-08]' },
      { source: 'slurm', rank: 6, worldSize: 8, localRank: 2, localWorldSize: 4, nodeRank: 1, nnodes: 2, masterAddr: 'gpu07', masterPort: 29500 },
    ],
    [
      'slurm: MASTER_ADDR in the environment wins over the node list; --port fallback used',
      { SLURM_PROCID: '0', SLURM_NTASKS: '1', SLURM_JOB_NODELIST: 'a[1-2]', MASTER_ADDR: 'x' },
      { source: 'slurm', masterAddr: 'x', masterPort: 40000, localWorldSize: 1 },
    ],
    [
      'slurm without --ntasks-per-node: SLURM_TASKS_PER_NODE "2(x3)"',
      { SLURM_PROCID: '5', SLURM_NTASKS: '6', SLURM_NNODES: '3', SLURM_NODEID: '2', SLURM_LOCALID: '1', SLURM_TASKS_PER_NODE: '2(x3)', SLURM_NODELIST: 'n[1-3]' },
      { source: 'slurm', rank: 5, localWorldSize: 2, nodeRank: 2, masterAddr: 'n1' },
    ],
    [
      'slurm wins over a stale RANK/WORLD_SIZE pair',
      { SLURM_PROCID: '1', SLURM_NTASKS: '2', RANK: '0', WORLD_SIZE: '1' },
      { source: 'slurm', rank: 1, worldSize: 2 },
    ],
    [
      'indexed job pod',
      { JOB_COMPLETION_INDEX: '2', PET_NNODES: '3', PET_NPROC_PER_NODE: '2', MASTER_ADDR: 'job-0.svc', MASTER_PORT: '29501', PET_NODE_RANK: '2' },
      { source: 'indexed-job', nodeRank: 2, nnodes: 3, localWorldSize: 2, rank: 4, localRank: 0, worldSize: 6, masterAddr: 'job-0.svc', masterPort: 29501 },
    ],
    [
      'pytorchjob pod: RANK is the node rank, WORLD_SIZE = replicas x nproc',
      { RANK: '1', WORLD_SIZE: '4', PET_NODE_RANK: '1', PET_NNODES: '2', PET_NPROC_PER_NODE: '2', MASTER_ADDR: 'j-master-0', MASTER_PORT: '23456', PET_MASTER_ADDR: 'j-master-0' },
      { source: 'pytorchjob', nodeRank: 1, nnodes: 2, localWorldSize: 2, rank: 2, worldSize: 4, masterAddr: 'j-master-0', masterPort: 23456 },
    ],
    [
      'pytorchjob elastic min:max and nproc auto',
      { PET_NNODES: '1:3', PET_NODE_RANK: '0', PET_NPROC_PER_NODE: 'auto', PET_MASTER_ADDR: 'm', PET_MASTER_PORT: '23456' },
      { source: 'pytorchjob', nnodes: 3, localWorldSize: 1, worldSize: 3, masterAddr: 'm', masterPort: 23456 },
    ],
    [
      'env:// RANK/WORLD_SIZE without LOCAL_RANK',
      { RANK: '2', WORLD_SIZE: '3', MASTER_ADDR: 'm' },
      { source: 'torchrun', rank: 2, worldSize: 3, localRank: 0, localWorldSize: 1, nodeRank: 2, nnodes: 3 },
    ],
    [
      'dist_train.sh node variables',
      { NNODES: '2', NODE_RANK: '1', PORT: '29600', MASTER_ADDR: '10.0.0.1', GPUS: '4' },
      { source: 'dist_train.sh', nodeRank: 1, nnodes: 2, localWorldSize: 4, rank: 4, worldSize: 8, masterAddr: '10.0.0.1', masterPort: 29600 },
    ],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    const defaults = _name.includes('--port') ? { port: 40000 } : {};
    expect(readDistEnv(env, defaults)).toMatchObject(expected);
  });

  it('MASTER_PORT beats --port, which beats dist_train.sh PORT', () => {
    expect(readDistEnv({ MASTER_PORT: '1', PORT: '2' }, { port: 3 }).masterPort).toBe(1);
    expect(readDistEnv({ PORT: '2' }, { port: 3 }).masterPort).toBe(3);
    expect(readDistEnv({ PORT: '2' }).masterPort).toBe(2);
  });

  it('empty strings count as unset', () => {
    expect(readDistEnv({ RANK: '', WORLD_SIZE: '', LOCAL_RANK: '' }).source).toBe('single');
  });

  it('rejects garbage and inconsistent ranks with a message naming the variable', () => {
    expect(() => readDistEnv({ RANK: 'x', WORLD_SIZE: '2', LOCAL_RANK: '0' })).toThrow(/RANK="x"/);
    expect(() => readDistEnv({ RANK: '2', WORLD_SIZE: '2', LOCAL_RANK: '0' })).toThrow(/rank 2 is not below world size 2/);
    expect(() => readDistEnv({ NNODES: '2', NODE_RANK: '2' })).toThrow(/node rank 2/);
  });

  it('needsAgent only for node-level sources with several local processes', () => {
    expect(needsAgent(readDistEnv({ NNODES: '1', GPUS: '2' }))).toBe(true);
    expect(needsAgent(readDistEnv({ NNODES: '2', GPUS: '1' }))).toBe(false);
    expect(needsAgent(readDistEnv({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0' }))).toBe(false);
  });

  it('dist_params defaults', () => {
    expect(readDistParams({})).toEqual({ port: 29500, timeoutS: 300 });
    expect(readDistParams({ dist_params: { backend: 'nccl', port: 29511, timeout: 60 } })).toEqual({ port: 29511, timeoutS: 60 });
  });
});

describe('expandNodelist', () => {
  it('expands ranges, lists, padding and products like scontrol show hostnames', () => {
    expect(expandNodelist('node[01-03,7]')).toEqual(['node01', 'node02', 'node03', 'node7']);
    expect(expandNodelist('a1,b[2-3],c')).toEqual(['a1', 'b2', 'b3', 'c']);
    expect(expandNodelist('r[1-2]n[1-2]')).toEqual(['r1n1', 'r1n2', 'r2n1', 'r2n2']);
    expect(expandNodelist('single')).toEqual(['single']);
    expect(() => expandNodelist('n[1-')).toThrow(/MASTER_ADDR/);
  });
});

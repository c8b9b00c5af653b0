import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { JobSpec } from '../../launchers/launcher.js';
import { createLauncher, localRequest } from '../../launchers/local/index.js';
import { parseAgentArgs, agentPlan } from '../../launchers/local/agent.js';
import { visibleGpus } from '../../launchers/local/gpus.js';
import { compileForChildren, freePort, isGone, REPO, runNode } from './helpers.js';

const FIX = join(REPO, 'test', 'dist', 'fixtures');
const FAKE = join(FIX, 'fake-worker.mjs');

function job(over: Partial<JobSpec> = {}): JobSpec {
  return { name: 'j', runId: 'run1', workDir: '/w', configPath: '/w/c.json', workerArgs: ['--port', '29500'], nodes: 1, procsPerNode: 1, gpusPerNode: 0, port: 29500, env: {}, ...over };
}

describe('local launcher request', () => {
  it('--gpus N starts N ranks with torchrun variables, pinned to GPUs only when there are some', () => {
    const cpu = localRequest(job(), { gpus: 2, env: {}, workerScript: 'w.js', cpus: 16 }, []);
    expect(cpu.processes.map((p) => p.env.RANK)).toEqual(['0', '1']);
    expect(cpu.processes[1].env).toMatchObject({ LOCAL_RANK: '1', WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500', SSL_RUN_ID: 'run1' });
    expect(cpu.processes[0].env.CUDA_VISIBLE_DEVICES).toBeUndefined();
    expect(cpu.processes[0].args).toEqual(['w.js', '--config', '/w/c.json', '--work-dir', '/w', '--port', '29500']);
    const gpu = localRequest(job(), { 'nproc-per-node': 2, env: {} }, ['4', '5']);
    expect(gpu.processes.map((p) => p.env.CUDA_VISIBLE_DEVICES)).toEqual(['4', '5']);
  });

  it('at least one worker per core: workers run node --single-threaded (no V8 helper threads), as torchrun sets OMP_NUM_THREADS=1', () => {
    const args = (gpus: number, cpus: number) => localRequest(job(), { gpus, env: {}, workerScript: 'w.js', cpus }, []).processes.map((p) => p.args[0]);
    expect(args(2, 2)).toEqual(['--single-threaded', '--single-threaded']);
    expect(args(3, 2)).toEqual(Array(3).fill('--single-threaded'));
    expect(args(2, 4)).toEqual(['w.js', 'w.js']);
    expect(args(1, 1)).toEqual(['w.js']);
  });

  it('each worker gets cores / workers native-engine threads (OMP_NUM_THREADS), at least 1', () => {
    const omp = (gpus: number, cpus: number) => localRequest(job(), { gpus, env: {}, workerScript: 'w.js', cpus }, []).processes.map((p) => p.env.OMP_NUM_THREADS);
    if (process.env.OMP_NUM_THREADS !== undefined) return; // the user's own setting is passed through untouched
    expect(omp(2, 8)).toEqual(['4', '4']);
    expect(omp(3, 8)).toEqual(['2', '2', '2']);
    expect(omp(4, 2)).toEqual(['1', '1', '1', '1']);
  });

  it('manual multi-machine: flags over the seed\'s env variables (NNODES, NODE_RANK, MASTER_ADDR, PORT, GPUS)', () => {
    const env = { NNODES: '2', NODE_RANK: '1', MASTER_ADDR: '10.0.0.1', PORT: '29600', GPUS: '4' };
    const fromEnv = localRequest(job(), { env }, []);
    expect(fromEnv).toMatchObject({ nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.1', port: 29600, nprocPerNode: 4 });
    expect(fromEnv.processes.map((p) => p.env.RANK)).toEqual(['4', '5', '6', '7']);
    expect(fromEnv.processes[0].env.WORLD_SIZE).toBe('8');
    const flags = localRequest(job(), { env, nnodes: 3, 'node-rank': 2, 'master-addr': 'h0', port: 29700, gpus: 1 }, []);
    expect(flags).toMatchObject({ nnodes: 3, nodeRank: 2, masterAddr: 'h0', port: 29700, nprocPerNode: 1 });
    expect(flags.processes[0].env.RANK).toBe('2');
    expect(() => localRequest(job(), { nnodes: 2, 'node-rank': 1, env: {} }, [])).toThrow(/--master-addr/);
    expect(() => localRequest(job(), { nnodes: 2, 'node-rank': 2, 'master-addr': 'h', env: {} }, [])).toThrow(/--node-rank 2 must be below --nnodes 2/);
  });

  it('dry run renders the exact env + argv of every process, shell-quoted', async () => {
    const dry = await createLauncher({ workerScript: '/app/bin/ssl-worker.js', env: {} }).dryRun(job({ workDir: '/w d' }), { gpus: 2 });
    const text = dry.render();
    expect(text).toContain('# local: 2 process(es) on node 0 of 1, rendezvous 127.0.0.1:29500');
    expect(text).toMatch(/RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 .*MASTER_PORT=29500 .* \S*node \/app\/bin\/ssl-worker.js --config \/w\/c.json --work-dir 'w d'|RANK=1 .*--work-dir '\/w d'/);
  });

  it('GPU detection: CUDA_VISIBLE_DEVICES, else nvidia-smi -L, else none', () => {
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '2,3' }, () => null)).toEqual(['2', '3']);
    expect(visibleGpus({}, () => 'GPU 0: NVIDIA H100 (UUID: x)\nGPU 1: NVIDIA H100 (UUID: y)\n')).toEqual(['0', '1']);
    expect(visibleGpus({}, () => null)).toEqual([]);
  });
});

describe('per-node agent', () => {
  it('reads the node from PyTorchJob / Indexed Job env; flags win', () => {
    const a = parseAgentArgs(['--nproc-per-node', '2', '--', '--config', 'c', '--port', '29500']);
    const pod = { PET_NODE_RANK: '1', PET_NNODES: '2', RANK: '1', WORLD_SIZE: '4', MASTER_ADDR: 'j-master-0', MASTER_PORT: '23456', SSL_RUN_ID: 'r' };
    const specs = agentPlan({ ...a, workerScript: 'w.js' }, pod, []);
    expect(specs.map((s) => [s.env.RANK, s.env.LOCAL_RANK, s.env.WORLD_SIZE, s.env.MASTER_ADDR, s.env.MASTER_PORT])).toEqual([
      ['2', '0', '4', 'j-master-0', '23456'],
      ['3', '1', '4', 'j-master-0', '23456'],
    ]);
    const indexed = agentPlan({ ...a, workerScript: 'w.js' }, { JOB_COMPLETION_INDEX: '2', PET_NNODES: '3', MASTER_ADDR: 'j-0.j' }, []);
    expect(indexed.map((s) => s.env.RANK)).toEqual(['4', '5']);
    expect(indexed[0].env.MASTER_PORT).toBe('29500');
    expect(() => parseAgentArgs(['--bogus'])).toThrow(/unknown agent option/);
  });

  describe('as a process', () => {
    let lib: string;
    beforeAll(() => {
      lib = compileForChildren();
    });
    const agent = (args: string[], env: NodeJS.ProcessEnv = {}) => runNode(join(FIX, 'agent-main.mjs'), [lib, '--worker-script', FAKE, ...args], env);

    it('prefixes each rank\'s output and exits 0 when all succeed', async () => {
      const f = await agent(['--nproc-per-node', '2', '--port', '29555', '--', '--config', 'c.json']).done;
      expect(f.code).toBe(0);
      expect(f.stdout).toMatch(/^\[rank 0\] pid=\d+ rank=0 local=0 world=2 master=127.0.0.1:29555 cuda=- args=--config c.json$/m);
      expect(f.stdout).toMatch(/^\[rank 1\] pid=\d+ rank=1 /m);
      expect(f.stderr).toMatch(/^\[rank 1\] warning from 1$/m);
    });

    it('exits with the first failing rank\'s code and stops the others', async () => {
      const f = await agent(['--nproc-per-node', '3', '--', 'x'], { FAKE_MODE: 'fail-last' }).done;
      expect(f.code).toBe(3);
      expect(f.stderr).toMatch(/rank 2 \(pid \d+\) exited with code 3; stopping the other ranks/);
      expect(f.ms).toBeLessThan(15_000);
      for (const m of f.stdout.matchAll(/pid=(\d+)/g)) expect(isGone(Number(m[1]))).toBe(true);
    });

    it('workers of an agent killed with SIGKILL exit by themselves', async () => {
      const port = await freePort();
      const run = runNode(join(FIX, 'agent-main.mjs'), [lib, '--worker-script', join(FIX, 'job-worker.mjs'), '--nproc-per-node', '2', '--port', String(port), '--', 'x'], {
        DIST_TEST_LIB: lib,
        JOB_MODE: 'loop',
      });
      const pids: number[] = [];
      await new Promise<void>((resolve) =>
        run.child.stdout!.on('data', (d) => {
          for (const m of String(d).matchAll(/pid=(\d+)/g)) pids.push(Number(m[1]));
          if (pids.length === 2) resolve();
        }),
      );
      run.child.kill('SIGKILL');
      await run.done;
      const t0 = Date.now();
      while (pids.some((p) => !isGone(p)) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 200));
      for (const p of pids) expect(isGone(p)).toBe(true);
    });

    it('SIGTERM to the agent stops every rank', async () => {
      const run = agent(['--nproc-per-node', '2', '--', 'x'], { FAKE_MODE: 'sleep' });
      let out = '';
      await new Promise<void>((resolve) =>
        run.child.stdout!.on('data', (d) => {
          out += String(d);
          if ((out.match(/pid=/g) ?? []).length === 2) resolve();
        }),
      );
      run.child.kill('SIGTERM');
      const f = await run.done;
      expect(f.code).not.toBe(0);
      for (const m of out.matchAll(/pid=(\d+)/g)) expect(isGone(Number(m[1]))).toBe(true);
    });
  });
});

describe('local launcher jobs (real collectives)', () => {
  let lib: string;
  beforeAll(() => {
    lib = compileForChildren();
  });

  it('two jobs on one machine with different ports run side by side', async () => {
    const launcher = createLauncher({ workerScript: join(FIX, 'job-worker.mjs'), env: {} });
    const ports = [await freePort(), await freePort()];
    while (ports[1] === ports[0]) ports[1] = await freePort();
    const handles = [];
    for (const [i, port] of ports.entries()) {
      const dry = await launcher.dryRun(job({ runId: `side-${i}`, port, env: { DIST_TEST_LIB: lib } }), { gpus: 2 + i });
      handles.push(await launcher.submit(dry));
    }
    const statuses = await Promise.all(handles.map((h) => launcher.wait(h.id)));
    expect(statuses.map((s) => s.state)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const out: string[] = [];
    const collect = new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) });
    await launcher.logs(handles[1].id, collect, { rank: 2 });
    expect(out.join('')).toContain(`[rank 2] sum=6 port=${ports[1]}`);
  });

  it('a worker SIGKILLed mid-job fails the job with its code; no rank is left', async () => {
    const launcher = createLauncher({ workerScript: join(FIX, 'job-worker.mjs'), env: {} });
    const port = await freePort();
    const dry = await launcher.dryRun(job({ port, env: { DIST_TEST_LIB: lib, JOB_MODE: 'loop' } }), { gpus: 3 });
    const h = await launcher.submit(dry);
    const pids: number[] = [];
    let killed = false;
    const seen = new Writable({
      write: (c, _e, cb) => {
        for (const m of String(c).matchAll(/\[rank (\d)\] pid=(\d+)/g)) pids[Number(m[1])] = Number(m[2]);
        if (pids.filter(Boolean).length === 3 && !killed) {
          killed = true;
          process.kill(pids[1], 'SIGKILL');
        }
        cb();
      },
    });
    const t0 = Date.now();
    await launcher.logs(h.id, seen, { follow: true });
    const st = await launcher.wait(h.id);
    expect(st.state).toBe('FAILED');
    expect(st.exitCode).toBe(137);
    expect(st.message).toMatch(/rank 1 failed first/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    for (const pid of pids) expect(isGone(pid)).toBe(true);
  });
});

/**
 * Data-parallel scaling: SimCLR on the small CPU config (ResNet_CIFAR-18 with 8 base channels,
 * 32x32 synthetic images), images/s with 1 process vs 2 processes (local launcher), same batch per
 * process. `npm run bench:dist` (after the all-reduce benchmark) or `node lib/benchmarks/dist-scaling.js [--batch 32] [--iters 24] [--rounds 3]`.
 * Each round runs 1 process and 2 processes back to back (order swapped every round) and gives
 * one ratio; the median ratio is the result (this machine is shared: rounds differ).
 * The 2 workers are started by the local launcher, which runs them `node --single-threaded` here
 * (as many workers as cores); the single process runs with node's defaults, its faster setting.
 *
 * images/s = (processes x batch per process) / median iteration time of rank 0 (iterations 2..N,
 * from the `time` field of its `.log.json`: the whole step, data to optimizer).
 *
 * CPU ms per iteration per process (independent of other load on the machine): the CPU time of the
 * finished worker processes (Linux: cutime + cstime of this process), of an N-iteration run minus a
 * 1-iteration run (start-up cancels), / (N - 1) / processes. Equal CPU but longer wall time with 2
 * processes means waiting (for a core, or for the other rank at a collective), not extra work.
 * SSL_DIST_PROFILE=1 also prints each rank's time blocked per collective.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { resolveConfig } from '../src/config/index.js';
import { createLauncher } from '../launchers/local/index.js';
import { arg, median } from './bench-args.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
const WORKER = join(ROOT, 'bin', 'ssl-worker.js');

function prepare(world: number, batch: number, iters: number): { workDir: string; configPath: string } {
  const workDir = mkdtempSync(join(tmpdir(), `ssl-bench-dist-${world}-`));
  const cfg = resolveConfig(CONFIG).cfg as Record<string, any>;
  cfg.data.samples_per_gpu = batch;
  cfg.data.train.data_source.num_samples = batch * world * iters;
  cfg.runner = { type: 'EpochBasedRunner', max_epochs: 1 };
  cfg.checkpoint_config = { interval: 1000 };
  cfg.work_dir = workDir;
  const configPath = join(workDir, 'cfg.json');
  writeFileSync(configPath, JSON.stringify(cfg));
  return { workDir, configPath };
}

/** CPU ms used by this process's finished (waited-for) children, from /proc/self/stat (Linux; 0 elsewhere). */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return 0;
  }
}

function iterTimes(workDir: string): number[] {
  const file = readdirSync(workDir).find((f) => f.endsWith('.log.json'));
  if (!file) throw new Error(`no .log.json in ${workDir}`);
  const rows = readFileSync(join(workDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"mode":"train"'))
    .map((l) => JSON.parse(l) as { iter: number; time: number });
  return rows.filter((r) => r.iter > 1).map((r) => r.time);
}

/** One run of `world` processes; resolves to rank 0's per-iteration times and the children's CPU ms. */
async function run(world: number, batch: number, iters: number, env: NodeJS.ProcessEnv): Promise<{ times: number[]; cpuMs: number }> {
  const job = prepare(world, batch, iters);
  const cpu0 = childrenCpuMs();
  if (world === 1) {
    const r = spawnSync(process.execPath, [WORKER, '--config', job.configPath, '--work-dir', job.workDir, '--seed', '0'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`1-process run failed:\n${r.stderr}`);
  } else {
    const launcher = createLauncher({ env: {} });
    const port = 29600 + Math.floor(Math.random() * 300);
    const dry = await launcher.dryRun(
      { name: 'bench', runId: `bench-${Date.now()}`, workDir: job.workDir, configPath: job.configPath, workerArgs: ['--seed', '0', '--port', String(port)], nodes: 1, procsPerNode: world, gpusPerNode: 0, port, env: {} },
      { gpus: world },
    );
    const h = await launcher.submit(dry);
    await launcher.logs(h.id, new Writable({ write: (_c, _e, cb) => cb() }), { follow: false });
    const st = await launcher.wait(h.id);
    if (st.state !== 'SUCCEEDED') throw new Error(`${world}-process run failed: ${st.message}`);
  }
  return { times: iterTimes(job.workDir), cpuMs: childrenCpuMs() - cpu0 };
}

async function main(): Promise<void> {
  const batch = arg('batch', 32);
  const iters = arg('iters', 24);
  const rounds = arg('rounds', 3);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'].includes(k)));
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  console.log(`SimCLR small CPU config, batch ${batch} per process, ${iters} iterations (median of iterations 2..${iters}), ${rounds} rounds (1 and 2 processes alternate, order swapped every round):`);

  const ratios: number[] = [];
  const cpu: { one: number[]; two: number[] } = { one: [], two: [] };
  for (let k = 0; k < rounds; k++) {
    const order = k % 2 === 0 ? [1, 2] : [2, 1];
    const res: Record<number, { times: number[]; cpuMs: number }> = {};
    for (const world of order) res[world] = await run(world, batch, iters, clean);
    const t1 = median(res[1].times);
    const t2 = median(res[2].times);
    cpu.one.push(res[1].cpuMs);
    cpu.two.push(res[2].cpuMs);
    ratios.push((2 * batch) / t2 / (batch / t1));
    console.log(
      `  round ${k + 1}: 1 process ${(t1 * 1000).toFixed(0)} ms/iter (${(batch / t1).toFixed(1)} images/s), 2 processes ${(t2 * 1000).toFixed(0)} ms/iter (${((2 * batch) / t2).toFixed(1)} images/s): ${ratios[k].toFixed(2)}x`,
    );
  }
  const base1 = await run(1, batch, 1, clean);
  const base2 = await run(2, batch, 1, clean);
  const cpu1 = (median(cpu.one) - base1.cpuMs) / (iters - 1);
  const cpu2 = (median(cpu.two) - base2.cpuMs) / (iters - 1) / 2;
  console.log(`  CPU per process-iteration: 1 process ${cpu1.toFixed(0)} ms, 2 processes ${cpu2.toFixed(0)} ms (${(cpu2 / cpu1).toFixed(2)}x)`);
  console.log(`  scaling: median ${median(ratios).toFixed(2)}x, rounds ${ratios.map((r) => r.toFixed(2)).join(' ')} (target >= 1.7x); load average ${loadBefore} -> ${load()}`);
}

await main();

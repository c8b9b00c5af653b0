/**
 * Data-parallel scaling: SimCLR on the small CPU config (ResNet_CIFAR-18 with 8 base channels,
 * 32x32 synthetic images), images/s with 1 process vs 2 processes (local launcher), same batch per
 * process. `npm run bench:dist` (after the all-reduce benchmark) or
 * `node lib/benchmarks/dist-scaling.js [--backend wasm|native] [--batch 32] [--iters 24] [--rounds 3]`.
 * Each round runs every configuration back to back (the order rotated every round) and gives one
 * ratio per comparison; the median over rounds is the result (this machine is shared: rounds differ).
 * The 2 workers are started by the local launcher, which runs them `node --single-threaded` here
 * (as many workers as cores); the single process runs with node's defaults, its faster setting.
 *
 * `--backend wasm` (default): 1 process x batch B against 2 processes x B (wasm is single-threaded).
 * `--backend native`: the two ways to use 2 cores side by side, at the same global batch 2B: 2 ranks x
 * 1 thread (B each) and 1 rank x 2 threads (2B), with 1 rank x 1 thread (B) as the base.
 * Both: 2 independent single-process runs at once (B each, no collectives) give the machine's own
 * ceiling for 2 compute-bound processes, so the scaling splits into what the machine loses (shared
 * cores, caches, memory bandwidth) and what being one job costs (collectives, waiting for the other rank).
 *
 * images/s = (processes x batch per process) / median iteration time of rank 0 (iterations 2..N,
 * from the `time` field of its `.log.json`: the whole step, data to optimizer).
 *
 * CPU ms per image (independent of other load on the machine): the CPU time of the finished worker
 * processes (Linux: cutime + cstime of this process), of an N-iteration run minus a 1-iteration run
 * (start-up cancels), / (N - 1) / global batch. Equal CPU but longer wall time with 2 processes means
 * waiting (for a core, or for the other rank at a collective), not extra work.
 * SSL_DIST_PROFILE=1 also prints each rank's time blocked per collective.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { resolveConfig } from '../src/config/index.js';
import { createLauncher } from '../launchers/local/index.js';
import { arg, childrenCpuMs, median, trainLogRows } from './bench-args.js';

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

/**
 * One way to run the step: processes x native threads each, batch per process. `independent`: the
 * processes are separate single-process jobs started together (node --single-threaded, as the launcher
 * runs 2 ranks on 2 cores): what this machine gives two compute-bound processes with no collectives,
 * the ceiling of 2-rank scaling here.
 */
interface Setup {
  label: string;
  world: number;
  threads: number;
  batch: number;
  independent?: boolean;
}

/** Runs `args` with node; resolves when it exits (rejects on a non-zero exit). */
function nodeChild(args: string[], env: NodeJS.ProcessEnv, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${label} run failed:\n${stderr}`))));
  });
}

/** One run of a setup; resolves to its images/s (from rank 0's, or each independent process's, median iteration), and the children's CPU ms. */
async function run(setup: Setup, backend: string, iters: number, env: NodeJS.ProcessEnv): Promise<{ imagesPerSecond: number; cpuMs: number }> {
  const { world, batch } = setup;
  const engine = ['--backend', backend, ...(backend === 'native' ? ['--threads', String(setup.threads)] : [])];
  const cpu0 = childrenCpuMs();
  const itersAfterFirst = (workDir: string) => trainLogRows(workDir).filter((r) => r.iter > 1).map((r) => r.time);
  if (setup.independent) {
    const jobs = Array.from({ length: world }, () => prepare(1, batch, iters));
    await Promise.all(jobs.map((job) => nodeChild(['--single-threaded', WORKER, '--config', job.configPath, '--work-dir', job.workDir, '--seed', '0', ...engine], env, setup.label)));
    return { imagesPerSecond: jobs.reduce((sum, job) => sum + batch / median(itersAfterFirst(job.workDir)), 0), cpuMs: childrenCpuMs() - cpu0 };
  }
  const job = prepare(world, batch, iters);
  if (world === 1) {
    const r = spawnSync(process.execPath, [WORKER, '--config', job.configPath, '--work-dir', job.workDir, '--seed', '0', ...engine], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${setup.label} run failed:\n${r.stderr}`);
  } else {
    const launcher = createLauncher({ env: {} });
    const port = 29600 + Math.floor(Math.random() * 300);
    const dry = await launcher.dryRun(
      { name: 'bench', runId: `bench-${Date.now()}`, workDir: job.workDir, configPath: job.configPath, workerArgs: ['--seed', '0', '--port', String(port), ...engine], nodes: 1, procsPerNode: world, gpusPerNode: 0, port, env: {} },
      { gpus: world },
    );
    const h = await launcher.submit(dry);
    await launcher.logs(h.id, new Writable({ write: (_c, _e, cb) => cb() }), { follow: false });
    const st = await launcher.wait(h.id);
    if (st.state !== 'SUCCEEDED') throw new Error(`${setup.label} run failed: ${st.message}`);
  }
  return { imagesPerSecond: (world * batch) / median(itersAfterFirst(job.workDir)), cpuMs: childrenCpuMs() - cpu0 };
}

/** `--name VALUE` from the command line, or `fallback`. */
function stringArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const batch = arg('batch', 32);
  const iters = arg('iters', 24);
  const rounds = arg('rounds', 3);
  const backend = stringArg('backend', 'wasm');
  if (backend !== 'wasm' && backend !== 'native') throw new Error(`--backend must be wasm or native, got ${backend}`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'SSL_THREADS', 'OMP_NUM_THREADS', 'SSL_BACKEND'].includes(k)));
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  const one: Setup = { label: '1 process x 1 thread', world: 1, threads: 1, batch };
  const two: Setup = { label: '2 processes x 1 thread', world: 2, threads: 1, batch };
  const threaded: Setup = { label: '1 process x 2 threads', world: 1, threads: 2, batch: 2 * batch };
  const apart: Setup = { label: '2 independent processes x 1 thread', world: 2, threads: 1, batch, independent: true };
  const setups = backend === 'native' ? [one, threaded, two, apart] : [one, two, apart];
  const comparisons: [string, Setup, Setup, string][] =
    backend === 'native'
      ? [
          ['scaling, 2 processes x 1 thread / 1 process x 1 thread', two, one, ' (target >= 1.7x)'],
          ['threads, 1 process x 2 threads / 1 process x 1 thread', threaded, one, ''],
          ['ranks vs threads, 2 processes x 1 thread / 1 process x 2 threads', two, threaded, ''],
          ['machine ceiling, 2 independent processes / 1 process', apart, one, ''],
          ['2 ranks / 2 independent processes (the cost of being one job)', two, apart, ''],
        ]
      : [
          ['scaling, 2 processes / 1 process', two, one, ' (target >= 1.7x)'],
          ['machine ceiling, 2 independent processes / 1 process', apart, one, ''],
          ['2 ranks / 2 independent processes (the cost of being one job)', two, apart, ''],
        ];
  console.log(
    `SimCLR small CPU config on ${backend}, ${iters} iterations (median of iterations 2..${iters}), ${rounds} rounds (setups alternate, order rotated every round): ` +
      setups.map((x) => `${x.label} at batch ${x.batch} per process`).join(', '),
  );

  const imagesPerSecond = new Map<Setup, number[]>(setups.map((x) => [x, []]));
  const cpuMs = new Map<Setup, number[]>(setups.map((x) => [x, []]));
  const ratios = comparisons.map(() => [] as number[]);
  for (let k = 0; k < rounds; k++) {
    const order = setups.map((_, i) => setups[(i + k) % setups.length]);
    if (k % 2 === 1) order.reverse();
    const round = new Map<Setup, number>();
    for (const x of order) {
      const res = await run(x, backend, iters, clean);
      round.set(x, res.imagesPerSecond);
      imagesPerSecond.get(x)!.push(round.get(x)!);
      cpuMs.get(x)!.push(res.cpuMs);
    }
    comparisons.forEach(([, a, b], i) => ratios[i].push(round.get(a)! / round.get(b)!));
    console.log(`  round ${k + 1}: ${setups.map((x) => `${x.label} ${round.get(x)!.toFixed(1)} images/s`).join(', ')}`);
  }
  console.log('  | setup | images/s (median) | rounds | CPU ms per image |');
  console.log('  |---|---|---|---|');
  for (const x of setups) {
    const base = await run(x, backend, 1, clean);
    const cpuPerImage = (median(cpuMs.get(x)!) - base.cpuMs) / (iters - 1) / (x.world * x.batch);
    const all = imagesPerSecond.get(x)!;
    console.log(`  | ${x.label}, batch ${x.batch} per process | ${median(all).toFixed(1)} | ${all.map((v) => v.toFixed(1)).join(' / ')} | ${cpuPerImage.toFixed(1)} |`);
  }
  comparisons.forEach(([what, , , target], i) => {
    console.log(`  ${what}: median ${median(ratios[i]).toFixed(2)}x, rounds ${ratios[i].map((r) => r.toFixed(2)).join(' ')}${target}`);
  });
  console.log(`  load average ${loadBefore} -> ${load()}`);
}

await main();

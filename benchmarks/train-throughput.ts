/**
 * End-to-end training throughput (issue 16): `ssl train` of the Fashion-MNIST SimCLR recipe against
 * the PyTorch reference (`tools/torch-train-fmnist.py --algo simclr`) on the same data, same machine,
 * data loading included, at 1 and 2 compute threads.
 *
 *   npm run build && node lib/benchmarks/train-throughput.js [--iters 10] [--warmup 2] [--repeats 3]
 *     [--threads 1,2] [--backend native] [--config configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml]
 *
 * Both sides train the same resolved config (written once as JSON: an IterBasedRunner of warmup + iters
 * iterations, every iteration logged, no checkpoint inside the run): ssl through `bin/run.js train`
 * (launcher none, `--backend`, `--threads T`), PyTorch through `--config` of the reference script
 * (`torch.set_num_threads(T)`, a DataLoader with the config's workers_per_gpu). Per run, images/s over
 * the iterations after the warm-up: ssl from the `time` of each logged iteration (mmcv's IterTimerHook:
 * end of the previous iteration to end of this one, data included), PyTorch from its own clock over the
 * same window. Runs alternate ssl / PyTorch (the order swapped every repeat); the result is the median
 * over repeats and the ratio of the medians.
 *
 * CPU ms per image (what other load on a shared machine changes least): CPU time of the finished child
 * (Linux cutime + cstime), median over repeats, minus that of one warm-up-only run of the same side
 * (start-up, data set decoding and warm-up cancel), / (iters x batch). With 2 threads it includes
 * OpenMP's spin-waiting.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config/index.js';
import { arg, childrenCpuMs, median, trainLogRows } from './bench-args.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN = join(ROOT, 'bin', 'run.js');
const PYTHON = '/usr/bin/python3';

function stringArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}


/** The recipe as one JSON config of `iterations` iterations, each logged, no checkpoint before the end. */
function writeConfig(dir: string, config: string, iterations: number): string {
  const cfg = resolveConfig(join(ROOT, config)).cfg as Record<string, any>;
  cfg.runner = { type: 'IterBasedRunner', max_iters: iterations };
  cfg.log_config = { ...(cfg.log_config ?? {}), interval: 1 };
  cfg.checkpoint_config = { interval: 1_000_000, by_epoch: false };
  delete cfg.work_dir;
  const path = join(dir, `cfg-${iterations}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

interface Run {
  imagesPerSecond: number;
  cpuMs: number;
}

type Side = 'ssl' | 'torch';

function runSsl(cfgPath: string, threads: number, backend: string, warmup: number, batch: number, env: NodeJS.ProcessEnv): Run {
  const workDir = mkdtempSync(join(tmpdir(), 'ssl-bench-train-'));
  const cpu0 = childrenCpuMs();
  const r = spawnSync(process.execPath, [RUN, 'train', cfgPath, '--work-dir', workDir, '--backend', backend, '--threads', String(threads), '--seed', '0'], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const cpuMs = childrenCpuMs() - cpu0;
  if (r.status !== 0) throw new Error(`ssl train failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-3000)}`);
  const timed = trainLogRows(workDir).filter((row) => row.iter > warmup);
  const seconds = timed.reduce((s, row) => s + row.time, 0);
  return { imagesPerSecond: timed.length > 0 ? (timed.length * batch) / seconds : NaN, cpuMs };
}

function runTorch(script: string, cfgPath: string, threads: number, iterations: number, warmup: number, env: NodeJS.ProcessEnv): Run {
  const cpu0 = childrenCpuMs();
  const r = spawnSync(PYTHON, [script, '--algo', 'simclr', '--config', cfgPath, '--iters', String(iterations), '--warmup', String(warmup), '--threads', String(threads), '--seed', '0'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const cpuMs = childrenCpuMs() - cpu0;
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  const summary = JSON.parse(last) as { images_per_s: number };
  return { imagesPerSecond: summary.images_per_s, cpuMs };
}

async function main(): Promise<void> {
  const iters = arg('iters', 10);
  const warmup = arg('warmup', 2);
  const repeats = arg('repeats', 3);
  const threadList = stringArg('threads', '1,2').split(',').map(Number);
  const backend = stringArg('backend', 'native');
  const config = stringArg('config', 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml');
  const script = join(ROOT, stringArg('torch-script', 'tools/torch-train-fmnist.py'));
  if (!existsSync(PYTHON) || !existsSync(script)) {
    console.error(`train-throughput: needs ${PYTHON} with python3-torch and python3-torchvision (tools/setup-bench-env.sh) and ${script}`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ssl-bench-throughput-'));
  const cfgPath = writeConfig(dir, config, warmup + iters);
  const warmPath = writeConfig(dir, config, warmup);
  const batch = (resolveConfig(join(ROOT, config)).cfg as { data: { samples_per_gpu: number } }).data.samples_per_gpu;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['SSL_THREADS', 'OMP_NUM_THREADS', 'SSL_BACKEND', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'].includes(k)));
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  console.log(`${config}: batch ${batch}, ${iters} timed iterations after ${warmup} warm-up, ${repeats} repeats, ssl --backend ${backend} vs PyTorch (${script.slice(ROOT.length + 1)})`);

  const results = new Map<string, Run[]>();
  const key = (side: Side, t: number) => `${side}/${t}`;
  for (let k = 0; k < repeats; k++) {
    for (const t of threadList) {
      const order: Side[] = k % 2 === 0 ? ['ssl', 'torch'] : ['torch', 'ssl'];
      const got: Partial<Record<Side, Run>> = {};
      for (const side of order) {
        got[side] = side === 'ssl' ? runSsl(cfgPath, t, backend, warmup, batch, env) : runTorch(script, cfgPath, t, warmup + iters, warmup, env);
        results.set(key(side, t), [...(results.get(key(side, t)) ?? []), got[side]!]);
      }
      console.log(`  repeat ${k + 1}, ${t} thread(s): ssl ${got.ssl!.imagesPerSecond.toFixed(1)} images/s, PyTorch ${got.torch!.imagesPerSecond.toFixed(1)} images/s: ${(got.ssl!.imagesPerSecond / got.torch!.imagesPerSecond).toFixed(2)}x`);
    }
  }
  console.log('  | threads | ssl images/s (median) | PyTorch images/s (median) | ssl / PyTorch | per repeat | CPU ms per image ssl / PyTorch |');
  console.log('  |---|---|---|---|---|---|');
  for (const t of threadList) {
    const s = results.get(key('ssl', t))!;
    const p = results.get(key('torch', t))!;
    const sMed = median(s.map((r) => r.imagesPerSecond));
    const pMed = median(p.map((r) => r.imagesPerSecond));
    const perRepeat = s.map((r, i) => (r.imagesPerSecond / p[i].imagesPerSecond).toFixed(2)).join(' / ');
    const sBase = runSsl(warmPath, t, backend, warmup, batch, env).cpuMs;
    const pBase = runTorch(script, warmPath, t, warmup, warmup, env).cpuMs;
    const sCpu = (median(s.map((r) => r.cpuMs)) - sBase) / (iters * batch);
    const pCpu = (median(p.map((r) => r.cpuMs)) - pBase) / (iters * batch);
    console.log(`  | ${t} | ${sMed.toFixed(1)} | ${pMed.toFixed(1)} | **${(sMed / pMed).toFixed(2)}x** | ${perRepeat} | ${sCpu.toFixed(1)} / ${pCpu.toFixed(1)} (${(pCpu / sCpu).toFixed(2)}x) |`);
  }
  console.log(`  load average ${loadBefore} -> ${load()}`);
}

await main();

/**
 * Cost of the online kNN monitor (issue 19) on the Fashion-MNIST SimCLR recipe: trains the recipe with
 * `evaluation = dict(type='knn')` at its default settings (bank 10,000 / queries 2,000 evenly spaced images,
 * k and T from the recipe's knn section) evaluated every `--every` iterations, for `--iters` iterations, so
 * that training iterations and evaluations alternate under the same machine load. The cost at the default
 * interval (1 epoch = the recipe's iterations per epoch) is the median evaluation time over the median
 * iteration time x iterations per epoch, in wall time and in CPU time (this process's, all threads; a loaded
 * machine stretches wall times unevenly, CPU times much less). Writes `<work-dir>/knn-monitor.json`.
 *
 *   npm run build && nice -n 5 node lib/benchmarks/knn-monitor.js [--iters 16] [--every 8] [--backend native] [--work-dir W]
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/index.js';
import { runWorker } from '../src/runner/worker-main.js';
import { median } from './bench-args.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const recipe = flag('--config', 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml');
const iters = Number(flag('--iters', '16'));
const every = Number(flag('--every', '8'));
const backend = flag('--backend', 'native');
const workDir = flag('--work-dir', 'work_dirs/benchmarks/knn-monitor');

const cfg = loadConfig(recipe) as Record<string, any>;
const batch = cfg.data.samples_per_gpu as number;
// the recipe's epoch: Fashion-MNIST's 60,000 training images in batches of `batch`, last one dropped
const itersPerEpoch = Math.floor(60_000 / batch);
cfg.runner = { type: 'IterBasedRunner', max_iters: iters };
cfg.lr_config = { ...cfg.lr_config, by_epoch: false };
cfg.evaluation = { type: 'knn', interval: every };
cfg.checkpoint_config = { interval: iters, by_epoch: false };
cfg.log_config = { interval: 1, hooks: [{ type: 'TextLoggerHook' }] };
delete cfg.filename;
rmSync(workDir, { recursive: true, force: true });
const path = join(workDir, '..', 'knn-monitor-config.yaml');
writeFileSync(path, stringify(cfg));

const loads: number[] = [loadavg()[0]];
// CPU time of this process (every engine thread) sampled whenever the event loop is free: once per iteration at least
const samples: [number, number][] = [];
const sample = () => {
  const u = process.cpuUsage();
  samples.push([Date.now(), (u.user + u.system) / 1e6]);
};
const timer = setInterval(() => {
  sample();
  if (samples.length % 40 === 0) loads.push(loadavg()[0]);
}, 250);
const t0 = performance.now();
const code = await runWorker(['--config', path, '--work-dir', workDir, '--backend', backend, '--seed', '2']);
const wall = (performance.now() - t0) / 1000;
clearInterval(timer);
if (code !== 0) throw new Error(`training exited ${code}`);

sample();
/** CPU seconds at wall time `t` (ms), interpolated between samples. */
const cpuAt = (t: number): number => {
  const j = samples.findIndex(([w]) => w >= t);
  if (j <= 0) return samples[Math.max(0, j)][1];
  const [w0, c0] = samples[j - 1];
  const [w1, c1] = samples[j];
  return c0 + ((c1 - c0) * (t - w0)) / Math.max(1, w1 - w0);
};
const stamp = (line: string) => new Date(line.slice(0, 23).replace(' ', 'T').replace(',', '.')).getTime();
const text = readdirSync(workDir).filter((f) => f.endsWith('.log') && !f.includes('.rank')).map((f) => readFileSync(join(workDir, f), 'utf8')).join('\n');
const evalRows = [...text.matchAll(/kNN monitor: (\d+) \+ (\d+) images in ([\d.]+) s \(CPU ([\d.]+) s\)/g)];
const evals = evalRows.map((m) => Number(m[3]));
const evalCpu = evalRows.map((m) => Number(m[4]));
// training CPU per iteration: from iteration 1's log line to the last one's, less the evaluations in between
// (each runs after its iteration's line is written)
const iterLines = text.split('\n').filter((l) => /INFO - Iter \[\d+\//.test(l));
const first = iterLines[0];
const last = iterLines.at(-1)!;
const between = evalRows.filter((m) => stamp(text.slice(text.lastIndexOf('\n', m.index!) + 1)) < stamp(last)).map((m) => Number(m[4]));
const iterCpu = (cpuAt(stamp(last)) - cpuAt(stamp(first)) - between.reduce((a, b) => a + b, 0)) / (iterLines.length - 1);
const json = readFileSync(join(workDir, readdirSync(workDir).find((f) => f.endsWith('.log.json'))!), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
// an iteration right after an evaluation carries the evaluation in its timer (mmcv's IterTimerHook); leave those out
const times = json.filter((l) => l.mode === 'train' && l.iter > 1 && (l.iter - 1) % every !== 0).map((l) => l.time as number);
const top1 = json.filter((l) => l.mode === 'val').map((l) => l['knn.top1'] as number);
const iterS = median(times);
const evalS = median(evals);
const cost = evalS / (itersPerEpoch * iterS);
const costCpu = median(evalCpu) / (itersPerEpoch * iterCpu);
const result = {
  recipe, backend, iters, every, itersPerEpoch, wall, evalSeconds: evals, evalMedian: evalS, iterMedian: iterS, iterSamples: times.length,
  evalCpuSeconds: evalCpu, iterCpuSeconds: iterCpu, knnTop1: top1, costAtDefaultInterval: cost, costAtDefaultIntervalCpu: costCpu,
  load: { min: Math.min(...loads), max: Math.max(...loads) },
};
writeFileSync(join(workDir, 'knn-monitor.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`${iters} iterations of ${recipe} (${backend}), kNN monitor every ${every}: ${evals.length} evaluations of ${evals.map((s) => s.toFixed(1)).join(' / ')} s (median ${evalS.toFixed(1)} s), training iteration median ${iterS.toFixed(2)} s over ${times.length}`);
console.log(`kNN top-1 at each evaluation: ${top1.map((x) => x.toFixed(2)).join(', ')}`);
console.log(`CPU time: ${evalCpu.map((s) => s.toFixed(1)).join(' / ')} s per evaluation, ${iterCpu.toFixed(2)} s per training iteration`);
console.log(`cost at the default interval (1 epoch = ${itersPerEpoch} iterations): ${(100 * cost).toFixed(1)} % of training wall time, ${(100 * costCpu).toFixed(1)} % of its CPU time; load average ${result.load.min.toFixed(1)}-${result.load.max.toFixed(1)}`);

/**
 * Linear evaluation's fast path against end to end (issue 19): the same recipe and checkpoint through
 * `ssl eval linear` with the feature cache (cold: extraction + head training; warm: the cache read back) and
 * with --no-cache, in one invocation, in the order cold, end-to-end, warm (repeated --rounds times). Prints top-1
 * of each and the wall times; writes `<work-dir>/linear-fmnist.json`.
 *
 *   npm run build && node lib/benchmarks/linear-fmnist.js --checkpoint CKPT [--config C] [--work-dir W] [--rounds 1] [--backend native]
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { prepareLinearEval } from '../launchers/eval-linear-job.js';
import { runWorker } from '../src/runner/worker-main.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt?: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const checkpoint = flag('--checkpoint');
if (!checkpoint) throw new Error('--checkpoint CKPT is required (e.g. a Fashion-MNIST SimCLR latest.ckpt)');
const config = flag('--config', 'configs/benchmarks/classification/fmnist/resnet18-cifar_linear-1xb256-coslr-2e_fmnist.yaml')!;
const workDir = flag('--work-dir', 'work_dirs/benchmarks/linear-fmnist')!;
const rounds = Number(flag('--rounds', '1'));
const backend = flag('--backend', 'native')!;

async function run(name: string, cache: boolean, cacheDir: string): Promise<{ top1: number; seconds: number; feature_cache: string }> {
  const p = prepareLinearEval({ config, checkpoint: checkpoint!, workDir, name, cache, cacheDir, backend, seed: 0 });
  const t0 = performance.now();
  const code = await runWorker(p.workerArgv);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${name} exited ${code}`);
  const r = JSON.parse(readFileSync(p.resultPath, 'utf8')) as { value: number; feature_cache: string };
  console.log(`${name}: top-1 ${r.value.toFixed(2)}, ${seconds.toFixed(1)} s, feature cache ${r.feature_cache} (load ${loadavg()[0].toFixed(1)})`);
  return { top1: r.value, seconds, feature_cache: r.feature_cache };
}

const rows: Record<string, unknown>[] = [];
for (let r = 0; r < rounds; r++) {
  const cacheDir = join(workDir, `cache-${r}`);
  rmSync(cacheDir, { recursive: true, force: true });
  const cold = await run(`cached-cold-${r}`, true, cacheDir);
  const e2e = await run(`end-to-end-${r}`, false, cacheDir);
  const warm = await run(`cached-warm-${r}`, true, cacheDir);
  rows.push({ round: r, cold, e2e, warm, speedupCold: e2e.seconds / cold.seconds, speedupWarm: e2e.seconds / warm.seconds, top1Diff: cold.top1 - e2e.top1 });
  console.log(`round ${r}: top-1 cached ${cold.top1.toFixed(2)} vs end-to-end ${e2e.top1.toFixed(2)} (diff ${(cold.top1 - e2e.top1).toFixed(2)}); speed-up ${(e2e.seconds / cold.seconds).toFixed(2)}x cold, ${(e2e.seconds / warm.seconds).toFixed(2)}x warm`);
}
writeFileSync(join(workDir, 'linear-fmnist.json'), `${JSON.stringify({ config, checkpoint, backend, rows }, null, 2)}\n`);

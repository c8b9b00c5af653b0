/**
 * "Learns on real data" (issue 17): each algorithm family's Fashion-MNIST recipe trained by ssl
 * (benchmarks/train-fmnist.ts, the worker every launcher starts) and by the PyTorch reference
 * (tools/torch-train-fmnist.py, the same resolved config), the two side by side (both at `nice -n 10`,
 * one thread each), then the weighted kNN of both backbones before and after on the same evenly spaced
 * bank/queries. Prints the markdown table of benchmarks/README.md; each run's JSON goes to
 * `<work-dir>/<algo>/` (re-printed without training by --table-only).
 *
 *   npm run build && node lib/benchmarks/train-fmnist-families.js [--only swav,densecl,...] [--work-dir W]
 *     [--knn-bank 10000] [--knn-query 2000] [--backend native] [--seed S] [--table-only]
 * `--seed S` seeds both sides (default: the config's seed, else 0); give each seed its own --work-dir.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// The recipes cut for the busy shared machine (each inherits the longer recipe named in its comment).
const FAMILIES: Record<string, { config: string; recipe: string }> = {
  swav: { config: 'configs/selfsup/swav/swav_resnet18-cifar_1xb64-mcrop-2-2-coslr-80it_fmnist.yaml', recipe: '80 it × 64, 2×28 px + 2×14 px crops, 100 prototypes (frozen 20 it), queue 512, SGD 0.2 cos' },
  densecl: { config: 'configs/selfsup/densecl/densecl_resnet18-cifar_1xb64-coslr-120it_fmnist.yaml', recipe: '120 it × 64, queues 4096, momentum 0.99, dense loss from it 40, SGD 0.06 cos' },
  npid: { config: 'configs/selfsup/npid/npid_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml', recipe: '5k images × 3 epochs (117 it × 128), 512 negatives, SGD 0.06 cos' },
  odc: { config: 'configs/selfsup/odc/odc_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml', recipe: '5k images × 3 epochs (117 it × 128), k-means 50 once, then online, min cluster 20, SGD 0.05 cos' },
  deepcluster: { config: 'configs/selfsup/deepcluster/deepcluster_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml', recipe: '5k images × 3 epochs (117 it × 128), k-means 100 (PCA 32) every epoch, uniform sampling, SGD 0.05 cos' },
  rotation_pred: { config: 'configs/selfsup/rotation_pred/rotation-pred_resnet18-cifar_1xb64-coslr-200it_fmnist.yaml', recipe: '200 it × 64 images × 4 rotations, SGD 0.1 cos, 20-it warm-up' },
};

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'work-dir': { type: 'string', default: 'work_dirs/benchmarks/fmnist-families' },
    'knn-bank': { type: 'string', default: '10000' },
    'knn-query': { type: 'string', default: '2000' },
    backend: { type: 'string', default: 'native' },
    seed: { type: 'string' },
    'table-only': { type: 'boolean', default: false },
  },
});
const names = values.only ? values.only.split(',') : Object.keys(FAMILIES);
for (const n of names) if (!FAMILIES[n]) throw new Error(`--only: unknown family ${n} (${Object.keys(FAMILIES).join(', ')})`);

interface Knn { top1: number }
interface SslResult { intervalLoss: { first: number; last: number }; trainSeconds: number; knnTrained: Knn; knnRandom: Knn }
interface TorchResult { losses: { iter: number; loss: number }[]; seconds: number; knn_random: Knn; knn_trained: Knn }

function run(cmd: string, args: string[], log: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('nice', ['-n', '10', cmd, ...args], { env: { ...process.env, SSL_THREADS: '1', OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      writeFileSync(log, `${out}\n--- stderr ---\n${err}`);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}; see ${log}`));
    });
  });
}

const f2 = (x: number) => x.toFixed(2);
const rows: string[] = [];
for (const name of names) {
  const { config, recipe } = FAMILIES[name];
  const dir = join(values['work-dir']!, name);
  mkdirSync(dir, { recursive: true });
  const sslJson = join(dir, 'ssl', 'benchmark.json');
  const torchJson = join(dir, 'torch.json');
  if (!values['table-only']) {
    const load = loadavg()[0];
    const knn = ['--knn-bank', values['knn-bank']!, '--knn-query', values['knn-query']!];
    const seed = values.seed === undefined ? [] : ['--seed', values.seed];
    const t0 = Date.now();
    const [torchOut, sslOut] = await Promise.allSettled([
      run('/usr/bin/python3', ['tools/torch-train-fmnist.py', '--config', config, '--threads', '1', '--knn', ...knn, ...seed], join(dir, 'torch.log')),
      run('node', ['lib/benchmarks/train-fmnist.js', config, join(dir, 'ssl'), '--backend', values.backend!, ...knn, ...seed], join(dir, 'ssl.log')),
    ]);
    for (const r of [torchOut, sslOut]) if (r.status === 'rejected') console.error(`${name}: ${String(r.reason)}`);
    if (torchOut.status === 'fulfilled') writeFileSync(torchJson, torchOut.value.trim().split('\n').at(-1)!);
    console.error(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s, load average ${load.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`);
  }
  if (!existsSync(sslJson) || !existsSync(torchJson)) {
    console.error(`${name}: no results in ${dir}`);
    continue;
  }
  const s = JSON.parse(readFileSync(sslJson, 'utf8')) as SslResult;
  const t = JSON.parse(readFileSync(torchJson, 'utf8')) as TorchResult;
  rows.push(
    `| ${name} | ${recipe} | ${f2(s.intervalLoss.first)} → ${f2(s.intervalLoss.last)} | ${f2(t.losses[0].loss)} → ${f2(t.losses.at(-1)!.loss)} | ` +
      `${f2(s.knnRandom.top1)} / ${f2(t.knn_random.top1)} | ${f2(s.knnTrained.top1)} | ${f2(t.knn_trained.top1)} | ${s.trainSeconds.toFixed(0)} s / ${t.seconds.toFixed(0)} s |`,
  );
}
console.log('| algorithm | recipe | ssl loss first → last | PyTorch loss first → last | kNN top-1 random init, ssl / PyTorch | ssl kNN after | PyTorch kNN after | wall (training), ssl / PyTorch |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);

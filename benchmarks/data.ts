/**
 * `npm run bench:data`: images/s of the SimCLR ImageNet pipeline (decode a 500x375 JPEG,
 * RandomResizedCrop 224, flip, ColorJitter p=0.8, grayscale p=0.2, blur p=0.5, ToTensor, Normalize,
 * two views) through ssl's loader with 1 and 2 worker threads, and through torchvision + PIL with a
 * torch DataLoader of 1 and 2 worker processes in the same run (where /usr/bin/python3 has torchvision),
 * alternating the two sides per worker count.
 * Env: BENCH_BATCHES (default 6), BENCH_BATCH (default 32), BENCH_WORKERS (default "1,2"),
 * SSL_DATA_WASM=0 (ssl's plain JavaScript kernels instead of the WebAssembly SIMD ones).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset, buildDataLoader } from '../src/data/index.js';
import { wasmKernels } from '../src/data/pipelines/wasm/kernels.js';
import { SIMCLR_PIPELINE, makeBenchImages } from './data-images.js';

const batches = Number(process.env.BENCH_BATCHES ?? 6);
const batch = Number(process.env.BENCH_BATCH ?? 32);
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);

const simclr = (prefix: string) => ({
  type: 'MultiViewDataset',
  data_source: { type: 'ImageNet', data_prefix: prefix },
  num_views: [2],
  pipelines: [SIMCLR_PIPELINE],
});

async function benchSsl(prefix: string, workers: number): Promise<number> {
  const ds = await buildDataset(simclr(prefix));
  const big = await buildDataset({ type: 'RepeatDataset', times: Math.ceil(((batches + 2) * batch) / ds.length), dataset: simclr(prefix) });
  const loader = buildDataLoader(big, { samplesPerGpu: batch, workersPerGpu: workers, dropLast: true, seed: 0 });
  let n = 0;
  let t0 = 0;
  try {
    for await (const b of loader.epoch(0)) {
      if (b.views[0].shape[1] !== 224) throw new Error('unexpected view shape');
      if (n === 0) t0 = performance.now(); // after start-up and the first batch, as for torch
      if (n++ === batches) break;
    }
  } finally {
    await loader.close();
  }
  return (batch * batches) / ((performance.now() - t0) / 1000);
}

/** torchvision's images/s at `workers`, or why it could not run. */
function benchTorch(folder: string, workers: number): number | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'benchmarks', 'data_torchvision.py');
  const r = spawnSync('/usr/bin/python3', [script, folder, String(batch), String(batches), String(workers)], { encoding: 'utf8' });
  if (r.status !== 0) return `torchvision run failed or unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  return (JSON.parse(r.stdout.trim()) as { images_per_s: number }).images_per_s;
}

const root = mkdtempSync(join(tmpdir(), 'ssl-bench-data-'));
try {
  const folder = await makeBenchImages(root);
  console.log(`SimCLR ImageNet pipeline, 500x375 JPEG, 2 views of 224, batch ${batch}, ${batches} timed batches after 1 warm-up`);
  console.log(`ssl kernels: ${wasmKernels() ? 'WebAssembly SIMD' : 'JavaScript (SSL_DATA_WASM=0 or no WebAssembly SIMD)'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // ssl and torchvision alternate per worker count, so a change in the machine's load hits both sides alike.
  const ratios: string[] = [];
  for (const w of workerCounts) {
    const ssl = await benchSsl(join(root, 'train'), w);
    console.log(`ssl         workers=${w}: ${ssl.toFixed(1)} images/s`);
    const torch = benchTorch(folder, w);
    if (typeof torch === 'string') {
      console.log(torch);
      continue;
    }
    console.log(`torchvision workers=${w}: ${torch.toFixed(1)} images/s`);
    ratios.push(`ratio ssl/torchvision at ${w} worker(s): ${(ssl / torch).toFixed(2)}`);
  }
  for (const r of ratios) console.log(r);
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}

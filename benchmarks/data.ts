/**
 * `npm run bench:data`: images/s of the SimCLR ImageNet pipeline (decode a 500x375 JPEG,
 * RandomResizedCrop 224, flip, ColorJitter p=0.8, grayscale p=0.2, blur p=0.5, ToTensor, Normalize,
 * two views) through ssl's loader with 1 and 2 worker threads, and through torchvision + PIL with a
 * torch DataLoader of 1 and 2 worker processes in the same run (where /usr/bin/python3 has torchvision).
 * Env: BENCH_BATCHES (default 6), BENCH_BATCH (default 32), BENCH_WORKERS (default "1,2").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { buildDataset, buildDataLoader } from '../src/data/index.js';

const batches = Number(process.env.BENCH_BATCHES ?? 6);
const batch = Number(process.env.BENCH_BATCH ?? 32);
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);

/** 16 photo-like 500x375 JPEGs (smooth shading, edges, noise) in one class folder. */
async function makeImages(root: string): Promise<string> {
  const dir = join(root, 'train', 'n00000001');
  mkdirSync(dir, { recursive: true });
  const W = 500;
  const H = 375;
  for (let k = 0; k < 16; k++) {
    const raw = Buffer.alloc(W * H * 3);
    let s = 12345 + k;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        const disc = (x - 250 - 40 * k) ** 2 + (y - 180) ** 2 < 90 ** 2;
        raw[o] = Math.min(255, (disc ? 200 : (x * 255) / W) + rnd() * 20);
        raw[o + 1] = Math.min(255, (y * 255) / H * 0.8 + 30 * Math.sin(x / 17 + k) + 30 + rnd() * 20);
        raw[o + 2] = Math.min(255, 120 + 80 * Math.cos(y / 23) * Math.sin(x / 31) + rnd() * 20);
      }
    }
    writeFileSync(join(dir, `img_${k}.jpg`), await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
  }
  return dir;
}

const simclr = (prefix: string) => ({
  type: 'MultiViewDataset',
  data_source: { type: 'ImageNet', data_prefix: prefix },
  num_views: [2],
  pipelines: [
    [
      { type: 'RandomResizedCrop', size: 224 },
      { type: 'RandomAppliedTrans', transforms: [{ type: 'ColorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 }], p: 0.8 },
      { type: 'RandomGrayscale', p: 0.2 },
      { type: 'GaussianBlur', sigma_min: 0.1, sigma_max: 2.0, p: 0.5 },
      { type: 'RandomHorizontalFlip' },
      { type: 'ToTensor' },
      { type: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ],
  ],
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

function benchTorch(folder: string): Map<number, number> | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'benchmarks', 'data_torchvision.py');
  const r = spawnSync('/usr/bin/python3', [script, folder, String(batch), String(batches), ...workerCounts.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) return `torchvision run failed or unavailable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`;
  const out = new Map<number, number>();
  for (const line of r.stdout.trim().split('\n')) {
    const j = JSON.parse(line) as { workers: number; images_per_s: number };
    out.set(j.workers, j.images_per_s);
  }
  return out;
}

const root = mkdtempSync(join(tmpdir(), 'ssl-bench-data-'));
try {
  const folder = await makeImages(root);
  console.log(`SimCLR ImageNet pipeline, 500x375 JPEG, 2 views of 224, batch ${batch}, ${batches} timed batches after 1 warm-up`);
  const ssl = new Map<number, number>();
  for (const w of workerCounts) {
    ssl.set(w, await benchSsl(join(root, 'train'), w));
    console.log(`ssl         workers=${w}: ${ssl.get(w)!.toFixed(1)} images/s`);
  }
  const torch = benchTorch(folder);
  if (typeof torch === 'string') console.log(torch);
  else {
    for (const w of workerCounts) console.log(`torchvision workers=${w}: ${torch.get(w)!.toFixed(1)} images/s`);
    for (const w of workerCounts) console.log(`ratio ssl/torchvision at ${w} worker(s): ${(ssl.get(w)! / torch.get(w)!).toFixed(2)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

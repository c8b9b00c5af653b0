/**
 * Where the time of one bench:data view goes: decodes the benchmark JPEGs and runs the SimCLR pipeline
 * in this thread, timing decode (per image) and each transform (per view, counting only calls that
 * changed the image), then the whole pipeline. Run: `npm run build && node lib/benchmarks/data-profile.js`
 * (add `--cpu-prof` to node for a V8 profile; SSL_DATA_WASM=0 for the JS kernels). Env: PROFILE_VIEWS
 * (default 400). With /usr/bin/python3 and torchvision, the same images go through
 * `benchmarks/data_torchvision.py --profile` afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/data/decode.js';
import { PIPELINES, Compose } from '../src/data/pipelines/index.js';
import { ColorJitter, type JitterParams } from '../src/data/pipelines/color.js';
import { useWasmKernels, wasmKernels } from '../src/data/pipelines/wasm/kernels.js';
import { Rng } from '../src/data/rng.js';
import type { Image } from '../src/data/types.js';
import { SIMCLR_PIPELINE, makeBenchImages } from './data-images.js';

const views = Number(process.env.PROFILE_VIEWS ?? 400);
const root = mkdtempSync(join(tmpdir(), 'ssl-prof-data-'));
try {
  const dir = await makeBenchImages(root);
  const files = readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f))));
  // Decode: sequential (one at a time), then 32 at once as loadBatch does.
  const imgs: Image[] = [];
  for (const f of files) imgs.push(await decodeImage(f, 'warm-up'));
  let t = performance.now();
  const reps = 4;
  for (let r = 0; r < reps; r++) for (const f of files) await decodeImage(f, 'x');
  console.log(`kernels: ${wasmKernels() ? 'WebAssembly SIMD' : 'JavaScript'}`);
  console.log(`decode (one at a time)   ${((performance.now() - t) / (reps * files.length)).toFixed(2)} ms/image`);
  t = performance.now();
  for (let r = 0; r < reps; r++) await Promise.all([...files, ...files].map((f) => decodeImage(f, 'x')));
  console.log(`decode (32 concurrently) ${((performance.now() - t) / (reps * 2 * files.length)).toFixed(2)} ms/image (wall)`);

  const steps = SIMCLR_PIPELINE.map((c) => PIPELINES.build(c));
  const time = new Map<string, { ms: number; n: number }>();
  const add = (k: string, ms: number) => {
    const e = time.get(k) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    time.set(k, e);
  };
  const rng = new Rng(1);
  const run = (count: number, record: boolean) => {
    for (let v = 0; v < count; v++) {
      let img = imgs[v % imgs.length];
      for (const s of steps) {
        const t0 = performance.now();
        const out = s.apply(img, rng, {});
        if (record && out !== img) add(s.type, performance.now() - t0);
        img = out;
      }
    }
  };
  run(50, false);
  run(views, true);
  for (const [k, e] of time) console.log(`${k.padEnd(24)} ${(e.ms / e.n).toFixed(3)} ms when applied (${e.n}/${views} views), ${(e.ms / views).toFixed(3)} ms/view`);

  // The four ColorJitter ops alone on a 224x224 crop, WebAssembly and JS kernels.
  const crop = steps[0].apply(imgs[0], rng, {});
  const wasmOn = wasmKernels() !== null;
  const jitter = new ColorJitter({ brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 });
  const only = (op: number, f: number): JitterParams => ({ order: [op], brightness: op === 0 ? f : null, contrast: op === 1 ? f : null, saturation: op === 2 ? f : null, hue: op === 3 ? f : null });
  for (const mode of ['wasm', 'js']) {
    useWasmKernels(mode === 'wasm');
    for (const [op, name, f] of [[0, 'brightness', 1.3], [1, 'contrast', 0.7], [2, 'saturation', 1.4], [3, 'hue', 0.1]] as const) {
      for (let i = 0; i < 20; i++) jitter.applyParams(crop, only(op, f));
      const t0 = performance.now();
      for (let i = 0; i < 200; i++) jitter.applyParams(crop, only(op, f));
      console.log(`  jitter ${name.padEnd(11)} ${mode.padEnd(5)} ${((performance.now() - t0) / 200).toFixed(3)} ms`);
    }
  }
  // The pipeline's fused tail: RandomHorizontalFlip (p 0.5) + ToTensor + Normalize in one pass.
  const tail = new Compose(steps.slice(4));
  for (const mode of ['wasm', 'js']) {
    useWasmKernels(mode === 'wasm');
    for (let i = 0; i < 20; i++) tail.apply(crop, rng, {});
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) tail.apply(crop, rng, {});
    console.log(`  flip+ToTensor+Normalize ${mode.padEnd(5)} ${((performance.now() - t0) / 200).toFixed(3)} ms`);
  }
  useWasmKernels(wasmOn);

  const pipe = new Compose(steps);
  run(20, false);
  t = performance.now();
  for (let v = 0; v < views; v++) pipe.apply(imgs[v % imgs.length], rng, {});
  console.log(`whole pipeline (fused)   ${((performance.now() - t) / views).toFixed(3)} ms/view`);
  const tv = spawnSync('/usr/bin/python3', [join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'benchmarks', 'data_torchvision.py'), '--profile', dir], { encoding: 'utf8' });
  console.log(tv.status === 0 ? tv.stdout.trim().replace(/^/gm, 'torchvision ') : 'torchvision profile unavailable');
} finally {
  rmSync(root, { recursive: true, force: true });
}

/**
 * How long a pre-emption checkpoint takes (sets `--termination-grace-period`'s default): the model and
 * optimizer of a config (default: SimCLR ResNet-50, LARS with momentum) are built, and the checkpoint the
 * runner writes on SIGTERM is encoded and written atomically (temp file, fsync, rename) `--rounds` times;
 * prints each round and the median, and the file size. Upload time is size / bandwidth (not measured here).
 *
 *   npm run build && nice -n 5 node lib/benchmarks/checkpoint-write.js [--config CFG] [--rounds 5] [--dir /tmp]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config/index.js';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import { buildModel } from '../src/models/index.js';
import { writeCheckpoint } from '../src/runner/checkpoint.js';
import { buildOptimizer } from '../src/runner/optim/build.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const config = arg('config', 'configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml');
const rounds = Number(arg('rounds', '5'));
const dir = mkdtempSync(join(arg('dir', tmpdir()), 'ssl-ckpt-bench-'));

await initBackend(arg('backend', 'wasm'), { log: () => {} });
manualSeed(0);
const cfg = resolveConfig(config).cfg as Record<string, any>;
const model = buildModel(cfg.model, config);
const { optimizer } = buildOptimizer(model.namedParameters(), cfg.optimizer);
// one step's worth of optimizer state (momentum buffers), as a checkpoint written mid-run has
const { tf } = await import('../src/engine/tf.js');
const grads = new Map(model.namedParameters().map(([n, v]) => [n, tf.zerosLike(v)]));
optimizer.step(grads as never);
for (const g of grads.values()) g.dispose();

const times: number[] = [];
let size = 0;
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const path = await writeCheckpoint(dir, 'iter_1.ckpt', { model, optimizer, meta: { epoch: 0, iter: 1, inner_iter: 1 } });
  const ms = performance.now() - t0;
  size = statSync(path).size;
  times.push(ms);
  console.log(`round ${r + 1}: ${(ms / 1000).toFixed(2)} s`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`${config}: checkpoint ${(size / 2 ** 20).toFixed(1)} MiB, write median ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2)} s over ${rounds} rounds (min ${(sorted[0]! / 1000).toFixed(2)}, max ${(sorted.at(-1)! / 1000).toFixed(2)})`);
rmSync(dir, { recursive: true, force: true });

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { decodeSafetensors } from '../../src/engine/safetensors.js';
import { nativeUnavailable } from '../engine/backends-under-test.js';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

/**
 * The real worker (runWorker, as bin/ssl-worker.js) as 2 ranks with torchrun's env and batch B,
 * against 1 process with batch 2B, 20 iterations, the real loader and sampler (shuffled, PyTorch
 * DistributedSampler: rank r takes positions r, r+2, ... of the shared permutation, so step s of
 * the 2 ranks sees exactly the 2B samples of step s of the single process; augmentations are
 * seeded per sample by (seed, epoch, index), so every sample gets the same views in both runs).
 */
const ENTRY = join(REPO, 'test/dist/fixtures/worker-entry.mjs');
const B = 4;
const ITERS = 20;
const SYNC_BN = { type: 'SyncBN' };

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

function tinyConfig(base: string, samplesPerGpu: number, edit: (cfg: Record<string, any>) => void): Record<string, any> {
  const cfg = resolveConfig(join(REPO, 'configs/selfsup', base)).cfg as Record<string, any>;
  cfg.data.samples_per_gpu = samplesPerGpu;
  cfg.data.workers_per_gpu = 0;
  cfg.data.train.data_source.num_samples = 4 * 2 * B; // 4 global steps per epoch: 5 epochs in 20 iterations
  cfg.data.train.data_source.image_size = 16;
  cfg.data.train.pipelines[0][0].size = 16;
  cfg.model.backbone.norm_cfg = SYNC_BN;
  cfg.model.backbone.stem_channels = 4;
  cfg.model.backbone.base_channels = 4;
  // The 4-channel net behind BNs is very sensitive to its weights: float rounding (1e-6) grows to
  // percent-level loss differences within 10 steps at lr 2e-4 (2 ranks vs 1 process), and the same
  // happens to ONE process run on the cpu and on the wasm backend at lr 1e-3. At lr 1e-5 the runs stay
  // within 2e-5; the optimizer's momentum buffers (sums of the averaged gradients) and the SyncBN
  // running statistics are compared at full scale, so wrong gradients or statistics still show.
  cfg.optimizer.lr = 1e-5;
  cfg.runner = { type: 'IterBasedRunner', max_iters: ITERS };
  cfg.checkpoint_config = { interval: ITERS, by_epoch: false };
  cfg.log_config = { interval: 5, hooks: [{ type: 'TextLoggerHook', by_epoch: false }] };
  edit(cfg);
  return cfg;
}

function check(f: Finished, what: string): void {
  if (f.code !== 0) throw new Error(`${what} exited ${f.code}:\n${f.stdout.slice(-3000)}\n${f.stderr.slice(-3000)}`);
}

function checkpointTensors(workDir: string): Tensors {
  const { tensors } = decodeSafetensors(readFileSync(join(workDir, `iter_${ITERS}.ckpt`)));
  const out: Tensors = new Map();
  for (const [k, t] of tensors) {
    const b = new Uint8Array(t.bytes); // a copy (Buffer.slice would be a view), aligned
    const data = t.dtype === 'F32' ? new Float32Array(b.buffer) : t.dtype === 'I32' ? Float32Array.from(new Int32Array(b.buffer)) : Float32Array.from(new BigInt64Array(b.buffer), Number);
    out.set(k, { shape: t.shape, data });
  }
  return out;
}

/** max over tensors of max|a - b| / max|b| (relative to each tensor's scale). */
function maxRelDiff(a: Tensors, b: Tensors): { worst: number; at: string } {
  let worst = 0;
  let at = '';
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, tb] of b) {
    const ta = a.get(k)!;
    expect(ta.shape).toEqual(tb.shape);
    let scale = 1e-12;
    let diff = 0;
    for (let i = 0; i < tb.data.length; i++) {
      scale = Math.max(scale, Math.abs(tb.data[i]));
      diff = Math.max(diff, Math.abs(ta.data[i] - tb.data[i]));
    }
    if (diff / scale > worst) [worst, at] = [diff / scale, k];
  }
  return { worst, at };
}

/** The `loss` of every train row of the run's `.log.json` (rank 0's file in a distributed run). */
function loggedLosses(workDir: string): number[] {
  const file = readdirSync(workDir).find((f) => f.endsWith('.log.json') && !f.includes('.rank'));
  if (!file) throw new Error(`no .log.json in ${workDir}`);
  return readFileSync(join(workDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"mode":"train"'))
    .map((l) => (JSON.parse(l) as { loss: number }).loss);
}

/** The logged losses are averages over ranks: with the global batch split in two they equal the single process's. */
function expectSameLoggedLosses(dist: number[], one: number[]): void {
  expect(dist.length).toBe(ITERS / 5);
  expect(dist.length).toBe(one.length);
  const worst = Math.max(...dist.map((l, i) => Math.abs(l - one[i]) / Math.abs(one[i])));
  expect({ dist, one, ok: worst <= 1e-4 }).toEqual({ dist, one, ok: true });
}

/**
 * How the runs compute: wasm (the default), or the native engine with 2 ranks x 1 thread against 1
 * process x 2 threads, the two ways to use 2 cores (the addon found through SSL_NATIVE_ADDON, since the
 * children run the test build).
 */
type Engine = 'wasm' | 'native';
const NATIVE_WHY = nativeUnavailable();
const ENGINES: Engine[] = ['wasm', ...(NATIVE_WHY && !process.env.CI ? [] : (['native'] as const))];
const NATIVE_ADDON = join(REPO, 'native', 'build', 'Release', 'ssl_native.node');
/**
 * Seed 7 on native puts one pre-activation of the single process's first step at -2.4e-7 (layer4.0's
 * ReLU, 2x2 maps): the cpu backend and oneDNN (1 process) land below 0, wasm and the 2-rank runs on
 * cpu and on native on the other side, and that one flipped ReLU moves the backbone's step-1
 * gradients by up to 40 % of their scale: the runs part at a rounding, not because they compute
 * different things. With seed 1 the native runs agree within 2e-5 (2026-12-07).
 */
const SEED: Record<Engine, number> = { wasm: 7, native: 1 };
/**
 * The MoCo v2 run meets such a tie at seeds 10 and 12 of 1-12 (ContrastiveHead's loss written with its
 * gradient, and through tfjs's concat + logSumExp alike) and at seed 7 with the written gradient: the
 * runs agree within 2.5e-5 up to the step before and 1.3e-2 to 3.1e-2 after it (at iteration 20 of
 * seed 7: 1.8e-5 after 19 iterations, 2.6e-2 after 20, in layer4's gradient). Seed 1 meets none.
 */
const MOCO_SEED = 1;

function engineArgs(engine: Engine, threads: number): { args: string[]; env: Record<string, string> } {
  if (engine === 'wasm') return { args: ['--backend', 'wasm'], env: {} };
  return { args: ['--backend', 'native', '--threads', String(threads)], env: { SSL_NATIVE_ADDON: NATIVE_ADDON } };
}

/** Trains `cfgFor(batch)` as 2 ranks x B and as 1 process x 2B; returns the tensors (state_dict.* and optimizer.*) of rank 0's and the single process's checkpoints. */
async function trainBoth(name: string, cfgFor: (samplesPerGpu: number) => Record<string, any>, lib: string, engine: Engine = 'wasm', seed = SEED[engine]): Promise<{ dist: Tensors; one: Tensors; distLosses: number[]; oneLosses: number[] }> {
  const root = mkdtempSync(join(tmpdir(), `ssl-equiv-${name}-`));
  const distCfg = join(root, 'dist.json');
  const oneCfg = join(root, 'one.json');
  writeFileSync(distCfg, JSON.stringify(cfgFor(B)));
  writeFileSync(oneCfg, JSON.stringify(cfgFor(2 * B)));
  const port = await freePort();
  const common = ['--seed', String(seed)];
  const rankEngine = engineArgs(engine, 1);
  const oneEngine = engineArgs(engine, 2);
  const ranks = [0, 1].map(
    (r) =>
      runNode(ENTRY, ['--config', distCfg, '--work-dir', join(root, 'dist'), ...common, ...rankEngine.args], {
        ...rankEngine.env, DIST_TEST_LIB: lib, RANK: String(r), LOCAL_RANK: String(r), WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
      }).done,
  );
  const single = runNode(ENTRY, ['--config', oneCfg, '--work-dir', join(root, 'one'), ...common, ...oneEngine.args], { ...oneEngine.env, DIST_TEST_LIB: lib, RANK: '', WORLD_SIZE: '', LOCAL_RANK: '', LOCAL_WORLD_SIZE: '' }).done;
  const [r0, r1, one] = await Promise.all([...ranks, single]);
  check(r0, `${name} rank 0`);
  check(r1, `${name} rank 1`);
  check(one, `${name} single process`);
  return {
    dist: checkpointTensors(join(root, 'dist')),
    one: checkpointTensors(join(root, 'one')),
    distLosses: loggedLosses(join(root, 'dist')),
    oneLosses: loggedLosses(join(root, 'one')),
  };
}

/**
 * MoCo's queue holds the keys in the order the all-gather produces: per step, rank 0's B keys then
 * rank 1's. Rank r's i-th sample is position 2i + r of the global batch (the sampler interleaves),
 * so dist column 2B*s + r*B + i holds what the single process has in column 2B*s + 2i + r.
 */
function queueInSingleProcessOrder(queue: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [dim, len] = queue.shape;
  const out = new Float32Array(queue.data.length);
  for (let col = 0; col < len; col++) {
    const seg = Math.floor(col / (2 * B));
    const j = col % (2 * B);
    const target = seg * 2 * B + 2 * (j % B) + Math.floor(j / B);
    for (let d = 0; d < dim; d++) out[d * len + target] = queue.data[d * len + col];
  }
  return { shape: queue.shape, data: out };
}

function maxAbs(t: { data: Float32Array }): number {
  return t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

describe('data-parallel training through the worker entry equals one process with the global batch', () => {
  let lib: string;
  beforeAll(() => {
    lib = compileForChildren(['src', 'launchers/local', 'launchers/launcher.ts']);
  });

  it.each(ENGINES)('SimCLR, SyncBN, gathered negatives: 2 x B == 1 x 2B after 20 iterations (max rel. diff <= 1e-4) [%s; native: 2 ranks x 1 thread vs 1 process x 2 threads]', async (engine) => {
    if (engine === 'native' && NATIVE_WHY) throw new Error(`the native engine must be built in CI: ${NATIVE_WHY}`);
    const cfgFor = (bs: number) => tinyConfig('simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml', bs, (cfg) => {
      cfg.model.neck.in_channels = 32;
      cfg.model.neck.norm_cfg = SYNC_BN;
    });
    const { dist, one, distLosses, oneLosses } = await trainBoth(`simclr-${engine}`, cfgFor, lib, engine);
    expectSameLoggedLosses(distLosses, oneLosses);
    // the comparison has teeth: gradients (momentum buffers) and SyncBN statistics are far from 0
    expect(maxAbs(one.get('optimizer.backbone.conv1.weight.momentum_buffer')!)).toBeGreaterThan(1e-3);
    expect(maxAbs(one.get('state_dict.neck.bn0.running_mean')!)).toBeGreaterThan(1e-3);
    const { worst, at } = maxRelDiff(dist, one);
    expect({ at, worst: worst <= 1e-4 ? "<= 1e-4" : worst }).toEqual({ at, worst: "<= 1e-4" });
  }, 90_000);

  it('MoCo v2, SyncBN in both encoders, batch shuffle: 2 x B == 1 x 2B after 20 iterations (max rel. diff <= 1e-4)', async () => {
    const cfgFor = (bs: number) => tinyConfig('mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml', bs, (cfg) => {
      cfg.model.neck.in_channels = 32;
      cfg.model.queue_len = 4 * 2 * B;
    });
    const { dist, one, distLosses, oneLosses } = await trainBoth('mocov2', cfgFor, lib, 'wasm', MOCO_SEED);
    expectSameLoggedLosses(distLosses, oneLosses);
    expect(maxAbs(one.get('optimizer.encoder_q.0.conv1.weight.momentum_buffer')!)).toBeGreaterThan(1e-3);
    // the keys are in the queue, in gather order
    expect(maxRelDiff(dist, one).at).toBe('state_dict.queue');
    dist.set('state_dict.queue', queueInSingleProcessOrder(dist.get('state_dict.queue')!));
    const { worst, at } = maxRelDiff(dist, one);
    expect({ at, worst: worst <= 1e-4 ? "<= 1e-4" : worst }).toEqual({ at, worst: "<= 1e-4" });
  }, 60_000);

  it('DenseCL, SyncBN, batch shuffle, keys of both queues gathered: 2 x B == 1 x 2B after 20 iterations (max rel. diff <= 1e-4)', async () => {
    const cfgFor = (bs: number) => tinyConfig('mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml', bs, (cfg) => {
      cfg.model = {
        type: 'DenseCL', queue_len: 4 * 2 * B, feat_dim: 16, momentum: 0.99, loss_lambda: 0.5, backbone: cfg.model.backbone,
        neck: { type: 'DenseCLNeck', in_channels: 32, hid_channels: 32, out_channels: 16 }, head: cfg.model.head,
      };
    });
    const { dist, one, distLosses, oneLosses } = await trainBoth('densecl', cfgFor, lib);
    expectSameLoggedLosses(distLosses, oneLosses);
    expect(maxAbs(one.get('optimizer.encoder_q.1.mlp2.0.weight.momentum_buffer')!)).toBeGreaterThan(1e-4);
    expect(['state_dict.queue', 'state_dict.queue2']).toContain(maxRelDiff(dist, one).at);
    for (const q of ['state_dict.queue', 'state_dict.queue2']) dist.set(q, queueInSingleProcessOrder(dist.get(q)!));
    const { worst, at } = maxRelDiff(dist, one);
    expect({ at, worst: worst <= 1e-4 ? "<= 1e-4" : worst }).toEqual({ at, worst: "<= 1e-4" });
  }, 90_000);

  it('MoCo v3, SyncBN, momentum features gathered (positives at i + N·rank), MomentumUpdateHook: 2 x B == 1 x 2B after 20 iterations (max rel. diff <= 1e-4)', async () => {
    const neck = (inC: number, layers: number) => ({
      type: 'NonLinearNeck', in_channels: inC, hid_channels: 32, out_channels: 16, num_layers: layers, with_avg_pool: inC === 32, with_last_bn_affine: false, norm_cfg: SYNC_BN,
    });
    const cfgFor = (bs: number) => tinyConfig('mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml', bs, (cfg) => {
      cfg.model = { type: 'MoCoV3', base_momentum: 0.99, backbone: cfg.model.backbone, neck: neck(32, 3), head: { type: 'MoCoV3Head', temperature: 0.2, predictor: neck(16, 2) } };
      cfg.custom_hooks = [{ type: 'MomentumUpdateHook' }];
    });
    const { dist, one, distLosses, oneLosses } = await trainBoth('mocov3', cfgFor, lib);
    expectSameLoggedLosses(distLosses, oneLosses);
    expect(maxAbs(one.get('optimizer.head.predictor.fc0.weight.momentum_buffer')!)).toBeGreaterThan(1e-4);
    // the projector ends in a BN without affine, so the predictor's bias-free fc0 output has batch mean 0
    // in exact arithmetic: its running mean is rounding noise in both runs, not comparable relatively
    const noise = 'state_dict.head.predictor.bn0.running_mean';
    expect(Math.max(maxAbs(dist.get(noise)!), maxAbs(one.get(noise)!))).toBeLessThan(1e-6);
    dist.delete(noise);
    one.delete(noise);
    const { worst, at } = maxRelDiff(dist, one);
    expect({ at, worst: worst <= 1e-4 ? "<= 1e-4" : worst }).toEqual({ at, worst: "<= 1e-4" });
  }, 90_000);
});
